"""Converting a source to one Parquet file with DuckDB, durably, and hashing what was written.

The content hash (`sha256`) of a version is the SHA-256 of the Parquet file bytes as written here.
The writer is deterministic: DuckDB with fixed options (LZ4, insertion order kept) writes the same
bytes for the same rows, columns and types, so loading the same content again yields the same hash
whatever the file was called or where it came from. A different Shuzhi/DuckDB release may lay the
file out differently; that shows as a new version, never as a false "unchanged".
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

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
    """Write the reader's rows to `dest` as Parquet; returns the row count. Errors come back as user errors."""
    while True:
        try:
            with _ProgressPoller(con, progress, total):
                rel = reader.relation(con)
                (rows,) = con.execute(
                    f"COPY (SELECT * FROM {rel}) TO {sql_str(dest)} ({PARQUET_OPTIONS})"
                ).fetchall()[0]
            return int(rows)
        except duckdb.Error as exc:
            dest.unlink(missing_ok=True)
            if reader.retry(exc):
                continue
            raise reader.explain(exc) from exc


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


def fsync_dir(path: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
