"""Signed tree heads and full verification, including every kind of tampering, on each backend."""

from __future__ import annotations

import json
import stat

import pytest
from sqlalchemy import text

from shuzhi.ledger import append, keys, log, merkle, sth
from shuzhi.ledger.verify import verify_ledger

N = 20
BAD = 5


def _fill(db, n: int, start: int = 0) -> None:
    with db.transaction() as s:
        for i in range(start, start + n):
            append(s, "data.read", user_id=1 + i % 3, department_id=1, dataset_id=i, detail={"i": i})


@pytest.fixture
def ledger(db, settings):
    """A log of N entries with tree heads at sizes 8 and N."""
    _fill(db, 8)
    with db.transaction() as s:
        sth.issue_tree_head(s, settings)
    _fill(db, N - 8, 8)
    with db.transaction() as s:
        sth.issue_tree_head(s, settings)
    return db


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


# -- keys and tree heads ------------------------------------------------------------------------------


def test_signing_key_is_private_and_stable(settings):
    path = keys.ensure_signing_key(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = keys.key_id(keys.public_key(settings))
    assert keys.ensure_signing_key(settings) == path
    assert keys.key_id(keys.public_key(settings)) == first


def test_tree_head_is_signed_over_size_time_and_root(db, settings):
    _fill(db, 5)
    with db.transaction() as s:
        head = sth.issue_tree_head(s, settings)
        assert head.tree_size == 5 and head.root_hash == log.root_hash(s, 5)
    signed = sth.SignedHead.of(head)
    pub = keys.public_key(settings)
    assert signed.valid_under(pub)
    assert signed.key_id == keys.key_id(pub)
    msg = sth.signed_message(5, head.timestamp_ms, head.root_hash)
    assert msg[:2] == b"\x00\x01" and len(msg) == 2 + 8 + 8 + 32
    forged = sth.SignedHead(6, head.root_hash, head.timestamp_ms, head.signature, head.key_id)
    assert not forged.valid_under(pub)


def test_issue_if_due_only_when_grown_or_stale(db, settings):
    with db.transaction() as s:
        assert sth.issue_if_due(s, settings) is not None  # first ever
        assert sth.issue_if_due(s, settings) is None  # nothing new, not stale
    _fill(db, 1)
    with db.transaction() as s:
        assert sth.issue_if_due(s, settings).tree_size == 1
    settings.ledger.sth_interval_s = 0
    with db.transaction() as s:
        assert sth.issue_if_due(s, settings) is not None


# -- verification -----------------------------------------------------------------------------------


def test_untouched_log_verifies(ledger, settings):
    _fill(ledger, 3, N)  # entries after the last tree head are fine too
    report = _verify(ledger, settings)
    assert report.ok, report.problems
    assert report.entries == N + 3 and report.tree_heads == 2
    assert report.nodes_checked == (N + 3) - bin(N + 3).count("1")


def test_empty_log_verifies(db, settings):
    assert _verify(db, settings).ok


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
        prev["created_at"] if not isinstance(prev["created_at"], str) else log.utcnow(),
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


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_tampering_is_found_at_the_first_bad_seq(ledger, settings, tamper):
    change, first_bad = TAMPERS[tamper]
    change(ledger)
    report = _verify(ledger, settings)
    assert not report.ok
    assert report.first_bad_seq == first_bad, report.problems


def test_a_forged_tree_head_is_found(ledger, settings):
    _sql(ledger, "UPDATE ledger_tree_heads SET tree_size = 7 WHERE tree_size = 8")
    report = _verify(ledger, settings)
    assert not report.ok
    assert [p.kind for p in report.problems] == ["tree_head"]
    assert "签名无效" in report.problems[0].message


def test_a_tree_head_signed_by_another_key_is_found(ledger, settings, tmp_path):
    other = settings.model_copy(deep=True)
    other.ledger.signing_key_path = tmp_path / "other.pem"
    with ledger.transaction() as s:
        sth.issue_tree_head(s, other)
    report = _verify(ledger, settings)
    assert [p.kind for p in report.problems] == ["tree_head"]


def test_a_rewritten_log_with_rewritten_subtrees_fails_its_tree_head(ledger, settings):
    """Even when every stored hash is recomputed to match, the signed root catches the change."""
    _edit_and_rehash(ledger)
    with ledger.session() as s:
        leaves = [
            bytes(h) for h in s.execute(text("SELECT leaf_hash FROM ledger_entries ORDER BY seq")).scalars()
        ]
    _sql(ledger, "DELETE FROM ledger_nodes")
    with ledger.engine.begin() as c:
        for size in range(1, N + 1):
            for level, idx, h in log.completed_nodes(size, leaves[size - 1], _known(leaves, size)):
                c.execute(
                    text("INSERT INTO ledger_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                    {"l": level, "i": idx, "h": h},
                )
    report = _verify(ledger, settings)
    kinds = {p.kind for p in report.problems}
    assert "tree_head" in kinds and "node" not in kinds


def _known(leaves, size):
    return {(lv, i): merkle.root_of(leaves[i << lv : (i + 1) << lv]) for lv, i in log.left_siblings(size)}


def test_a_tampered_subtree_hash_is_found(ledger, settings):
    _sql(ledger, "UPDATE ledger_nodes SET hash = :h WHERE level = 2 AND idx = 1", h=bytes(32))
    report = _verify(ledger, settings)
    assert [p.kind for p in report.problems] == ["node"]
    assert report.first_bad_seq == 4
