"""Private work areas on local disk, locked while in use and swept when abandoned.

Each ingest works in ``staging/<token>/`` and holds an exclusive ``flock`` on ``staging/<token>.lock``.
The kernel drops the lock when the process dies, even by SIGKILL, so a later ingest can tell an
abandoned area (lock free) from one in use (lock held) without guessing from ages.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import time
import uuid
from pathlib import Path

ORPHAN_GRACE_S = 3600
"""An area without a lock file is only swept after this long (it may be being created)."""


def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Workspace:
    """One ingest's staging directory; `close()` removes it and releases the lock."""

    def __init__(self, staging_dir: Path):
        staging_dir.mkdir(parents=True, exist_ok=True)
        self.token = uuid.uuid4().hex
        self.lock_path = staging_dir / f"{self.token}.lock"
        self._lock_fd = os.open(self.lock_path, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self.dir = staging_dir / self.token
        self.dir.mkdir(mode=0o700)  # what is staged or spilled here is a dataset's rows

    def path(self, name: str) -> Path:
        return self.dir / name

    def close(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(FileNotFoundError):
            self.lock_path.unlink()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def sweep_staging(staging_dir: Path) -> list[str]:
    """Remove work areas left by ingests that died; returns the tokens removed."""
    if not staging_dir.is_dir():
        return []
    removed = []
    for lock in staging_dir.glob("*.lock"):
        fd = os.open(lock, os.O_RDWR)
        try:
            if not try_lock(fd):
                continue
            shutil.rmtree(staging_dir / lock.stem, ignore_errors=True)
            lock.unlink(missing_ok=True)
            removed.append(lock.stem)
        finally:
            os.close(fd)
    now = time.time()
    for area in staging_dir.iterdir():
        if area.is_dir() and not (staging_dir / f"{area.name}.lock").exists():
            with contextlib.suppress(FileNotFoundError):
                if now - area.stat().st_mtime > ORPHAN_GRACE_S:
                    shutil.rmtree(area, ignore_errors=True)
                    removed.append(area.name)
    return removed
