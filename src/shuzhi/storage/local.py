"""The version store on local disk: ``<data_dir>/versions/<dataset id>/<n>.parquet``, staging beside.

A version reaches its place by one rename within the data directory after its bytes are on disk,
and the directory entry is synced before `put` returns; a failure on the way moves the file back
(or removes it), so a version file is either whole or absent. The writer's ``flock`` on the staged
file follows the inode through the rename: a sweep never takes a file a live ingest has put and
not yet committed.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from shuzhi.storage.staging import Workspace, sweep_staging, try_lock


def fsync_dir(path: Path) -> None:
    """Make a rename durable: the directory entry must reach the disk too."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalVersionStore:
    """Version files under `root` (the data directory); keys are paths relative to it."""

    def __init__(self, root: Path, versions_dir: Path, staging_dir: Path):
        self.root = Path(root).resolve()
        self.versions_dir = Path(versions_dir).resolve()
        self.staging_dir = Path(staging_dir).resolve()
        self.versions_dir.relative_to(self.root)  # keys are relative to the root

    def folders(self) -> tuple[Path, ...]:
        """The folders this store writes into (the start-up check probes them)."""
        return (self.versions_dir, self.staging_dir)

    # -- staging ------------------------------------------------------------------------------
    def staging(self) -> Workspace:
        return Workspace(self.staging_dir)

    def sweep_staging(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sweep_staging(self.staging_dir)
        return []

    # -- versions -----------------------------------------------------------------------------
    def key_for(self, dataset_id: int, number: int) -> str:
        folder = self.versions_dir / str(int(dataset_id))
        return (folder / f"{int(number)}.parquet").relative_to(self.root).as_posix()

    def put(self, source: Path, dataset_id: int, number: int) -> str:
        return self._place(source, self.key_for(dataset_id, number))

    def put_release(self, source: Path, dataset_id: int, sha256: str) -> str:
        # Beside the versions, not among them: the version sweeps never see a release's file.
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256: {sha256!r}")
        folder = self.root / "releases" / str(int(dataset_id))
        return self._place(source, (folder / f"{sha256}.parquet").relative_to(self.root).as_posix())

    def _place(self, source: Path, key: str) -> str:
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        _fsync_file(source)
        os.replace(source, final)
        try:
            fsync_dir(final.parent)
        except BaseException:
            # Not durable, so not placed: back to the writer (its lock follows the inode), or gone.
            try:
                os.replace(final, source)
            except OSError:
                final.unlink(missing_ok=True)
            raise
        return key

    def open(self, key: str) -> BinaryIO:
        return open(self.path(key), "rb")  # noqa: SIM115 - the caller closes it

    def path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or PurePosixPath(key).is_absolute() or ".." in parts:
            raise ValueError(f"not a version key: {key!r}")
        return self.root.joinpath(*parts)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def dataset_ids(self) -> list[int]:
        if not self.versions_dir.is_dir():
            return []
        return sorted(int(f.name) for f in self.versions_dir.iterdir() if f.is_dir() and f.name.isdigit())

    def sweep_orphans(
        self, dataset_id: int, referenced: Callable[[], Collection[str]], *, min_age_s: float = 0.0
    ) -> list[str]:
        folder = self.versions_dir / str(int(dataset_id))
        if not folder.is_dir():
            return []
        now = time.time()
        known, removed = referenced(), []
        for f in folder.glob("*.parquet"):
            key = f.relative_to(self.root).as_posix()
            if key in known:
                continue
            try:
                if min_age_s and now - f.stat().st_mtime < min_age_s:
                    continue
                fd = os.open(f, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                # A held lock means a live ingest has just put it and has not committed yet.
                if try_lock(fd) and key not in referenced():
                    f.unlink(missing_ok=True)
                    removed.append(key)
            finally:
                os.close(fd)
        return removed
