"""Rows sharing a key, found by sorting their keys' hashes in memory and comparing the few candidates exactly.

DuckDB's hash aggregate over 10,000,000 nearly distinct text keys (a uniqueness rule on credit
codes) built a hash table of 10,000,000 groups to keep a few thousand: 2.6-3.5 s on one thread.
Here one pass reads each present key's 64-bit hash (DuckDB's `hash()`, the one its grouping uses)
and row number, numpy sorts the hashes (0.2-0.3 s), and only the rows whose hash repeats are read
again and grouped by their values, so a hash collision never counts as a duplicate. An integer key
of at most 64 bits is sorted by value, exactly, and needs no second read.

Memory: the pass holds 16 bytes a row and the sort 8 more (`MAX_ROWS`); a larger version is grouped
by DuckDB, which spills to disk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

MAX_ROWS = 40_000_000
"""Rows up to which a uniqueness rule is judged by sorting (about 1 GB at 24 bytes a row)."""

EXACT_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}
)
"""DuckDB types of a lone key sorted by value: integers numpy holds exactly."""
HASH = "hash({})"
"""SQL of a key's hash, its columns filled in: DuckDB's own (a test makes it collide)."""


@dataclass
class Found:
    failed: int
    """Rows whose key another row shares."""
    keys: int
    """Distinct keys shared by more than one row."""
    sample: list[tuple]
    """(row, key values...) of the first rows holding a shared key, in file order."""


@dataclass
class Session:
    """A lane's connection, each statement kept (`record`) before it runs."""

    con: duckdb.DuckDBPyConnection
    record: Callable[[str], None]

    def rows(self, statement: str) -> list[tuple]:
        self.record(statement)
        return self.con.execute(statement).fetchall()

    def arrow(self, statement: str) -> pa.Table:
        self.record(statement)
        return self.con.sql(statement).to_arrow_table()


def by_sorting(db: Session, source: str, cols: list[str], present: str, n: int, name: str) -> Found:
    """The rows of `source` (a Parquet read aliased `t`, with `file_row_number`) where `present`
    holds whose key `cols` (SQL expressions over `t`) another such row shares; `name` prefixes the
    temporary tables and registered arrays of this rule."""
    con = db.con
    exact = len(cols) == 1 and _type(con, source, cols[0]) in EXACT_TYPES
    key = cols[0] if exact else HASH.format(", ".join(cols))
    keyed = db.arrow(f"SELECT {key} AS h, t.file_row_number AS r FROM {source} AS t WHERE {present}")
    ordered = np.concatenate([c.to_numpy() for c in keyed.column("h").chunks] or [np.zeros(0, np.int64)])
    ordered.sort()  # in place: the concatenation is the one copy
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(repeated):
        return Found(0, 0, [])
    shared, rows = f"{name}_shared", f"{name}_keyed"
    con.register(shared, pa.table({"d": np.unique(repeated)}))
    con.register(rows, keyed)
    try:
        if exact:
            return _exact(db, shared, rows, n)
        return _compared(db, source, cols, shared, rows, n, name)
    finally:
        con.unregister(shared)
        con.unregister(rows)


def _type(con: duckdb.DuckDBPyConnection, source: str, col: str) -> str:
    return con.execute(f"DESCRIBE SELECT {col} FROM {source} AS t").fetchall()[0][1]


def _exact(db: Session, shared: str, rows: str, n: int) -> Found:
    """Keys sorted by value: the repeated values are the shared keys."""
    found = db.arrow(f"SELECT r, h FROM {rows} SEMI JOIN {shared} ON h = d ORDER BY r")
    keys = db.rows(f"SELECT count(*) FROM {shared}")[0][0]
    return Found(found.num_rows, keys, _tuples(found.slice(0, n)))


def _compared(db: Session, source: str, cols: list[str], shared: str, rows: str, n: int, name: str) -> Found:
    """Hashed keys: the rows of a repeated hash read again, and grouped by their values."""
    values = ", ".join(f"{c} AS k{i}" for i, c in enumerate(cols))
    ks = [f"k{i}" for i in range(len(cols))]
    candidates, groups = f"{name}_candidates", f"{name}_groups"
    db.rows(
        f"CREATE TEMP TABLE {candidates} AS SELECT t.file_row_number AS r, {values} FROM {source} AS t"
        f" SEMI JOIN (SELECT r FROM {rows} SEMI JOIN {shared} ON h = d) AS c ON t.file_row_number = c.r"
    )
    db.rows(
        f"CREATE TEMP TABLE {groups} AS SELECT {', '.join(ks)}, count(*) AS n FROM {candidates}"
        " GROUP BY ALL HAVING count(*) > 1"
    )
    failed, keys = db.rows(f"SELECT coalesce(sum(n), 0), count(*) FROM {groups}")[0]
    if not failed:
        return Found(0, 0, [])
    on = " AND ".join(f"c.{k} = g.{k}" for k in ks)
    first = db.arrow(
        f"SELECT c.r, {', '.join(f'c.{k}' for k in ks)} FROM {candidates} AS c SEMI JOIN {groups} AS g"
        f" ON {on} ORDER BY c.r LIMIT {n}"
    )
    return Found(int(failed), int(keys), _tuples(first))


def _tuples(table: pa.Table) -> list[tuple]:
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True)) if table.num_rows else []
