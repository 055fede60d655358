"""Converting a source to one Parquet file with DuckDB, durably, with page checksums, and hashing it.

The content hash (`sha256`) of a version is the SHA-256 of the Parquet file bytes as written here.
The writer is deterministic: DuckDB with fixed options (LZ4, insertion order kept) writes the same
bytes for the same rows, columns and types, so loading the same content again yields the same hash
whatever the file was called or where it came from. A different Shuzhi/DuckDB release may lay the
file out differently; that shows as a new version, never as a false "unchanged".

DuckDB writes no page checksums (nor checks them), so a version is written in one pass: DuckDB
reads and converts the source, pyarrow writes the pages with a CRC-32 in every header, in row groups
of a fixed size so that the same rows give the same bytes — as fast as DuckDB's own `COPY` (see
BENCHMARKS.md). A reader that verifies checksums (the Arrow reader of governed queries, grading)
then refuses a damaged page instead of decoding wrong values. When that pass fails — bad input, or a
type pyarrow cannot write back as DuckDB's own (INTERVAL) — DuckDB's `COPY` takes over: it explains
bad input by line and column, and its file is then copied by pyarrow to add the checksums, or kept
as it is for such a type (protected by its SHA-256 alone, `ingest.integrity`).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shuzhi.engine.parquet import statistics_columns
from shuzhi.ingest.readers import Reader, sql_str

# LZ4 (raw): measured here it writes as fast as snappy (~60% of zstd's time) and, of the codecs, is
# the quickest for pyarrow to decode, which is how governed queries read a version (see
# BENCHMARKS.md); files are about twice zstd's size. A version is written once and read by every query.
PARQUET_OPTIONS = "FORMAT parquet, COMPRESSION lz4_raw"


@dataclass
class Written:
    rows: int
    byte_size: int
    sha256: str
    schema: list[dict]


def connect(temp_dir: Path, memory_limit: str = "1GB") -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB that spills to the staging area instead of growing without bound."""
    con = duckdb.connect(config={"memory_limit": memory_limit, "temp_directory": str(temp_dir)})
    con.execute("SET enable_progress_bar=true; SET enable_progress_bar_print=false")
    return con


class _ProgressPoller:
    """Reports DuckDB's own progress of the running statement as bytes of the source."""

    def __init__(self, con, progress: Callable[[int, int | None], None] | None, total: int | None):
        self.con, self.progress, self.total = con, progress, total
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            pct = self.con.query_progress()
            if pct >= 0 and self.total:
                self.progress(int(self.total * min(pct, 100.0) / 100), self.total)

    def __enter__(self):
        if self.progress and self.total:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self.progress and self.total and not exc[0]:
            self.progress(self.total, self.total)


def convert(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    dest: Path,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    total: int | None = None,
) -> int:
    """Write the reader's rows to `dest` as Parquet with page checksums; returns the row count. Errors
    come back as user errors."""
    try:
        with _ProgressPoller(con, progress, total):
            return _stream_with_checksums(con, reader.relation(con), dest)
    except (duckdb.Error, OSError, pa.ArrowException):
        # Whatever went wrong (bad input, a type pyarrow cannot write) is taken again by DuckDB's own
        # writer, which explains bad input by file, line and column and copes with every type.
        dest.unlink(missing_ok=True)
    return _copy_then_add_checksums(con, reader, dest, progress=progress, total=total)


ROW_GROUP_ROWS = 500_000
"""Rows per row group of a version written in one pass (a few groups per million rows: parallel reads
in DuckDB, and as compact as DuckDB's own files)."""


def _stream_with_checksums(con: duckdb.DuckDBPyConnection, rel: str, dest: Path) -> int:
    """One pass: DuckDB reads and converts (in its threads) while pyarrow writes each page with its
    CRC-32 — as fast as DuckDB's `COPY`, which cannot write page checksums. The file must read back in
    DuckDB as the relation's own types; OSError otherwise (the caller falls back)."""
    query = con.sql(f"SELECT * FROM {rel}")
    expected = [{"name": n, "type": str(t)} for n, t in zip(query.columns, query.types, strict=True)]
    reader = query.to_arrow_reader(ROW_GROUP_ROWS)
    rows = 0
    with pq.ParquetWriter(
        dest,
        reader.schema,
        compression="lz4_raw",
        write_page_checksum=True,
        store_schema=False,
        write_statistics=statistics_columns(reader.schema),
    ) as out:
        # Row groups of exactly ROW_GROUP_ROWS whatever sizes DuckDB's batches come in: the same
        # rows give the same bytes (and hash), run after run.
        pending = pa.Table.from_batches([], schema=reader.schema)
        for batch in reader:
            pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
            while pending.num_rows >= ROW_GROUP_ROWS:
                out.write_table(pending.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS)
                pending = pending.slice(ROW_GROUP_ROWS)
                rows += ROW_GROUP_ROWS
        if pending.num_rows:
            out.write_table(pending, row_group_size=pending.num_rows)
            rows += pending.num_rows
    if schema_of(con, dest) != expected:
        raise OSError("written types differ from the source's")
    return rows


def _copy_then_add_checksums(
    con: duckdb.DuckDBPyConnection,
    reader: Reader,
    dest: Path,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    total: int | None = None,
) -> int:
    """DuckDB's `COPY`, then a copy by pyarrow that adds the page checksums (or, for types pyarrow
    cannot write back the same, DuckDB's file as it is)."""
    raw = dest.with_name(dest.name + ".duckdb")
    while True:
        try:
            with _ProgressPoller(con, progress, total):
                rel = reader.relation(con)
                (rows,) = con.execute(
                    f"COPY (SELECT * FROM {rel}) TO {sql_str(raw)} ({PARQUET_OPTIONS})"
                ).fetchall()[0]
            break
        except duckdb.Error as exc:
            raw.unlink(missing_ok=True)
            if reader.retry(exc):
                continue
            raise reader.explain(exc) from exc
    try:
        add_page_checksums(con, raw, dest)
    finally:
        raw.unlink(missing_ok=True)
    return int(rows)


def add_page_checksums(con: duckdb.DuckDBPyConnection, src: Path, dest: Path) -> bool:
    """Copy DuckDB's Parquet file `src` to `dest` with a CRC-32 in every page header.

    Returns False (and moves `src` to `dest` unchanged) when pyarrow cannot copy it so that it reads
    back as the same column types in DuckDB."""
    try:
        with pq.ParquetFile(src) as pf:
            meta = pf.metadata
            encoded: list[str] = []
            if meta.num_row_groups:
                first = meta.row_group(0)
                encoded = sorted(
                    {
                        first.column(i).path_in_schema
                        for i in range(first.num_columns)
                        if first.column(i).has_dictionary_page
                    }
                )
            with pq.ParquetWriter(
                dest,
                pf.schema_arrow,
                compression="lz4_raw",
                use_dictionary=encoded,
                write_page_checksum=True,
                store_schema=False,
                write_statistics=statistics_columns(pf.schema_arrow),
            ) as out:
                for group in range(meta.num_row_groups):
                    table = pf.read_row_group(group)
                    out.write_table(table, row_group_size=max(1, table.num_rows))
        same = schema_of(con, src) == schema_of(con, dest)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        same = False
    if not same:
        os.replace(src, dest)
    return same


def schema_of(con: duckdb.DuckDBPyConnection, path: Path) -> list[dict]:
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_str(path)})").fetchall()
    return [{"name": r[0], "type": r[1]} for r in rows]


def seal(path: Path) -> tuple[int, str]:
    """fsync the file and hash its bytes in the same pass; returns (size, sha256 hex)."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
            size += len(chunk)
        os.fsync(f.fileno())
    return size, h.hexdigest()
