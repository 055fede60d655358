"""Bulk reads and writes of many rows inside the caller's transaction, straight to the driver (COPY on PostgreSQL).

The ORM's and Core's executemany build a parameter dict per row and run it through type processors:
for a million rows that is most of the time a write takes. These helpers take plain tuples in the
order of `columns` and hand them to the driver: `executemany` on SQLite, `COPY … FROM STDIN` on
PostgreSQL. Values must already be what the column stores: JSON columns take Python values and are
serialised here; nothing else is converted, and no Python-side column default is applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session


def insert_rows(session: Session, table: sa.Table, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert `rows` (tuples in the order of `columns`) into `table` in the session's transaction."""
    conn = session.connection()
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    target = conn.dialect.identifier_preparer.format_table(table)
    as_json = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, sa.JSON)]
    if as_json:
        rows = (_with_json(row, as_json) for row in rows)
    cursor = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            with cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {target} ({names}) VALUES ({marks})", rows)
    finally:
        cursor.close()


def _with_json(row: Sequence, positions: list[int]) -> tuple:
    out = list(row)
    for i in positions:
        if out[i] is not None:
            out[i] = json.dumps(out[i], ensure_ascii=False)
    return tuple(out)


def select_table(session: Session, statement: sa.Select, types: dict[str, pa.DataType]) -> pa.Table:
    """The rows of `statement` as an Arrow table of the columns `types` names, in that order (the
    statement's own columns, fetched from the driver's cursor without building a Row per row). Only
    for columns the driver returns as they are stored: text and numbers."""
    result = session.connection().execute(statement)
    try:
        rows = result.cursor.fetchall()
    finally:
        result.close()
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(types)
    return pa.table(
        {name: pa.array(col, kind) for (name, kind), col in zip(types.items(), columns, strict=True)}
    )
