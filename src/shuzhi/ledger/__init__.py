"""Tamper-evident audit ledger: one append path into an RFC 6962 Merkle log with signed tree heads."""

from shuzhi.ledger.events import ABSENT, Event, event, key
from shuzhi.ledger.log import append
from shuzhi.ledger.models import LedgerEntry, LedgerNode, TreeHead

__all__ = ["ABSENT", "append", "event", "Event", "key", "LedgerEntry", "LedgerNode", "TreeHead"]
