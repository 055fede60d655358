"""Signed tree heads and full verification, including every kind of tampering, on each backend."""

from __future__ import annotations

import stat

import pytest
from sqlalchemy import text
from tests.ledger.ledger_tamper import TAMPERS, N, _edit_and_rehash, _fill, _sql, _verify

from shuzhi.ledger import keys, log, merkle, sth

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
