"""A log with signed tree heads to tamper with, and the tampering itself, as raw SQL on the store
(the way someone with database access but without the signing key would go about it)."""

from __future__ import annotations

import json

from sqlalchemy import text
from tests.ledger import events as ev

from shuzhi.ledger import append, keys, log, merkle
from shuzhi.ledger.verify import verify_ledger
from shuzhi.store.base import utcnow

N = 20
BAD = 5


def _fill(db, n: int, start: int = 0) -> None:
    with db.transaction() as s:
        for i in range(start, start + n):
            append(s, ev.Read(i=i), user_id=1 + i % 3, department_id=1, dataset_id=i)


def _verify(db, settings):
    with db.session() as s:
        return verify_ledger(s, keys.public_key(settings), chunk=7)


def _sql(db, sql: str, **params) -> None:
    with db.engine.begin() as c:
        c.execute(text(sql), params)


def _row(db, seq: int) -> dict:
    with db.engine.connect() as c:
        return dict(
            c.execute(text("SELECT * FROM ledger_entries WHERE seq = :s"), {"s": seq}).mappings().one()
        )


def _move(db, seq: int, to: int) -> None:
    _sql(db, "UPDATE ledger_entries SET seq = :to WHERE seq = :s", s=seq, to=to)


def _edit_text(db):
    row = _row(db, BAD)
    _sql(
        db,
        "UPDATE ledger_entries SET entry = :e WHERE seq = :s",
        e=row["entry"].replace('"ok"', '"denied"'),
        s=BAD,
    )


def _edit_column(db):
    _sql(db, "UPDATE ledger_entries SET user_id = 999 WHERE seq = :s", s=BAD)


def _edit_and_rehash(db):
    """A careful forger: changes the entry, its columns and its leaf hash consistently."""
    row = _row(db, BAD)
    doc = json.loads(row["entry"])
    doc["user_id"] = 999
    new = log.canonical_json(doc)
    _sql(
        db,
        "UPDATE ledger_entries SET entry = :e, user_id = 999, leaf_hash = :h WHERE seq = :s",
        e=new,
        h=merkle.leaf_hash(new.encode()),
        s=BAD,
    )


def _delete(db):
    _sql(db, "DELETE FROM ledger_entries WHERE seq = :s", s=BAD)


def _delete_and_renumber(db):
    _delete(db)
    for seq in range(BAD + 1, N):
        _move(db, seq, seq - 1)


def _reorder(db):
    _move(db, BAD, -1)
    _move(db, BAD + 1, BAD)
    _move(db, -1, BAD + 1)


def _shift_up_from(db, seq: int) -> None:
    for s in range(N - 1, seq - 1, -1):
        _move(db, s, s + 1)


def _insert_forged(db):
    """A careful forger: slips a well-formed entry, chained to its predecessor, in at BAD."""
    prev = _row(db, BAD - 1)
    _shift_up_from(db, BAD)
    entry = log.build_entry(
        BAD,
        utcnow(),
        "data.read",
        user_id=1,
        department_id=1,
        dataset_id=None,
        outcome="ok",
        detail={},
        prev=bytes(prev["leaf_hash"]),
    )
    doc = json.loads(entry)
    _sql(
        db,
        "INSERT INTO ledger_entries (seq, created_at, event, user_id, department_id, dataset_id, outcome,"
        " entry, leaf_hash) VALUES (:seq, :ts, 'data.read', 1, 1, NULL, 'ok', :e, :h)",
        seq=BAD,
        ts=_db_ts(db, doc["ts"]),
        e=entry,
        h=merkle.leaf_hash(entry.encode()),
    )


def _db_ts(db, iso: str):
    from datetime import datetime

    value = datetime.fromisoformat(iso)
    # SQLite stores the naive UTC text that SQLAlchemy would write
    return value.replace(tzinfo=None).isoformat(sep=" ") if db.dialect == "sqlite" else value


def _insert_crude(db):
    _shift_up_from(db, BAD)
    _sql(
        db,
        "INSERT INTO ledger_entries (seq, created_at, event, user_id, department_id, dataset_id, outcome,"
        " entry, leaf_hash) VALUES (:seq, :ts, 'data.read', 1, 1, NULL, 'ok', '{}', :h)",
        seq=BAD,
        ts=_db_ts(db, "2020-01-01T00:00:00.000000"),
        h=bytes(32),
    )


def _truncate(db):
    _sql(db, "DELETE FROM ledger_entries WHERE seq >= 15")


TAMPERS = {
    "edited text": (_edit_text, BAD),
    "edited column": (_edit_column, BAD),
    "edited and rehashed": (_edit_and_rehash, BAD),
    "deleted": (_delete, BAD),
    "deleted and renumbered": (_delete_and_renumber, BAD),
    "reordered": (_reorder, BAD),
    "inserted (well-formed)": (_insert_forged, BAD),
    "inserted (crude)": (_insert_crude, BAD),
    "truncated": (_truncate, 15),
}
