"""The ledger's Ed25519 signing key: created once at init (0600), loaded, identified."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shuzhi.keyfile import create_once

KEY_FILE = "ledger-ed25519.pem"


def key_path(settings) -> Path:
    return settings.ledger.signing_key_path or settings.keys_dir / KEY_FILE


def ensure_signing_key(settings) -> Path:
    """Create the Ed25519 private key (PEM, mode 0600) unless it exists; return its path."""
    path = key_path(settings)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    create_once(path, pem)
    return path


@functools.lru_cache(maxsize=8)
def _load_private(path: str, mtime_ns: int) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{Path(path).name} is not an Ed25519 private key")
    return key


def private_key(settings) -> Ed25519PrivateKey:
    path = ensure_signing_key(settings)
    return _load_private(str(path), path.stat().st_mtime_ns)


def public_key(settings) -> Ed25519PublicKey:
    return private_key(settings).public_key()


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(data: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def key_id(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()
