"""Length limits of every free-text input, in one place, and the checks that apply them."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from shuzhi.errors import InvalidInput

# Characters (not bytes). A limit is the most a sensible person would write there, with room to
# spare: input past it is refused with 422, never cut short silently.
CODE = 64
"""department codes, usernames, roles, vocabulary codes, format names"""
USERNAME = 64
PASSWORD = 1024
TOKEN = 128
"""CSRF and form tokens"""
NAME = 200
"""names: department, field and table names, places"""
LABEL = 100
"""short labels: display, token and contact names, licences, standard elements"""
EMAIL = 200
PHONE = 50
TITLE = 300
"""dataset titles"""
URL = 2000
"""source URLs, return paths"""
REASON = 2000
"""purposes, reasons, legal bases, notes"""
ROW_FILTER = 2000
"""a grant's row filter (a SQL condition)"""
DESCRIPTION = 10_000
"""dataset and field descriptions"""
SEARCH = 500
"""a catalog search query"""
SQL = 100_000
"""a governed SQL statement or an ingest query"""
ITEMS = 1000
"""entries of a list input: field names, keywords"""
LEDGER_TEXT = 2000
"""longest string a ledger entry keeps as given; a longer one is cut and its SHA-256 kept instead"""


# pydantic string types of input models
Code = Annotated[str, StringConstraints(max_length=CODE)]
Username = Annotated[str, StringConstraints(max_length=USERNAME)]
Password = Annotated[str, StringConstraints(max_length=PASSWORD)]
Name = Annotated[str, StringConstraints(max_length=NAME)]
Label = Annotated[str, StringConstraints(max_length=LABEL)]
Email = Annotated[str, StringConstraints(max_length=EMAIL)]
Phone = Annotated[str, StringConstraints(max_length=PHONE)]
Title = Annotated[str, StringConstraints(max_length=TITLE)]
Url = Annotated[str, StringConstraints(max_length=URL)]
Reason = Annotated[str, StringConstraints(max_length=REASON)]
RowFilter = Annotated[str, StringConstraints(max_length=ROW_FILTER)]
Description = Annotated[str, StringConstraints(max_length=DESCRIPTION)]
Search = Annotated[str, StringConstraints(max_length=SEARCH)]
Sql = Annotated[str, StringConstraints(max_length=SQL)]


def check(value: str | None, limit: int, where: str) -> str | None:
    """The value when it fits within `limit` characters; InvalidInput naming the field otherwise."""
    if value is not None and len(value) > limit:
        raise InvalidInput(
            f"{where} 不能超过 {limit} 个字符 ({where}: at most {limit} characters, got {len(value)})",
            where=where,
            limit=limit,
        )
    return value
