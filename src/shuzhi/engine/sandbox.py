"""DuckDB sandbox: runs governed queries over registered dataset versions and nothing else.

It runs inside a query worker process (`shuzhi.engine.worker`), which bounds its memory and, where
the kernel allows, confines it against every file write (`shuzhi.engine.confine`); the sandbox
itself has two ways to reach a version (see `Sandbox`). With the Arrow reader the connection is
opened with no file path granted at all — no ``allowed_directories`` (they also allow writing, and
reading the raw file), ``temp_directory=''``, extension autoload and autoinstall off,
``enable_external_access=false`` — and then ``lock_configuration=true`` so no query can loosen it.
Dataset versions reach a query only as pyarrow scanners registered into that query's own cursor
(registration is per cursor, so concurrent queries cannot see each other's relations), narrowed to
the columns the query reads; predicates stay in DuckDB, which evaluates them on the decoded
batches far more cheaply than Arrow's own filter, which copies every kept row. DuckDB has no
statement timeout, so a timer calls ``interrupt()``, which leaves the connection usable. DDL and
``ATTACH ':memory:'`` still work on a locked connection, so every statement is checked to be one
plain query before it runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from shuzhi.engine.confine import confined
from shuzhi.engine.failures import QueryFailed, QueryTimeout, classify, failure
from shuzhi.engine.interface import Owner, Result, ResultStream
from shuzhi.engine.parquet import UNTRUSTING, float_statistics
from shuzhi.engine.statements import STATEMENT_NODES
from shuzhi.errors import ShuzhiError
from shuzhi.i18n import M_

log = logging.getLogger(__name__)

__all__ = ["QueryFailed", "QueryTimeout", "Result", "ResultStream", "Sandbox", "guard", "shared_sandbox"]


def parse_one(statement: str) -> exp.Expression:
    """The one statement in `statement`, as DuckDB SQL; anything else (none, several, unparsable) is refused."""
    try:
        trees = [t for t in sqlglot.parse(statement, read="duckdb") if t is not None]
    except SqlglotError as e:
        raise QueryFailed(M_("cannot parse SQL: %(value)s", value=str(e).splitlines()[0][:200])) from None
    except RecursionError:
        raise QueryFailed(M_("SQL nested too deeply")) from None
    if len(trees) != 1:
        raise QueryFailed(M_("exactly one statement is allowed"))
    return trees[0]


def guard(statement: str | exp.Expression) -> None:
    """Refuse anything but one plain query, before DuckDB sees it."""
    tree = parse_one(statement) if isinstance(statement, str) else statement
    if not isinstance(tree, exp.Query):
        raise QueryFailed(M_("only queries may run: %(upper)s", upper=tree.key.upper()))
    bad = tree.find(*STATEMENT_NODES)
    if bad is not None:
        raise QueryFailed(M_("only queries may run: %(upper)s", upper=bad.key.upper()))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _list_literal(items: list[str]) -> str:
    return "[" + ", ".join(_literal(i) for i in items) + "]"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _open_version(path: str) -> pads.Dataset:
    """A version as an Arrow dataset; dictionary-encoded text columns decode as dictionaries.

    Dictionary-encoded text (the usual Parquet encoding of codes, names, categories) then crosses
    into DuckDB without materialising every string, which roughly halves scan time on wide text.
    Text the writer stored plainly (identifiers, mostly distinct) stays plain: decoding it into a
    dictionary hashes every value, measured 4x slower on a 10M-row identifier column.
    Pre-buffering is off: it coalesces reads for remote stores, and on a local file only adds
    copies.
    """
    meta = pq.ParquetFile(path).metadata
    schema = meta.schema.to_arrow_schema()
    encoded = set()
    if meta.num_row_groups:
        first = meta.row_group(0)
        encoded = {
            first.column(i).path_in_schema
            for i in range(first.num_columns)
            if first.column(i).has_dictionary_page
        }
    text = [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)) and f.name in encoded
    ]
    fmt = pads.ParquetFileFormat(
        read_options=pads.ParquetReadOptions(dictionary_columns=text),
        # Ingest writes a CRC-32 in every page header: a damaged page fails the scan, never decodes.
        default_fragment_scan_options=pads.ParquetFragmentScanOptions(
            pre_buffer=False, page_checksum_verification=True
        ),
    )
    return pads.dataset(path, format=fmt)


def _scan_pool() -> pa.MemoryPool:
    """jemalloc where pyarrow has it: it reuses the freed batch buffers of a scan instead of
    handing them back to the kernel and faulting fresh zeroed pages in for the next batch."""
    try:
        return pa.jemalloc_memory_pool()
    except NotImplementedError:
        return pa.default_memory_pool()


_SCAN_POOL = _scan_pool()
_SCAN_BATCH_ROWS = 131_072
"""At least a row group as ingest writes it (DuckDB's 122,880 rows): one batch per row group.
32K-row batches measured ~5% more CPU on the 10M-row benchmark."""


_COLUMNS_SELECTOR: tuple[type[exp.Expression], ...] = tuple(
    c for c in (getattr(exp, "Columns", None),) if c is not None
)
"""DuckDB's ``COLUMNS(…)``, where sqlglot knows it (otherwise it parses as an anonymous call)."""


def columns_read(tree: exp.Expression, relations: Iterable[str]) -> dict[str, set[str]] | None:
    """Names that may be columns of the registered relations, or None when that cannot be told.

    Every column reference counts unless it is qualified by something other than a relation or
    a relation's alias, so the answer can only be too wide (an extra column read), never too
    narrow. A star, ``COLUMNS(…)`` or a natural join make it unknown: scan everything.
    """
    relations = list(relations)
    own = {r.lower(): r for r in relations}
    for table in tree.find_all(exp.Table):
        relation = own.get(table.name.lower())
        if relation is not None and table.alias:
            own[table.alias.lower()] = relation
    names: set[str] = set()
    for node in tree.find_all(exp.Column, exp.Star, exp.Join, exp.Anonymous, *_COLUMNS_SELECTOR):
        if isinstance(node, _COLUMNS_SELECTOR):
            return None
        if isinstance(node, exp.Star):
            if not isinstance(node.parent, exp.Count):
                return None
        elif isinstance(node, exp.Join):
            if node.args.get("kind") == "NATURAL" or node.args.get("method") == "NATURAL":
                return None
            names.update(i.name.lower() for i in node.args.get("using") or ())
        elif isinstance(node, exp.Anonymous):
            if node.name.lower() == "columns":
                return None
        elif not node.table and node.name.lower() in own:
            return None  # the whole row, as a struct
        elif not node.table or node.table.lower() in own:
            names.add(node.name.lower())
    return {r: names for r in relations}


def _scanner(dataset: pads.Dataset, columns: set[str] | None) -> pads.Scanner:
    names = dataset.schema.names
    if columns is not None:
        # A query reading no column of it (COUNT(*)) still needs the row count: one column.
        names = [n for n in names if n.lower() in columns] or names[:1]
    return dataset.scanner(columns=names, batch_size=_SCAN_BATCH_ROWS, memory_pool=_SCAN_POOL)


class Sandbox:
    """Locked DuckDB connections; each query gets its own cursor (or connection) and relations.

    ``reader="arrow"`` (anywhere): one connection with no file path granted at all; versions come
    in as Arrow datasets registered into the query's cursor. ``reader="native"`` — only in a
    process that can write no file (see `shuzhi.engine.confine`): each query gets a connection of
    its own whose ``allowed_paths`` are exactly its versions' files, read by DuckDB's own Parquet
    reader through views, then locked. DuckDB lets allowed paths be written as well as read, which
    is why the native reader is never used where the OS would let that write happen.
    """

    def __init__(
        self,
        *,
        memory_limit: str = "2GB",
        threads: int | None = None,
        cache_size: int = 256,
        reader: str = "arrow",
    ):
        if reader not in ("arrow", "native"):
            raise ValueError(f"unknown reader {reader!r}")
        if reader == "native" and not confined():
            raise RuntimeError("the native reader needs a process confined against writes (engine.confine)")
        self.reader = reader
        self._config = {
            "temp_directory": "",
            "autoload_known_extensions": False,
            "autoinstall_known_extensions": False,
            "memory_limit": memory_limit,
        }
        if threads:
            self._config["threads"] = threads
        self._con = self._connect(lock=True) if reader == "arrow" else None
        self._spare: duckdb.DuckDBPyConnection | None = None
        self._datasets: OrderedDict[str, pads.Dataset] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _connect(self, *, lock: bool) -> duckdb.DuckDBPyConnection:
        con = duckdb.connect(":memory:", config=dict(self._config))
        if lock:
            con.execute("SET enable_external_access = false")
            con.execute("SET lock_configuration = true")
        return con

    def warm(self) -> None:
        self.prepare()

    def ready(self) -> None:
        """An in-process sandbox is ready as soon as it exists."""

    def prepare(self) -> None:
        """Open the next query's connection ahead of time (≈17 ms), while nothing waits for it."""
        if self.reader == "native" and self._spare is None:
            self._spare = self._connect(lock=False)

    def _native_connection(self, relations: Mapping[str, Path]) -> duckdb.DuckDBPyConnection:
        con, self._spare = self._spare, None
        if con is None:
            con = self._connect(lock=False)
        try:
            paths = [str(Path(p)) for p in relations.values()]
            if any(float_statistics(p) for p in paths):  # NaN left out of them: see engine.parquet
                con.execute(f"SET disabled_optimizers = '{UNTRUSTING}'")
            con.execute("SET allowed_paths = " + _list_literal(paths))  # before access is closed
            con.execute("SET enable_external_access = false")
            for name, path in relations.items():
                con.execute(
                    f"CREATE VIEW {_ident(name)} AS SELECT * FROM read_parquet({_literal(str(path))})"
                )
            con.execute("SET lock_configuration = true")
        except Exception:
            con.close()
            raise
        return con

    def _dataset(self, path: Path) -> pads.Dataset:
        # Versions are immutable, so an opened dataset (its file footers read) stays valid.
        key = str(path)
        with self._lock:
            found = self._datasets.get(key)
            if found is not None:
                self._datasets.move_to_end(key)
                return found
        opened = _open_version(key)
        with self._lock:
            self._datasets[key] = opened
            while len(self._datasets) > self._cache_size:
                self._datasets.popitem(last=False)
        return opened

    def stream(
        self,
        sql: str,
        relations: Mapping[str, Path],
        *,
        tree: exp.Expression | None = None,
        timeout_s: float = 30.0,
        max_rows: int | None = None,
        batch_rows: int = 65_536,
        owner: Owner | None = None,
        idle_timeout_s: float | None = None,
    ) -> ResultStream:
        """Start a query; batches are produced as DuckDB makes them, capped at `max_rows`.

        `owner` and `idle_timeout_s` (`QueryEngine`) are for engines that share workers: a query
        here runs in the caller's own thread and holds a cursor only while it is read."""
        if tree is None:
            tree = parse_one(sql)
        guard(tree)
        state = {"timed_out": False, "closed": False, "files": [str(p) for p in relations.values()]}
        # DuckDB's reader takes a path as a glob pattern: a data directory with `[`, `*` or `?` in
        # its name would match some other file (refused by allowed_paths, but the query would fail).
        native = self.reader == "native" and not any(set("*?[") & set(str(p)) for p in relations.values())
        if native:
            reads = None
            try:
                cursor = self._native_connection(relations)
            except Exception as e:
                raise self._translate(e, False, state["files"]) from None
            relations = {}  # already views of the connection
        else:
            reads = columns_read(tree, relations)
            if self._con is None:
                self._con = self._connect(lock=True)
            cursor = self._con.cursor()

        def on_timeout() -> None:
            state["timed_out"] = True
            cursor.interrupt()

        timer = threading.Timer(timeout_s, on_timeout)
        timer.daemon = True

        def close() -> None:
            if not state["closed"]:
                state["closed"] = True
                timer.cancel()
                cursor.close()

        try:
            for name, path in relations.items():
                columns = reads[name] if reads is not None else None
                cursor.register(name, _scanner(self._dataset(Path(path)), columns))
            timer.start()
            reader = cursor.sql(sql).to_arrow_reader(batch_rows)
        except Exception as e:
            close()
            raise self._translate(e, state["timed_out"], state["files"]) from None
        stream = ResultStream(schema=reader.schema, _batches=iter(()), _closer=close)
        stream._batches = self._capped(reader, stream, max_rows, state)
        return stream

    def _capped(self, reader, stream: ResultStream, max_rows: int | None, state) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                if max_rows is not None and stream.rows + batch.num_rows > max_rows:
                    keep = max_rows - stream.rows
                    if keep > 0:
                        stream.rows += keep
                        yield batch.slice(0, keep)
                    stream.truncated = True
                    return
                stream.rows += batch.num_rows
                yield batch
        except (duckdb.Error, pa.ArrowException, OSError) as e:  # OSError: DuckDB's, through Arrow
            raise self._translate(e, state["timed_out"], state["files"]) from None
        finally:
            stream.close()

    def run(self, sql: str, relations: Mapping[str, Path], **kwargs) -> Result:
        """Run a query to completion (capped) and return it as one Arrow table."""
        with self.stream(sql, relations, **kwargs) as s:
            batches = list(s)
            table = pa.Table.from_batches(batches, schema=s.schema)
            return Result(table=table, truncated=s.truncated, elapsed_s=time.perf_counter() - s.started)

    @staticmethod
    def _translate(e: Exception, timed_out: bool, files: list[str] = ()) -> ShuzhiError:
        """The engine's exception as its error class: its text quotes the values it failed on."""
        error_class = "timeout" if timed_out else classify(e, files)
        if error_class in ("data_unreadable", "internal"):
            log.error("query failed inside the engine (%s)", error_class, exc_info=e)
        return failure(error_class)

    def close(self) -> None:
        for con in (self._con, self._spare):
            if con is not None:
                con.close()


_shared: dict[tuple, Sandbox] = {}
_shared_lock = threading.Lock()


def shared_sandbox(memory_limit: str = "2GB", threads: int | None = None) -> Sandbox:
    """The process's sandbox for these limits (one locked connection is enough per process)."""
    key = (memory_limit, threads)
    with _shared_lock:
        box = _shared.get(key)
        if box is None:
            box = _shared[key] = Sandbox(memory_limit=memory_limit, threads=threads)
        return box
