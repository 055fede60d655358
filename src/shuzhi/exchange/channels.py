"""The three read channels — rows, governed SQL, bulk export — each only a way to phrase one SELECT.

None of them decides anything: they build consumer SQL and hand it to `access.open_read`; the
governed batches are then encoded as they come, in a format of `exchange.formats`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
from sqlglot import exp

from shuzhi.errors import InvalidInput
from shuzhi.exchange import formats
from shuzhi.i18n import M_


class Channel(StrEnum):
    """How a governed read was asked for; its ledger entry says which."""

    ROWS = "rows"
    """The REST rows endpoint (and the field list it starts from)."""
    SQL = "sql"
    """Governed SQL: the API, the workbench page, the CLI."""
    EXPORT = "export"
    """Bulk export of a dataset's granted fields."""


FILTER_OPS = {
    "eq": exp.EQ,
    "ne": exp.NEQ,
    "lt": exp.LT,
    "le": exp.LTE,
    "gt": exp.GT,
    "ge": exp.GTE,
    "like": exp.Like,
}


@dataclass(frozen=True)
class RowsQuery:
    """The rows endpoint's request: fields, filters (`field:op:value`), sort, a page."""

    dataset: str
    fields: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _literal(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def _column(name: str) -> exp.Column:
    if not name or not name.strip():
        raise InvalidInput(M_("empty field name"))
    return exp.Column(this=_ident(name.strip()))


def _condition(spec: str) -> exp.Expression:
    name, sep, rest = spec.partition(":")
    op, sep2, value = rest.partition(":")
    if not sep or not op:
        raise InvalidInput(M_("filter must be field:op:value: %(spec)r", spec=spec), where="filter")
    col = _column(name)
    op = op.lower()
    if op == "null":
        return exp.Is(this=col, expression=exp.Null())
    if op == "notnull":
        return exp.Not(this=exp.Is(this=col, expression=exp.Null()))
    if not sep2:
        raise InvalidInput(M_("filter lacks a value: %(spec)r", spec=spec), where="filter")
    if op == "in":
        return exp.In(this=col, expressions=[_literal(v) for v in value.split("|")])
    cls = FILTER_OPS.get(op)
    if cls is None:
        raise InvalidInput(
            M_("unsupported filter op: %(op)s", op=op),
            where="filter",
            hint=", ".join([*FILTER_OPS, "in", "null", "notnull"]),
        )
    # Values are compared as text cast to the column's type by the engine (DuckDB casts literals).
    return cls(this=col, expression=_literal(value))


def rows_sql(q: RowsQuery, granted_fields: list[str]) -> str:
    """The consumer SELECT the rows endpoint stands for (fields default to all granted)."""
    names = q.fields or granted_fields
    select = exp.select(*[_column(n) for n in names]).from_(exp.Table(this=_ident(q.dataset)))
    for spec in q.filters:
        select = select.where(_condition(spec))
    order = []
    for key in q.sort:
        key = key.strip()
        if key:
            desc = key.startswith("-")
            order.append(exp.Ordered(this=_column(key.lstrip("-+")), desc=desc))
    if order:
        select = select.order_by(*order)
    if q.limit is not None:
        if q.limit < 0 or q.offset < 0:
            raise InvalidInput(M_("limit/offset must not be negative"))
        select = select.limit(q.limit)
    if q.offset:
        select = select.offset(q.offset)
    return select.sql(dialect="duckdb")


def write_file(path: Path, fmt: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
    """Bulk export: stream the batches into a file (written beside, then renamed into place)."""
    encode = formats.get(fmt).encode
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as out:
            for chunk in encode(schema, batches):
                out.write(chunk)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export leaves no partial file; an earlier one stays as it was
        raise
    return path.stat().st_size
