"""What a registry's last build leaves on disk so that the next one reads less: its normalised records, and its members and golden values as stored.

Normalising a million person records (names to pinyin, ID numbers checked, addresses parsed) takes
longer than linking the few that changed. Every build writes what it prepared to
`<data_dir>/registry/<registry id>/records-<key>.parquet`, the key naming the registry's settings and
this code's version; an incremental build takes a record's derived columns from there when its
record key and digest (its mapped values as read) are the same, and normalises the others. A file of
other settings or another release is never read.

A build writes its members and golden values as a difference from the last run's, which it must read
first: `state-<run id>-members.parquet` and `state-<run id>-golden.parquet` hold them as that run
stored them (only builds write them: a steward's decision is applied by the next build). They are read
only while their run is the registry's last succeeded one, else the store is read.

The files hold what the source versions and the store hold, under the same data directory. Deleting
them costs only time. A file that cannot be written or read is left aside the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shuzhi import __version__
from shuzhi.ingest.readers import ident
from shuzhi.registry.pipeline import prepare
from shuzhi.registry.settings import RegistrySettings

INDEX = "__row"
MEMBER_COLUMNS = ("entry_id", "record_key", "digest", "dataset", "row")
GOLDEN_COLUMNS = ("entry_id", "attribute", "value", "value_norm", "dataset", "row", "record_key", "rule")
BASE = ("record_key", "source_dataset", "source_version", "source_row", "digest")
"""Columns of a record as read (with the mapped attributes): every other column is derived."""


def cache_file(data_dir: Path, registry_id: int, settings_digest: str) -> Path:
    key = f"{settings_digest[:16]}-{__version__}"
    return Path(data_dir) / "registry" / str(int(registry_id)) / f"records-{key}.parquet"


def prepare_reusing(conf: RegistrySettings, records: pa.Table, cached: Path | None) -> tuple[pa.Table, int]:
    """`prepare(conf, records)` (records carrying their `digest`), taking the derived columns of
    unchanged records from the file `cached` when it exists. Returns the table, in the order of
    `records`, and how many records were normalised."""
    kept = _read(cached)
    if (
        kept is None
        or not {"record_key", "digest"} <= set(kept.column_names)
        or "digest" not in records.column_names
    ):
        return prepare(conf, records), records.num_rows
    base = [c for c in records.column_names if c in BASE or c in conf.attributes()]
    derived = [c for c in kept.column_names if c not in base]
    numbered = records.select(base).append_column(INDEX, pa.array(range(records.num_rows), pa.int64()))
    con = duckdb.connect()
    try:
        con.register("cur", numbered)
        con.register("kept", kept.select(["record_key", "digest", *derived]))
        hit = con.sql(
            "SELECT c.*, " + ", ".join(f"k.{ident(d)}" for d in derived) + " FROM cur c "
            "JOIN kept k ON k.record_key = c.record_key AND k.digest = c.digest"
        ).to_arrow_table()
        missed = con.sql(
            "SELECT c.* FROM cur c ANTI JOIN kept k ON k.record_key = c.record_key AND k.digest = c.digest"
        ).to_arrow_table()
    finally:
        con.close()
    parts = [hit, prepare(conf, missed).select(hit.column_names)] if missed.num_rows else [hit]
    both = pa.concat_tables(parts, promote_options="permissive")
    both = both.take(pc.sort_indices(both[INDEX]))
    return both.drop_columns([INDEX]), missed.num_rows


def _read(cached: Path | None) -> pa.Table | None:
    """A kept file's table, or None when there is none or it cannot be read (it is only a cost)."""
    if cached is None or not cached.exists():
        return None
    try:
        kept = pq.read_table(cached)
    except (OSError, pa.ArrowException):
        return None
    return kept


def keep(path: Path, prepared: pa.Table) -> None:
    """Write `prepared` as the registry's cache (atomically) and remove the registry's other caches."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(prepared, partial)
    os.replace(partial, path)
    for other in path.parent.glob("records-*.parquet"):
        if other != path:
            other.unlink(missing_ok=True)


def keep_all(cache: Path, records: pa.Table, run_id: int, members: pa.Table, golden: pa.Table) -> None:
    """After a build committed: keep its normalised records and its stored state (best effort)."""
    try:
        keep(cache, records)
    except OSError:  # only a cost: the next incremental build normalises every record
        cache.unlink(missing_ok=True)
    try:
        keep_state(cache.parent, run_id, members, golden)
    except OSError:  # only a cost: the next build reads the store
        for f in cache.parent.glob(f"state-{int(run_id)}-*"):
            f.unlink(missing_ok=True)


def keep_state(folder: Path, run_id: int, members: pa.Table, golden: pa.Table) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for part, table, columns in (("members", members, MEMBER_COLUMNS), ("golden", golden, GOLDEN_COLUMNS)):
        path = folder / f"state-{int(run_id)}-{part}.parquet"
        partial = path.with_suffix(".partial")
        pq.write_table(table.select(list(columns)), partial)
        os.replace(partial, path)
        written.append(path)
    for other in folder.glob("state-*.parquet"):
        if other not in written:
            other.unlink(missing_ok=True)


def read_state(data_dir: Path, registry_id: int, run_id: int) -> tuple[pa.Table, pa.Table] | None:
    """The members and golden values run `run_id` stored, or None when its files are not there."""
    folder = Path(data_dir) / "registry" / str(int(registry_id))
    out = []
    for part, columns in (("members", MEMBER_COLUMNS), ("golden", GOLDEN_COLUMNS)):
        table = _read(folder / f"state-{int(run_id)}-{part}.parquet")
        if table is None or tuple(table.column_names) != columns:
            return None
        out.append(table)
    return out[0], out[1]
