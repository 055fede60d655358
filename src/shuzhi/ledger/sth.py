"""Signed tree heads (STHs): the log's size and root at a moment, signed with the ledger key."""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.ledger import log
from shuzhi.ledger.keys import key_id, private_key
from shuzhi.ledger.models import TreeHead


def signed_message(tree_size: int, timestamp_ms: int, root: bytes) -> bytes:
    """The bytes an STH signature covers: RFC 6962 §3.5's TreeHeadSignature
    (version v1 = 0, signature_type tree_hash = 1, uint64 timestamp, uint64 tree_size, root)."""
    return struct.pack(">BBQQ", 0, 1, timestamp_ms, tree_size) + root


@dataclass(frozen=True)
class SignedHead:
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    signature: bytes
    key_id: str

    @classmethod
    def of(cls, row: TreeHead) -> SignedHead:
        return cls(row.tree_size, row.root_hash, row.timestamp_ms, row.signature, row.key_id)

    def valid_under(self, key: Ed25519PublicKey) -> bool:
        if len(self.root_hash) != 32:
            return False
        try:
            key.verify(self.signature, signed_message(self.tree_size, self.timestamp_ms, self.root_hash))
        except InvalidSignature:
            return False
        return True

    @classmethod
    def from_dict(cls, d: dict) -> SignedHead:
        """From the JSON of GET /api/v1/ledger/sth (or `shuzhi audit sth`)."""
        return cls(
            int(d["tree_size"]),
            bytes.fromhex(d["root_hash"]),
            int(d["timestamp"]),
            bytes.fromhex(d["signature"]),
            d.get("key_id", ""),
        )

    def to_dict(self) -> dict:
        return {
            "tree_size": self.tree_size,
            "root_hash": self.root_hash.hex(),
            "timestamp": self.timestamp_ms,
            "signature": self.signature.hex(),
            "key_id": self.key_id,
            "signed_message": signed_message(self.tree_size, self.timestamp_ms, self.root_hash).hex(),
        }


def issue_tree_head(session: Session, settings) -> TreeHead:
    """Sign the current tree head and store it (in the caller's transaction).

    Holds the ledger lock so tree heads are stored in order of size and time."""
    key = private_key(settings)
    log.lock_ledger(session)
    size = log.tree_size(session)
    root = log.root_hash(session, size)
    last = latest_tree_head(session)
    ts = int(time.time() * 1000)
    if last is not None:
        ts = max(ts, last.timestamp_ms)
    head = TreeHead(
        tree_size=size,
        root_hash=root,
        timestamp_ms=ts,
        key_id=key_id(key.public_key()),
        signature=key.sign(signed_message(size, ts, root)),
    )
    session.add(head)
    session.flush()
    return head


def latest_tree_head(session: Session) -> TreeHead | None:
    return session.scalars(select(TreeHead).order_by(TreeHead.id.desc()).limit(1)).first()


def require_tree_head(session: Session) -> TreeHead:
    head = latest_tree_head(session)
    if head is None:
        raise NotFound(
            M_("no signed tree head yet"), hint=M_("sign one with: %(command)s", command="shuzhi audit sth")
        )
    return head


def issue_if_due(session: Session, settings) -> TreeHead | None:
    """Issue a tree head when the log has grown since the last one or the interval has passed
    (what the tree-head job calls).

    Decides under the ledger lock (on SQLite the write transaction's own), so of several
    processes due at once the first signs and the others find its head: one signer."""
    log.lock_ledger(session)
    last = latest_tree_head(session)
    if last is not None:
        age_s = time.time() - last.timestamp_ms / 1000
        if last.tree_size == log.tree_size(session) and age_s < settings.ledger.sth_interval_s:
            return None
    return issue_tree_head(session, settings)


def head_of_size(session: Session, size: int) -> TreeHead | None:
    return session.scalars(
        select(TreeHead).where(TreeHead.tree_size == size).order_by(TreeHead.id.desc()).limit(1)
    ).first()
