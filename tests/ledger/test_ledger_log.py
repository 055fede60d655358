"""The append path and the stored tree: sequence, canonical form, roots and proofs from stored hashes."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import func, select
from tests.ledger import events as ev
from tests.ledger import ledger_naive as naive

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.ledger import LedgerEntry, LedgerNode, append, log, merkle


def _fill(db, n: int, start: int = 0) -> None:
    with db.transaction() as s:
        for i in range(start, start + n):
            append(s, ev.Read(i=i), user_id=i % 5, department_id=i % 3, dataset_id=i)


def _leaves(db) -> list[bytes]:
    with db.session() as s:
        return list(s.scalars(select(LedgerEntry.leaf_hash).order_by(LedgerEntry.seq)))


def test_append_writes_a_canonical_entry(db):
    with db.transaction() as s:
        e = append(s, ev.Read(列="身份证号", b=[1, 2], a=None), user_id=7, dataset_id=3)
    assert e.seq == 0
    doc = json.loads(e.entry)
    assert e.entry == json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert "身份证号" in e.entry  # UTF-8, not \u escapes
    assert doc["event"] == "test.read" and doc["user_id"] == 7 and doc["dataset_id"] == 3
    assert doc["seq"] == 0 and doc["prev"] is None and doc["outcome"] == "ok"
    assert e.leaf_hash == merkle.leaf_hash(e.entry.encode("utf-8"))
    with db.transaction() as s:
        e2 = append(s, ev.Login(), user_id=7)
    assert e2.seq == 1 and json.loads(e2.entry)["prev"] == e.leaf_hash.hex()


def test_append_rejects_bad_input(db):
    with db.transaction() as s:
        with pytest.raises(InvalidInput):
            append(s, ev.Read(), outcome="maybe")
        with pytest.raises(TypeError, match="declared event"):
            append(s, "test.read")  # a bare name is not an event
        with pytest.raises(TypeError):
            append(s, ev.Read(x=1))  # a field the event does not declare
        with pytest.raises(TypeError):
            append(s, ev.Read(i=object()))


def test_append_does_not_commit(db):
    s = db.session()
    append(s, ev.Login(), user_id=1)
    s.rollback()
    s.close()
    with db.session() as s:
        assert log.tree_size(s) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 9, 33])
def test_stored_root_and_proofs_match_naive(db, n):
    _fill(db, n)
    leaves = _leaves(db)
    with db.session() as s:
        assert log.tree_size(s) == n
        for size in range(1, n + 1):
            assert log.root_hash(s, size) == naive.mth(leaves[:size])
        nodes = s.scalar(select(func.count()).select_from(LedgerNode))
        assert nodes == n - bin(n).count("1")  # every completed perfect subtree above the leaves, once
        for i in range(n):
            proof = log.inclusion_proof(s, i, n)
            assert proof == naive.path(i, leaves)
            assert merkle.verify_inclusion(i, n, leaves[i], proof, naive.mth(leaves))
        for m in range(1, n + 1):
            proof = log.consistency_proof(s, m, n)
            assert proof == naive.proof(m, leaves)
            assert merkle.verify_consistency(m, n, naive.mth(leaves[:m]), naive.mth(leaves), proof)


def test_appends_across_transactions_build_the_same_tree(db):
    for start in range(0, 12, 3):
        _fill(db, 3, start)
    leaves = _leaves(db)
    with db.session() as s:
        assert log.root_hash(s) == naive.mth(leaves)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_sizes_stored_proofs_equal_naive(sqlite_db, data):
    # The log only grows across examples; each example looks at a prefix of it, so what is
    # drawn never depends on what earlier examples left behind.
    size = data.draw(st.integers(1, 80), label="size")
    index = data.draw(st.integers(0, size - 1), label="index")
    first = data.draw(st.integers(1, size), label="first")
    with sqlite_db.session() as s:
        have = log.tree_size(s)
    if have < size:
        _fill(sqlite_db, size - have, have)
    leaves = _leaves(sqlite_db)[:size]
    with sqlite_db.session() as s:
        root = log.root_hash(s, size)
        assert root == naive.mth(leaves)
        proof = log.inclusion_proof(s, index, size)
        assert proof == naive.path(index, leaves)
        assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
        cproof = log.consistency_proof(s, first, size)
        assert cproof == naive.proof(first, leaves)
        assert merkle.verify_consistency(first, size, log.root_hash(s, first), root, cproof)


def test_proof_requests_out_of_range(db):
    _fill(db, 4)
    with db.session() as s:
        with pytest.raises(NotFound):  # the log has not reached that size: no such tree
            log.root_hash(s, 5)
        with pytest.raises(NotFound):
            log.inclusion_proof(s, 4, 4)
        with pytest.raises(NotFound):  # no tree is a prefix of a smaller one
            log.consistency_proof(s, 3, 2)
        with pytest.raises(InvalidInput):
            log.consistency_proof(s, -1, 2)


@pytest.mark.parametrize(("before", "many"), [(0, 1), (0, 37), (5, 1), (7, 20), (8, 9)])
def test_bulk_append_builds_the_same_tree(db, before, many):
    from shuzhi.ledger.bulk import append_many

    _fill(db, before)
    with db.transaction() as s:
        n = append_many(s, ({"event": ev.Read(i=i), "user_id": i} for i in range(many)))
    assert n == many
    _fill(db, 3, before + many)  # and single appends carry on from it
    leaves = _leaves(db)
    with db.session() as s:
        size = log.tree_size(s)
        assert size == before + many + 3
        assert log.root_hash(s) == naive.mth(leaves)
        for i in range(size):
            assert log.inclusion_proof(s, i, size) == naive.path(i, leaves)
        assert s.scalar(select(func.count()).select_from(LedgerNode)) == size - bin(size).count("1")


def test_proofs_read_a_few_statements_and_log_n_rows(db):
    """Proofs come from stored subtree hashes: a constant number of queries returning O(log n) rows,
    however large the log (here 1,000 entries; a walk over the leaves would read them all)."""
    from sqlalchemy import event

    from shuzhi.ledger.bulk import append_many

    with db.transaction() as s:
        append_many(s, ({"event": ev.Read(), "dataset_id": i} for i in range(1000)))
    statements = []
    with db.session() as s:
        conn = s.connection()
        event.listen(conn, "before_cursor_execute", lambda *a: statements.append(a[2]))
        for seq in (0, 1, 511, 512, 998, 999):
            statements.clear()
            proof = log.inclusion_proof(s, seq, 1000)
            assert len(statements) == 1 and len(proof) <= 10
        statements.clear()
        assert len(log.consistency_proof(s, 333, 1000)) <= 2 * 10
        assert len(statements) == 1
