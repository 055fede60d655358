"""Checks of the tables the registry's steps hand each other: columns present, record keys unique."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_


def need(schema: pa.Schema, column: str, *, table: str, where: str | None = None) -> None:
    """Refuse a table without `column`."""
    if column not in schema.names:
        raise InvalidInput(M_("%(table)s: no column %(column)s", table=table, column=column), where=where)


def filled(values: pa.ChunkedArray, *, table: str, column: str) -> pa.ChunkedArray:
    """Refuse a column with an empty value."""
    if values.null_count:
        raise InvalidInput(M_("%(table)s: %(column)s must not be empty", table=table, column=column))
    return values


def record_keys(table: pa.Table, name: str) -> pa.ChunkedArray:
    """The table's `record_key` as text, refused when one is empty or appears twice (named)."""
    need(table.schema, "record_key", table=name)
    keys = filled(table.column("record_key").cast(pa.string()), table=name, column="record_key")
    if len(pc.unique(keys)) != len(keys):
        counts = pc.value_counts(keys)
        twice = next(v["values"].as_py() for v in counts if v["counts"].as_py() > 1)
        raise InvalidInput(M_("%(table)s: record key %(key)s appears more than once", table=name, key=twice))
    return keys
