"""The exchange's master mask key: grant hash keys derive from it; generated once per installation."""

from __future__ import annotations

import functools
import secrets
from pathlib import Path

from shuzhi.config import Settings
from shuzhi.keyfile import create_once


def mask_master_key(settings: Settings) -> bytes:
    """The master key grant hash keys derive from; generated once into the keys directory."""
    return _master_key(settings.keys_dir / "exchange-mask.key")


@functools.lru_cache(maxsize=8)
def _master_key(path: Path) -> bytes:
    # Read once per process: every read decides through it, and the file never changes once made.
    if not path.exists():
        create_once(path, secrets.token_hex(32).encode())
    return bytes.fromhex(path.read_text().strip())
