"""Files uploaded through the web form, held on disk from the request until the background job loads them."""

from __future__ import annotations

import re
import shutil
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from shuzhi.config import Settings
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.ingest import text
from shuzhi.ingest.fetch import LimitedWriter
from shuzhi.ingest.formats import resolve_format

HELD_FOR_S = 86400
"""A held upload older than this was abandoned (its job never ran, its process died): swept."""

_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def uploads_dir(settings: Settings) -> Path:
    # Not under staging/: every ingest sweeps the staging areas whose lock is free, and a held
    # upload has no process holding a lock between the request and its job.
    return settings.data_dir / "uploads"


def hold(settings: Settings, chunks: Iterable[bytes], name: str) -> str:
    """Write an upload into a new held folder and return its token, after the checks that need no
    conversion: the size limit, not empty, a format ingest reads. On any failure nothing is kept."""
    token = uuid.uuid4().hex
    folder = uploads_dir(settings) / token
    folder.mkdir(parents=True)
    dest = folder / "upload"
    try:
        out = LimitedWriter(dest, name, settings.ingest.max_upload_bytes)
        for chunk in chunks:
            out.write(chunk)
        if out.finish() == 0:
            raise text.empty_file(name)
        with open(dest, "rb") as f:
            resolve_format(None, name, f.read(text.HEAD_BYTES))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return token


def held_path(settings: Settings, token: str) -> Path:
    """The held file of `token`; InvalidInput when the token is malformed or the file gone."""
    path = uploads_dir(settings) / token / "upload" if _TOKEN.match(token or "") else None
    if path is None or not path.is_file():
        raise InvalidInput(M_("the uploaded file is no longer there"), where="upload")
    return path


def release(settings: Settings, token: str) -> None:
    if _TOKEN.match(token or ""):
        shutil.rmtree(uploads_dir(settings) / token, ignore_errors=True)


def sweep_held(settings: Settings, max_age_s: float = HELD_FOR_S) -> list[str]:
    """Remove held uploads older than `max_age_s`; returns their tokens."""
    root = uploads_dir(settings)
    if not root.is_dir():
        return []
    cutoff = time.time() - max_age_s
    removed = []
    for folder in root.iterdir():
        if folder.is_dir() and _TOKEN.match(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed
