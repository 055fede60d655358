"""Many entries in one transaction (imports, benchmarks): the same entries, leaves and subtree hashes
as `append`, computed in memory from the tree's frontier instead of read back per entry."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from shuzhi.ledger import log, merkle
from shuzhi.ledger.events import type_of
from shuzhi.ledger.models import LedgerEntry, LedgerNode
from shuzhi.store.base import utcnow

BATCH = 10_000


def _frontier(session: Session, size: int) -> dict[int, bytes]:
    """Hash of the perfect subtree at each level of size's binary decomposition (the left
    siblings the next appends will need), read once."""
    keys = merkle.range_nodes(0, size)
    found = log.fetch_nodes(session, set(keys))
    return {level: found[(level, idx)] for level, idx in keys}


def append_many(session: Session, events: Iterable[dict], *, created_at: datetime | None = None) -> int:
    """Append every event (dicts of append's keyword arguments plus 'event', a declared event) in
    the caller's transaction; returns how many. Same canonical entries and tree as one append per
    event."""
    log.lock_ledger(session)
    size, prev = log.head(session)
    frontier = _frontier(session, size)
    entries: list[dict] = []
    nodes: list[dict] = []
    count = 0
    appended = []
    for ev in events:
        ev = dict(ev)
        record = ev.pop("event")
        appended.append(record)
        event, detail = type_of(record).name, record.detail()
        fields = {k: ev.get(k) for k in ("user_id", "department_id", "dataset_id")}
        outcome = ev.get("outcome", "ok")
        log.check_entry(event, outcome, detail)
        ts = created_at or utcnow()
        text = log.build_entry(
            size, ts, event, outcome=outcome, detail=log.bounded(detail), prev=prev, **fields
        )
        leaf = merkle.leaf_hash(text.encode("utf-8"))
        entries.append(
            {
                "seq": size,
                "created_at": ts,
                "event": event,
                "outcome": outcome,
                "entry": text,
                "leaf_hash": leaf,
            }
            | fields
        )
        h, level, idx = leaf, 0, size
        while idx & 1:
            h = merkle.node_hash(frontier.pop(level), h)
            level, idx = level + 1, idx >> 1
            nodes.append({"level": level, "idx": idx, "hash": h})
        frontier[level] = h
        size, prev, count = size + 1, leaf, count + 1
        if len(entries) >= BATCH:
            _flush(session, entries, nodes)
            log.announce(session, appended)
            appended.clear()
    _flush(session, entries, nodes)
    log.announce(session, appended)
    return count


def _flush(session: Session, entries: list[dict], nodes: list[dict]) -> None:
    conn = session.connection()  # Core executemany: the ORM's bulk path adds nothing here
    if entries:
        conn.execute(LedgerEntry.__table__.insert(), entries)
    if nodes:
        conn.execute(LedgerNode.__table__.insert(), nodes)
    entries.clear()
    nodes.clear()
