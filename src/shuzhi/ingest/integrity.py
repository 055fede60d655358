"""Whether a version's file is still the bytes that were ingested, and marking the versions that are not.

Every read is checked before any engine is given the file: its SHA-256 must be the one stored at
ingest. Hashing costs about a second per gigabyte, so a match is remembered for that exact state
of the file — device, inode, size, modification and change times. Any write, truncation,
replacement or `touch` changes the change time (which no program can set back), so the next read
hashes again; damage that bypasses the file system (a failing disk) is found by the page
checksums that readers verify and by the periodic re-hash (`verify_versions`).

A version that fails is marked (`DatasetVersion.damaged_at`), recorded in the ledger
(`version.damaged`) and announced through the `version_damaged` hook (grading raises an alert to
the owner's stewards); reads of it are refused with `DataDamaged`, whose message names the version
but never the file's path.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.errors import DataDamaged
from shuzhi.i18n import M_
from shuzhi.storage import version_store
from shuzhi.store.base import utcnow

log = logging.getLogger(__name__)

_CACHE_SIZE = 4096
_CHUNK = 1 << 22

_Key = tuple[int, int, int, int, int]
"""(device, inode, size, mtime_ns, ctime_ns) of a file."""

_known: OrderedDict[_Key, str] = OrderedDict()
_known_lock = threading.Lock()
_hashing: dict[_Key, threading.Lock] = {}
"""One hash at a time per file state: concurrent first reads of a large version wait for it."""


def file_sha256(path: Path, progress: Callable[[int], None] | None = None) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return h.hexdigest()


def _key(st: os.stat_result) -> _Key:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def damage_of(
    path: Path, sha256: str, size: int, *, fresh: bool = False, progress: Callable[[int], None] | None = None
) -> str | None:
    """None when the file holds exactly the ingested bytes; otherwise what is wrong: 'missing',
    'size' or 'sha256'. `fresh` hashes even a file state already found intact."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "missing"
    if st.st_size != size:
        return "size"
    key = _key(st)
    with _known_lock:
        if not fresh and _known.get(key) == sha256:
            _known.move_to_end(key)
            return None
        gate = _hashing.setdefault(key, threading.Lock())
    with gate:
        with _known_lock:
            if not fresh and _known.get(key) == sha256:
                return None  # hashed meanwhile by a concurrent read
        try:
            digest = file_sha256(path, progress)
            after = _key(os.stat(path))
        except FileNotFoundError:
            return "missing"
        finally:
            with _known_lock:
                _hashing.pop(key, None)
        with _known_lock:
            if digest != sha256:
                _known.pop(key, None)
                return "sha256"
            if after == key:  # unchanged while it was read: this state is known good
                _known[key] = sha256
                while len(_known) > _CACHE_SIZE:
                    _known.popitem(last=False)
    return None


def refused(dataset_id: int, number: int) -> DataDamaged:
    return DataDamaged(
        M_("the file of version %(number)s is damaged: reads of it are refused", number=number),
        hint=M_("an operator can check with shuzhi verify-data and load the data again"),
        dataset_id=dataset_id,
        version=number,
    )


@dataclass(frozen=True)
class Expected:
    """What a version's file must be, taken while its row was read."""

    version_id: int
    dataset_id: int
    number: int
    path: Path
    sha256: str
    size: int

    @classmethod
    def of(cls, settings, version: DatasetVersion) -> Expected:
        return cls(
            version.id,
            version.dataset_id,
            version.number,
            version_store(settings).path(version.path),
            version.sha256,
            version.byte_size,
        )


def mark_damaged(session: Session, settings, version: DatasetVersion, damage: str) -> bool:
    """Mark a version damaged, in the caller's transaction: ledger entry and alert. False if it
    already was."""
    from shuzhi import ledger
    from shuzhi.hooks import plugin_manager
    from shuzhi.ingest.events import VersionDamaged

    if version.damaged_at is not None:
        return False
    version.damaged_at = utcnow()
    version.damage = damage[:32]
    dataset = version.dataset or session.get(Dataset, version.dataset_id)
    session.flush()
    log.error("dataset %s version %s is damaged (%s)", dataset.identifier, version.number, damage)
    ledger.append(
        session,
        VersionDamaged(version=version.number, damage=damage, sha256=version.sha256),
        department_id=dataset.department_id,
        dataset_id=dataset.id,
        outcome="failed",
    )
    plugin_manager().hook.version_damaged(session=session, settings=settings, version=version)
    return True


def require_intact(db, settings, expected: Iterable[Expected], *, fresh: bool = False) -> None:
    """Refuse (`DataDamaged`) unless every file is intact; a damaged one is marked first, in a
    transaction of its own (the refused read has none to join)."""
    for e in expected:
        damage = damage_of(e.path, e.sha256, e.size, fresh=fresh)
        if damage is None:
            continue
        with db.transaction() as s:
            version = s.get(DatasetVersion, e.version_id)
            if version is not None:
                mark_damaged(s, settings, version, damage)
        raise refused(e.dataset_id, e.number)


@dataclass
class VerifyReport:
    checked: int = 0
    bytes: int = 0
    damaged: list[dict] = field(default_factory=list)
    """{'dataset', 'version', 'damage', 'new'} of each damaged version ('new': marked by this run)."""
    restored: list[dict] = field(default_factory=list)
    """{'dataset', 'version'} of versions marked damaged whose file hashes right again."""


def verify_versions(
    db,
    settings,
    dataset: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Re-hash versions (of one dataset, or all) against their stored SHA-256, bypassing what reads
    remember, and mark those that fail. `progress(done_bytes, total_bytes)` follows the hashing."""
    from shuzhi.catalog.service import get_dataset

    with db.read() as s:
        query = select(DatasetVersion, Dataset.identifier).join(Dataset)
        if dataset is not None:
            query = query.where(DatasetVersion.dataset_id == get_dataset(s, dataset).id)
        rows = [
            (Expected.of(settings, v), ident, v.damaged_at is not None, v.damage)
            for v, ident in s.execute(query.order_by(Dataset.identifier, DatasetVersion.number))
        ]
    report = VerifyReport()
    total = sum(e.size for e, *_ in rows)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    for e, ident, already, old in rows:
        start = done
        damage = damage_of(e.path, e.sha256, e.size, fresh=True, progress=step)
        done = start + e.size
        if progress is not None:
            progress(done, total)
        report.checked += 1
        report.bytes += e.size
        if damage is None and not already:
            continue
        with db.transaction() as s:
            version = s.get(DatasetVersion, e.version_id)
            if version is None:
                continue
            if damage is None:
                clear_damage(s, version)  # restored from a copy: the bytes are the ingested ones again
                report.restored.append({"dataset": ident, "version": e.number})
                continue
            new = mark_damaged(s, settings, version, damage)
        report.damaged.append(
            {"dataset": ident, "version": e.number, "damage": damage if new else old, "new": new}
        )
    return report


def clear_damage(session: Session, version: DatasetVersion) -> None:
    """A damaged version whose file hashes right again (restored by an operator) is readable again."""
    from shuzhi import ledger
    from shuzhi.ingest.events import VersionRestored

    dataset = version.dataset or session.get(Dataset, version.dataset_id)
    was = version.damage
    version.damaged_at = version.damage = None
    session.flush()
    ledger.append(
        session,
        VersionRestored(version=version.number, was=was, sha256=version.sha256),
        department_id=dataset.department_id,
        dataset_id=dataset.id,
    )
