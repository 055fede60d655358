"""Length limits of every free-text input, in one place, and the checks that apply them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_

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


INT64_MAX = 2**63 - 1
"""largest id or count any store keeps (64-bit signed columns)"""
INT32_MAX = 2**31 - 1
"""largest value of a 32-bit column: version numbers, daily call quotas"""


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL in text, and no sensible input carries one.
    if "\x00" in value:
        raise ValueError(M_("must not contain NUL characters"))
    return value


def _text(limit: int):
    return Annotated[str, StringConstraints(max_length=limit), AfterValidator(_no_nul)]


# pydantic string types of input models
Code = _text(CODE)
Username = _text(USERNAME)
Password = _text(PASSWORD)
Name = _text(NAME)
Label = _text(LABEL)
Email = _text(EMAIL)
Phone = _text(PHONE)
Title = _text(TITLE)
Url = _text(URL)
Reason = _text(REASON)
RowFilter = _text(ROW_FILTER)
Description = _text(DESCRIPTION)
Search = _text(SEARCH)
Sql = _text(SQL)

# Numbers of input models and parameters, bounded so that every store can hold them: a larger one
# is refused with 422 rather than overflowing a driver or a column.
JSON_INT_MAX = 2**53 - 1
"""largest integer accepted as an id or count: within 64 bits, and read exactly by every JSON client
and schema validator (which hold numbers as doubles, so 2^63 - 1 would be rounded up past the limit)"""

Id = Annotated[int, Field(ge=0, le=JSON_INT_MAX)]
"""a row id or a ledger sequence number"""
Count = Annotated[int, Field(ge=0, le=JSON_INT_MAX)]
"""rows, offsets, sizes"""
Small = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""a value kept in a 32-bit column"""

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_only(value):
    # pydantic would read a number as seconds since 1970 ("until=0.5"); the API takes ISO 8601 only.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError(M_("an ISO 8601 date-time is expected, e.g. 2024-05-01T08:00:00+08:00"))
    if not isinstance(value, str | datetime):
        raise ValueError(M_("an ISO 8601 date-time is expected"))
    return value


Instant = Annotated[datetime, BeforeValidator(_iso_only)]
"""a date-time given as ISO 8601 text"""


def _iso_date_only(value):
    # As above for dates: a number would be read as seconds since 1970.
    if not isinstance(value, str | date):
        raise ValueError(M_("an ISO 8601 date is expected, e.g. 2024-05-01"))
    return value


Day = Annotated[date, BeforeValidator(_iso_date_only)]
"""a date given as ISO 8601 text"""

# Patterns the services check, stated in the schema as well so that a client knows them beforehand.
# ASCII classes, never \d or \w: those take other scripts' digits and letters.
CODE_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"
"""a department code"""
USERNAME_PATTERN = r"^[A-Za-z0-9_.@-]{2,64}$"
"""a new user's name (logins take any name and fail as any wrong name does)"""
REGION_PATTERN = r"^[0-9]{6}$"
"""a GB/T 2260 region code"""

DepartmentCode = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
NewUsername = Annotated[str, StringConstraints(pattern=USERNAME_PATTERN)]
RegionCode = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
Named = Annotated[str, StringConstraints(max_length=NAME, pattern=r"\S"), AfterValidator(_no_nul)]
"""a name that must hold more than white space"""


def check(value: str | None, limit: int, where: str) -> str | None:
    """The value when it fits within `limit` characters; InvalidInput naming the field otherwise."""
    if value is not None and len(value) > limit:
        raise InvalidInput(
            M_(
                "%(where)s: at most %(limit)s characters, got %(count)s",
                where=where,
                limit=limit,
                count=len(value),
            ),
            where=where,
            limit=limit,
        )
    return value
