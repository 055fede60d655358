"""The records a registry links: each source dataset's shared version, read through the catalog, its
columns mapped onto the registry's attributes, one record per row with a key stable across versions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from shuzhi.catalog.service import get_dataset
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.quality.holds import shared_version
from shuzhi.quality.kinds import ident, lit

NUMERIC = frozenset({"registered_capital"})
"""Attributes read as numbers (DOUBLE); every other attribute is read as text, as written."""

KEY_SEPARATOR = "#"


class Source(Protocol):
    """What the reader needs of a source in a registry's settings."""

    dataset: str
    key: str | None
    mapping: dict[str, str]


@dataclass(frozen=True)
class SourceVersion:
    """Which version of which dataset a source was read from."""

    dataset: str
    dataset_id: int
    version: int
    version_id: int
    path: str


def locate(session: Session, settings, source: Source) -> SourceVersion:
    """The version a registry reads of `source`: the one shared outside its department (the newest
    not held back by a blocking quality rule), so a registry never carries what sharing would not."""
    from shuzhi.storage import version_store

    ds = get_dataset(session, source.dataset)
    version = shared_version(session, ds)
    return SourceVersion(
        ds.identifier, ds.id, version.number, version.id, str(version_store(settings).path(version.path))
    )


def read_records(
    located: SourceVersion, source: Source, con: duckdb.DuckDBPyConnection | None = None
) -> pa.Table:
    """One record per row of the version: `record_key`, `source_dataset`, `source_version`,
    `source_row`, then the mapped attributes. The row key is the declared key column's value;
    without one, a hash of the mapped values numbered by its occurrences in file order (so two
    identical rows stay two records and keep their keys while the file keeps its order)."""
    scan = f"read_parquet({lit(located.path)}, file_row_number = true)"
    return _records(con or duckdb.connect(), scan, located.dataset, located.version, source)


def table_records(source: Source, table: pa.Table, *, version: int = 1) -> pa.Table:
    """Rows already in memory as records, keyed exactly as `read_records` keys a version's rows."""
    con = duckdb.connect()
    con.register("rows_", table.append_column("file_row_number", pa.array(range(table.num_rows), pa.int64())))
    return _records(con, "rows_", source.dataset, version, source)


def _records(
    con: duckdb.DuckDBPyConnection, scan: str, dataset: str, version: int, source: Source
) -> pa.Table:
    columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}
    _require_columns(dataset, version, source, columns)
    attrs = [_attribute(name, column) for name, column in source.mapping.items()]
    sql = (
        f"SELECT {lit(dataset)} || {lit(KEY_SEPARATOR)} || row_key_ AS record_key, "
        f"{lit(dataset)} AS source_dataset, CAST({int(version)} AS BIGINT) AS source_version, "
        f"row_key_ AS source_row, {', '.join(ident(n) for n in source.mapping)} "
        f"FROM (SELECT {_row_key(source)} AS row_key_, {', '.join(attrs)}, file_row_number FROM {scan}) "
        "ORDER BY file_row_number"
    )
    table = con.sql(sql).to_arrow_table()
    _require_unique_keys(dataset, source, table)
    return table


def _attribute(name: str, column: str) -> str:
    kind = "DOUBLE" if name in NUMERIC else "VARCHAR"
    return f"TRY_CAST({ident(column)} AS {kind}) AS {ident(name)}"


def _row_key(source: Source) -> str:
    if source.key:
        return f"CAST({ident(source.key)} AS VARCHAR)"
    values = ", ".join(f"coalesce(CAST({ident(c)} AS VARCHAR), '\\N')" for c in source.mapping.values())
    digest = f"md5(concat_ws(chr(31), {values}))"
    return f"{digest} || '-' || row_number() OVER (PARTITION BY {digest} ORDER BY file_row_number)"


def _require_columns(dataset: str, version: int, source: Source, columns: set[str]) -> None:
    wanted = [*source.mapping.values(), *([source.key] if source.key else [])]
    for column in wanted:
        if column not in columns:
            raise InvalidInput(
                M_(
                    "source %(dataset)s version %(version)s has no column %(column)s",
                    dataset=dataset,
                    version=version,
                    column=column,
                ),
                where=f"sources[{dataset}]",
                hint=M_("its columns: %(columns)s", columns="、".join(sorted(columns - {"file_row_number"}))),
            )


def _require_unique_keys(dataset: str, source: Source, table: pa.Table) -> None:
    if not source.key:
        return
    keys = table.column("source_row")
    if keys.null_count:
        raise InvalidInput(
            M_(
                "source %(dataset)s: key column %(column)s is empty in %(count)s rows",
                dataset=dataset,
                column=source.key,
                count=keys.null_count,
            ),
            where=f"sources[{dataset}].key",
        )
    if pc.count_distinct(keys).as_py() != len(keys):
        raise InvalidInput(
            M_(
                "source %(dataset)s: key column %(column)s repeats values: it cannot name a row",
                dataset=dataset,
                column=source.key,
            ),
            where=f"sources[{dataset}].key",
            hint=M_("name a column whose values are unique, or none (rows are then keyed by their values)"),
        )
