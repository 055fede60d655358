"""Tamper-evident audit ledger: one append path into an RFC 6962 Merkle log with signed tree heads."""

from shuzhi.ledger.log import append
from shuzhi.ledger.models import LedgerEntry, LedgerNode, TreeHead

__all__ = ["append", "LedgerEntry", "LedgerNode", "TreeHead"]
