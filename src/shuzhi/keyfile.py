"""Private key files written once: whole, mode 0600, and never replaced once in place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def create_once(path: Path, data: bytes) -> None:
    """Write `data` to `path` unless it exists; when callers race, the first file stays for all.

    Written whole to a private temporary file of a unique name, then linked into place: a racing
    caller either wins the link or later reads the complete winner, never half a key, and a key
    in use is never swapped for another (hashes and signatures made with it stay valid).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
