"""Tables of the audit ledger: entries (Merkle leaves), stored subtree hashes and signed tree heads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime

# INTEGER PRIMARY KEY makes SQLite use the rowid itself as the key (no second B-tree);
# PostgreSQL gets a 64-bit column.
Seq = BigInteger().with_variant(Integer(), "sqlite")


class LedgerEntry(Base):
    """One audit entry. `entry` is the canonical JSON that the Merkle leaf hashes; the other
    columns repeat its fields so auditors can filter, and verification checks they agree."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=False)
    """Gap-free, from 0; equals the leaf index in the Merkle tree."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int | None] = mapped_column(Seq, index=True)
    department_id: Mapped[int | None] = mapped_column(Seq, index=True)
    dataset_id: Mapped[int | None] = mapped_column(Seq, index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    entry: Mapped[str] = mapped_column(Text)
    """Sorted-key JSON, UTF-8, no insignificant whitespace."""
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    """SHA-256(0x00 || entry bytes)."""

    # No foreign keys on purpose: the ledger outlives the users, departments and datasets
    # it mentions, and must never block (or cascade from) their deletion.

    @property
    def entry_bytes(self) -> bytes:
        return self.entry.encode("utf-8")


class LedgerNode(Base):
    """Hash of a perfect subtree of 2**level leaves starting at leaf idx * 2**level (level >= 1).

    Written in the same transaction as the leaf that completes it, so any tree size's root,
    inclusion proof and consistency proof needs only O(log n) stored hashes."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class TreeHead(Base):
    """A signed tree head (STH): the log's size and root at a moment, signed with Ed25519."""

    __tablename__ = "ledger_tree_heads"

    id: Mapped[int] = mapped_column(Seq, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    """Milliseconds since the Unix epoch, as signed."""
    key_id: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the raw 32-byte public key that signed it."""
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
