"""The `[ledger]` settings section: the signing key and the signed-tree-head timer."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel


class LedgerSettings(BaseModel):
    signing_key_path: Path | None = None
    """Ed25519 private key (PEM); defaults to <data_dir>/keys/ledger-ed25519.pem."""
    sth_interval_s: float = 3600
    """Seconds between the server's signed tree heads (fractions allowed); 0 turns the timer off."""


SECTIONS = {"ledger": LedgerSettings}
