"""A forked log: history rewritten below a signed tree head and signed again with the same key, so
that both heads verify on their own but do not extend one another. Verify must name the fork."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from tests.ledger import events as ev
from tests.ledger.ledger_tamper import _fill, _sql, _verify
from typer.testing import CliRunner

from shuzhi.cli import app
from shuzhi.ledger import append, keys, log, merkle, sth
from shuzhi.ledger.models import TreeHead
from shuzhi.ledger.verify import verify_ledger

KEPT = 3  # entries below this are never rewritten (a tree head at this size still holds)
SIGNED = 8  # the tree head that the fork contradicts


def _rewrite_from(db, seq: int, n: int) -> None:
    """Replace every entry from `seq` on by `n` different ones, through the real append path, so
    that entries, chain and stored subtree hashes all agree with the new history."""
    _sql(db, "DELETE FROM ledger_entries WHERE seq >= :s", s=seq)
    with db.engine.begin() as c:
        nodes = c.execute(text("SELECT level, idx FROM ledger_nodes")).all()
        for level, idx in nodes:
            if (idx + 1) << level > seq:  # the subtree covers a rewritten leaf
                c.execute(
                    text("DELETE FROM ledger_nodes WHERE level = :l AND idx = :i"), {"l": level, "i": idx}
                )
    with db.transaction() as s:
        for i in range(n):
            append(s, ev.Read(forged=i), user_id=999, department_id=1, dataset_id=None)


def _sign(db, settings) -> TreeHead:
    with db.transaction() as s:
        head = sth.issue_tree_head(s, settings)
        s.expunge(head)
        return head


@pytest.fixture
def forked(db, settings):
    """Heads #1 (size 3) and #2 (size 8) over the original log; entries 3.. rewritten; #3 (size 12)
    signed over the new history with the same key. Returns the JSON of #2 as a client kept it."""
    _fill(db, KEPT)
    _sign(db, settings)
    _fill(db, SIGNED - KEPT, KEPT)
    old = sth.SignedHead.of(_sign(db, settings)).to_dict()
    _rewrite_from(db, KEPT, 9)
    _sign(db, settings)
    return old


def _fork_problems(report):
    return [p for p in report.problems if p.kind == "fork"]


def test_both_heads_are_validly_signed_but_inconsistent(db, settings, forked):
    """The premise: each head verifies on its own; only the consistency proof between them fails."""
    pub = keys.public_key(settings)
    with db.session() as s:
        old, new = sth.head_of_size(s, SIGNED), sth.head_of_size(s, 12)
        assert sth.SignedHead.of(old).valid_under(pub) and sth.SignedHead.of(new).valid_under(pub)
        assert new.root_hash == log.root_hash(s, 12)
        proof = log.consistency_proof(s, SIGNED, 12)
    assert not merkle.verify_consistency(SIGNED, 12, old.root_hash, new.root_hash, proof)


def test_verify_names_the_fork(db, settings, forked):
    report = _verify(db, settings)
    assert not report.ok
    # nothing row-level is wrong: the rewrite is self-consistent
    assert {p.kind for p in report.problems} == {"tree_head", "fork"}
    (fork,) = _fork_problems(report)
    assert fork.tree_head_id == 2
    for name in ("tree head #2 (size 8)", "tree head #3 (size 12)", "both validly signed", "fork"):
        assert name in fork.message, fork.message
    assert "分叉" in fork.message
    assert fork.seq == KEPT  # head #1 still holds, so the rewrite starts at or after seq 3
    assert report.first_bad_seq == KEPT


def test_a_fork_re_signed_at_the_same_size_is_named(db, settings):
    """The forger re-signs a head of the very size already signed: two roots for one size."""
    _fill(db, SIGNED)
    _sign(db, settings)
    _rewrite_from(db, KEPT, SIGNED - KEPT)
    _sign(db, settings)
    report = _verify(db, settings)
    (fork,) = _fork_problems(report)
    assert "tree head #1 (size 8)" in fork.message and "tree head #2 (size 8)" in fork.message
    assert report.first_bad_seq == 0


def test_a_kept_head_exposes_a_fork_whose_stored_head_was_deleted(db, settings, forked):
    """The forger also deletes the contradicted head from the store: the store alone verifies,
    but a head kept by a client shows the fork."""
    _sql(db, "DELETE FROM ledger_tree_heads WHERE tree_size = :n", n=SIGNED)
    assert _verify(db, settings).ok  # undetectable from the store alone
    with db.session() as s:
        report = verify_ledger(s, keys.public_key(settings), trusted=[sth.SignedHead.from_dict(forked)])
    (fork,) = _fork_problems(report)
    assert "kept tree head 1 (size 8)" in fork.message and "tree head #3 (size 12)" in fork.message
    assert report.first_bad_seq == KEPT  # stored head #1 (size 3, signed earlier) still holds


# -- the command ---------------------------------------------------------------------------------------


@pytest.fixture
def env(cli_env):
    return cli_env


def _run(*args):
    result = CliRunner().invoke(app, ["audit", *args])
    return result, " ".join(result.output.split())  # the console wraps long lines


def test_cli_verify_reports_the_fork(forked, env):
    result, out = _run("verify")
    assert result.exit_code == 1
    assert f"first bad seq = {KEPT}" in out
    assert "[fork]" in out and "tree head #2 (size 8)" in out
    report = json.loads(_run("verify", "--json")[0].output)
    assert report["ok"] is False and report["first_bad_seq"] == KEPT
    forks = [p for p in report["problems"] if p["kind"] == "fork"]
    assert len(forks) == 1 and "tree head #3 (size 12)" in forks[0]["message"]


def test_cli_verify_against_a_kept_head_reports_the_fork(db, forked, env, tmp_path):
    _sql(db, "DELETE FROM ledger_tree_heads WHERE tree_size = :n", n=SIGNED)
    assert _run("verify")[0].exit_code == 0
    kept = tmp_path / "sth.json"
    kept.write_text(json.dumps(forked))
    result, out = _run("verify", "--against", str(kept))
    assert result.exit_code == 1
    assert "[fork]" in out and "kept tree head 1 (size 8)" in out
