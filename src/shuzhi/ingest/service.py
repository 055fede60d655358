"""Ingest service: stage a source as a profiled Parquet file, then commit it as a dataset version.

Two phases keep the metadata store free while bytes move: `stage_source` does all the slow work
(download, transcode, convert, hash, profile) in a locked staging area without touching the
database; `commit_staged` then, inside the caller's transaction, has the version store put the
finished file in place and adds the version row. `ingest_source` does both.

Crash safety: the file only reaches the version store by an atomic `put` (`shuzhi.storage`) after
it is complete and fsynced, and the row is committed after that. A process killed before the
put leaves only a staging area; one killed between put and commit leaves an unreferenced
file. The next ingest (of that dataset, for a file) removes them, and so does the server's sweep
(`sweep_leftovers`, at start and on a schedule); a file stays locked by its writer until the
transaction ends, so a live ingest's file is never taken for an orphan.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetField, DatasetVersion
from shuzhi.catalog.search import index_dataset
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.ingest import drift as drift_mod
from shuzhi.ingest import fetch, readers, text, writer
from shuzhi.ingest.events import VersionIngested
from shuzhi.ingest.formats import SourceRef, classify_source, resolve_format
from shuzhi.ingest.network import AddressPolicy
from shuzhi.ingest.profile import profile_parquet
from shuzhi.ingest.settings import IngestSettings
from shuzhi.storage import StagingArea, VersionStore, version_store

Progress = Callable[[int, int | None], None]


@dataclass
class IngestReport:
    """What a load did: the new version, or which existing version it duplicates."""

    dataset_id: int
    dataset: str
    version: int | None
    unchanged: bool
    same_as: int | None
    rows: int
    sha256: str
    byte_size: int
    path: str | None
    source: str
    source_format: str
    encoding: str | None
    drift: dict | None
    seconds: float
    created_dataset: bool = False

    def summary(self) -> str:
        if self.unchanged:
            return (
                f"内容未变化，与版本 {self.same_as} 相同，未重复存储 "
                f"(unchanged, same as version {self.same_as}; not stored again) — {self.dataset}"
            )
        return (
            f"{self.dataset} 版本 {self.version}: {self.rows:,} 行, {self.seconds:.1f}s; "
            f"{drift_mod.describe(self.drift)} (version {self.version}: {self.rows:,} rows)"
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Staged:
    """A source converted to Parquet in a private staging area, not yet part of any dataset."""

    workspace: StagingArea
    parquet: Path
    source: str
    name: str
    source_format: str
    encoding: str | None
    rows: int
    byte_size: int
    sha256: str
    schema: list[dict]
    profile: dict
    seconds: float
    _lock_fd: int = field(default=-1, repr=False)

    def lock_file(self) -> None:
        """Hold a lock on the Parquet inode: it follows the file through the rename."""
        self._lock_fd = os.open(self.parquet, os.O_RDONLY)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def close(self) -> None:
        self.workspace.close()
        self.release()


# -- phase 1: stage ---------------------------------------------------------------


def stage_source(
    settings: Settings,
    source: SourceRef | str | Path,
    *,
    fmt: str | None = None,
    table: str | None = None,
    query: str | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> Staged:
    """Read a source into a staged Parquet file with its hash, schema and profile. No database access.

    `name` is what to call the source in messages and what its format is guessed from (an upload's
    original file name); `table` names a SQL table, or an Excel worksheet. A source given as text
    or a path is an operator's (files and SQLite allowed); a remote caller's source comes already
    classified with `classify_source(..., local=False)`.
    """
    started = time.perf_counter()
    settings.ensure_dirs()
    store = version_store(settings)
    store.sweep_staging()
    ws = store.staging()
    try:
        ref = source if isinstance(source, SourceRef) else classify_source(source, local=True)
        reader, total = _open(
            settings, ws, ref, fmt=fmt, table=table, query=query, progress=progress, name=name
        )
        staged = _convert(settings, ws, ref, reader, total, progress)
        staged.seconds = time.perf_counter() - started
        staged.lock_file()
        return staged
    except BaseException:
        ws.close()
        raise


def _open(settings: Settings, ws: StagingArea, ref: SourceRef, *, fmt, table, query, progress, name):
    limits = settings.ingest
    if ref.kind == "sql" or fmt == "sql":
        if ref.kind != "sql":
            raise InvalidInput(
                M_("a SQL source needs a database URL"),
                where=ref.text,
                hint=M_("e.g. postgresql+psycopg://reader@10.0.0.5/front"),
            )
        return readers.SqlReader(
            ref,
            table=table,
            query=query,
            timeout_s=limits.sql_connect_timeout_s,
            batch_rows=limits.batch_rows,
            policy=AddressPolicy.of(limits.allowed_source_hosts),
            store_url=settings.db_url,
        ), None
    label = name or ref.name
    if ref.kind == "http":
        path = ws.path("download")
        fetch.download(
            ref.location,
            path,
            limits.max_upload_bytes,
            limits.http_timeout_s,
            AddressPolicy.of(limits.allowed_source_hosts),
            progress,
            name=ref.text,
        )
    else:
        path = _local_file(Path(ref.location), label, limits.max_upload_bytes)
    size = path.stat().st_size
    if size == 0:
        raise text.empty_file(label)
    with open(path, "rb") as f:
        head = f.read(text.HEAD_BYTES)
    kind = resolve_format(fmt, label, head)
    return _reader_for(kind, path, label, head, ws, table, limits, progress), size


def _local_file(path: Path, label: str, limit: int) -> Path:
    if not path.exists():
        raise InvalidInput(M_("file not found"), where=str(path), hint=M_("check the path"))
    if not path.is_file():
        raise InvalidInput(
            M_("not a regular file"),
            where=str(path),
            hint=M_("give a file, not a directory"),
        )
    if path.stat().st_size > limit:
        raise fetch.too_large(label, limit)
    return path


def _utf8(path: Path, label: str, encoding: str, ws: StagingArea, progress: Progress | None) -> Path:
    if encoding == "utf-8":
        return path
    out = ws.path("source.utf8")
    text.transcode(path, out, encoding, label, progress)
    return out


def _reader_for(
    kind: str,
    path: Path,
    label: str,
    head: bytes,
    ws: StagingArea,
    table: str | None,
    limits: IngestSettings,
    progress: Progress | None,
) -> readers.Reader:
    if kind == "csv":
        layout = text.read_layout(head, label)
        return readers.CsvReader(path, label, layout, _utf8(path, label, layout.encoding, ws, progress))
    if kind in ("json", "jsonl"):
        if not head.strip(b"\xef\xbb\xbf \t\r\n"):
            raise text.empty_file(label)
        encoding = text.detect_encoding(head, label)
        return readers.JsonReader(
            _utf8(path, label, encoding, ws, progress), label, kind == "jsonl", encoding
        )
    if kind == "parquet":
        return readers.ParquetReader(path, label, max_bytes=int(limits.max_decompressed_bytes))
    if kind == "xlsx":
        return readers.XlsxReader(
            path,
            label,
            sheet=table,
            batch_rows=limits.batch_rows,
            limits=readers.WorkbookLimits(
                int(limits.workbook_max_xml_bytes), limits.workbook_max_cells, limits.workbook_max_rows
            ),
        )
    raise InvalidInput(M_("a file cannot be read as %(kind)s", kind=kind), where=label)


def _convert(
    settings: Settings,
    ws: StagingArea,
    ref: SourceRef,
    reader: readers.Reader,
    total: int | None,
    progress: Progress | None,
) -> Staged:
    dest = ws.path("data.parquet")
    con = writer.connect(ws.dir, settings.ingest.memory_limit)
    try:
        rows = writer.convert(con, reader, dest, progress=progress, total=total)
        if rows == 0:
            raise InvalidInput(
                M_("no data rows: the source is empty or has only a header"),
                where=reader.name,
                hint=M_("a version needs at least one row; check the export"),
            )
        schema = writer.schema_of(con, dest)
        reader.check_schema([c["name"] for c in schema])
        byte_size, sha = writer.seal(dest)
        profile = profile_parquet(con, dest, schema)
    finally:
        con.close()
    return Staged(
        workspace=ws,
        parquet=dest,
        source=ref.text if ref.kind != "path" else reader.name,
        name=reader.name,
        source_format=reader.fmt,
        encoding=reader.encoding,
        rows=rows,
        byte_size=byte_size,
        sha256=sha,
        schema=schema,
        profile=profile,
        seconds=0.0,
    )


# -- phase 2: commit ---------------------------------------------------------------


def commit_staged(
    session: Session, settings: Settings, dataset: Dataset, staged: Staged, *, user_id: int | None
) -> IngestReport:
    """Make a staged file the dataset's next version inside the caller's transaction.

    Identical content (same SHA-256 as any existing version not found damaged) is reported, not
    stored twice.
    """
    started = time.perf_counter()
    # Serialise versions of one dataset (PostgreSQL row lock; SQLite already holds its write lock).
    session.execute(select(Dataset.id).where(Dataset.id == dataset.id).with_for_update())
    existing = session.execute(
        select(DatasetVersion.number, DatasetVersion.sha256, DatasetVersion.schema, DatasetVersion.damaged_at)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.number)
    ).all()
    report = dict(
        dataset_id=dataset.id,
        dataset=dataset.identifier,
        rows=staged.rows,
        sha256=staged.sha256,
        byte_size=staged.byte_size,
        source=staged.source,
        source_format=staged.source_format,
        encoding=staged.encoding,
    )
    # A damaged version does not hold the content any more: loading it again makes a new version.
    same = next((n for n, sha, _, damaged in existing if sha == staged.sha256 and damaged is None), None)
    if same is not None:
        staged.close()
        _ledger(
            session,
            user_id,
            dataset,
            VersionIngested(unchanged=True, same_as=same, sha256=staged.sha256, source=staged.source),
        )
        return IngestReport(
            **report,
            version=None,
            unchanged=True,
            same_as=same,
            path=None,
            drift=None,
            seconds=staged.seconds + time.perf_counter() - started,
        )
    collect_orphans(session, settings, dataset.id)
    number = (existing[-1][0] if existing else 0) + 1
    drift = drift_mod.schema_drift(existing[-1][2] if existing else None, staged.schema)
    store = version_store(settings)
    key = store.put(staged.parquet, dataset.id, number)
    staged.workspace.close()
    try:
        version = _add_version(session, settings, dataset, staged, number, key, drift, user_id)
    except BaseException:
        store.delete(key)
        staged.release()
        raise
    _finish_with_transaction(session, staged, store, key)
    return IngestReport(
        **report,
        version=number,
        unchanged=False,
        same_as=None,
        path=version.path,
        drift=drift,
        seconds=staged.seconds + time.perf_counter() - started,
    )


def _add_version(
    session: Session,
    settings: Settings,
    dataset: Dataset,
    staged: Staged,
    number: int,
    key: str,
    drift: dict | None,
    user_id: int | None,
) -> DatasetVersion:
    from shuzhi.hooks import plugin_manager

    version = DatasetVersion(
        dataset_id=dataset.id,
        number=number,
        path=key,
        source=staged.source[:1000],
        source_format=staged.source_format,
        encoding=staged.encoding,
        row_count=staged.rows,
        byte_size=staged.byte_size,
        sha256=staged.sha256,
        schema=staged.schema,
        profile=staged.profile,
        drift=drift,
        created_by_id=user_id,
    )
    session.add(version)
    if sync_fields(dataset, staged.schema):
        session.flush()
        index_dataset(session, dataset)  # new field names become searchable
    session.flush()
    plugin_manager().hook.version_ingested(session=session, settings=settings, version=version)
    _ledger(
        session,
        user_id,
        dataset,
        VersionIngested(
            version=number,
            rows=staged.rows,
            sha256=staged.sha256,
            source=staged.source,
            format=staged.source_format,
            drift=drift,
        ),
    )
    return version


def _ledger(session: Session, user_id, dataset: Dataset, record: VersionIngested) -> None:
    from shuzhi import ledger

    ledger.append(
        session, record, user_id=user_id, department_id=dataset.department_id, dataset_id=dataset.id
    )


def _finish_with_transaction(session: Session, staged: Staged, store: VersionStore, key: str) -> None:
    """Keep the file locked until the transaction ends; remove it if the transaction rolls back."""
    done = {"flag": False}

    def committed(_session):
        if not done["flag"]:
            done["flag"] = True
            staged.release()

    def rolled_back(_session):
        if not done["flag"]:
            done["flag"] = True
            store.delete(key)
            staged.release()

    event.listen(session, "after_commit", committed, once=True)
    event.listen(session, "after_rollback", rolled_back, once=True)


def sync_fields(dataset: Dataset, schema: list[dict]) -> bool:
    """Catalog fields follow the data: new columns are added, changed types updated; descriptions stay.

    Returns whether a field was added (its name is then new to search)."""
    by_name = {f.name: f for f in dataset.fields}
    added = False
    for col in schema:
        f = by_name.get(col["name"])
        if f is None:
            dataset.fields.append(
                DatasetField(name=col["name"], type=col["type"][:64], position=len(dataset.fields))
            )
            added = True
        elif f.type != col["type"][:64]:
            f.type = col["type"][:64]
    return added


def collect_orphans(
    session: Session, settings: Settings, dataset_id: int, *, min_age_s: float = 0.0
) -> list[Path]:
    """Delete version files of a dataset that no committed row points to (left by a crash), once
    they are `min_age_s` old."""
    store = version_store(settings)
    removed = store.sweep_orphans(dataset_id, _referenced(session, dataset_id), min_age_s=min_age_s)
    return [store.path(k) for k in removed]


def _referenced(session: Session, dataset_id: int) -> Callable[[], set[str]]:
    """The keys the dataset's version rows name, read afresh at each call."""
    return lambda: set(
        session.scalars(select(DatasetVersion.path).where(DatasetVersion.dataset_id == dataset_id))
    )


# -- both phases -------------------------------------------------------------------


def ingest_source(
    session: Session,
    settings: Settings,
    dataset: Dataset,
    source: SourceRef | str | Path,
    *,
    user_id: int | None,
    fmt: str | None = None,
    table: str | None = None,
    query: str | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> IngestReport:
    """Load a source as the next version of `dataset` in the caller's transaction."""
    staged = stage_source(settings, source, fmt=fmt, table=table, query=query, progress=progress, name=name)
    with closed_on_failure(staged):
        return commit_staged(session, settings, dataset, staged, user_id=user_id)


@contextmanager
def closed_on_failure(staged: Staged) -> Iterator[Staged]:
    """The staged files go if what follows fails (on success the commit has moved them)."""
    try:
        yield staged
    except BaseException:
        staged.close()
        raise


def commit_to(
    db, settings: Settings, staged: Staged, target: Callable[[Session], Dataset], *, user_id: int | None
) -> IngestReport:
    """Commit a staged source as the next version of the dataset `target(session)` finds or
    creates, in one write transaction; the staged files go whatever happens. Every face that
    loads data (API, CLI, demo) ends its load here."""
    with closed_on_failure(staged), db.write() as session:
        return commit_staged(session, settings, target(session), staged, user_id=user_id)


# -- registering a dataset from a file ---------------------------------------------


def identifier_for(session: Session, dept_code: str, stem: str) -> str:
    """A free identifier like ``scjg-qiye_dengji`` from the department code and the (Chinese) file name."""
    import re

    from pypinyin import lazy_pinyin

    slug = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(lazy_pinyin(stem))).strip("_").lower()[:60] or "data"
    base = re.sub(r"[^A-Za-z0-9_.-]+", "", f"{dept_code.lower()}-{slug}")
    if not re.match(r"^[A-Za-z0-9]", base):
        base = "ds-" + base
    candidate, n = base, 1
    while session.scalar(select(Dataset.id).where(Dataset.identifier == candidate)) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def create_dataset_for(
    session: Session,
    principal,
    staged: Staged,
    *,
    dept: str,
    theme: str,
    title: str | None = None,
    identifier: str | None = None,
    **metadata,
) -> Dataset:
    """Register a new dataset described by a staged file: fields from its schema, title from its name."""
    from shuzhi.catalog.schemas import DatasetIn, FieldIn
    from shuzhi.catalog.service import create_dataset

    stem = (
        Path(staged.name).stem
        if staged.source_format != "sql"
        else (staged.name.rsplit("[", 1)[-1].rstrip("]"))
    )
    data = DatasetIn(
        identifier=identifier or identifier_for(session, dept, stem),
        title_zh=title or stem,
        department=dept,
        theme=theme,
        fields=[FieldIn(name=c["name"], type=c["type"][:64]) for c in staged.schema],
        **metadata,
    )
    return create_dataset(session, principal, data)


def sweep_leftovers(session: Session, settings: Settings) -> list[str]:
    """What killed ingests left: staging areas whose lock is free, and version files no version
    row points to once `ingest.orphan_grace_s` old. Returns what was removed (``staging/<token>``
    and version keys). Only reads the store; deletes files."""
    store = version_store(settings)
    removed = [f"staging/{token}" for token in store.sweep_staging()]
    for dataset_id in store.dataset_ids():
        grace = settings.ingest.orphan_grace_s
        removed += store.sweep_orphans(dataset_id, _referenced(session, dataset_id), min_age_s=grace)
    return removed
