"""`shuzhi audit …`: verify exits non-zero naming the first bad seq; prove, sth, export, public-key."""

from __future__ import annotations

import json

import pytest
from tests.ledger.ledger_tamper import TAMPERS, _fill, _sql
from typer.testing import CliRunner

from shuzhi.cli import app
from shuzhi.ledger import keys, merkle, proofs

runner = CliRunner()


@pytest.fixture
def env(cli_env):
    return cli_env


def _run(*args):
    return runner.invoke(app, ["audit", *args])


def test_verify_intact(ledger, env):
    result = _run("verify")
    assert result.exit_code == 0, result.output
    assert "ledger intact" in result.output


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_verify_names_first_bad_seq(ledger, env, tamper):
    change, first_bad = TAMPERS[tamper]
    change(ledger)
    result = _run("verify")
    assert result.exit_code == 1
    assert f"first bad seq = {first_bad}" in result.output
    report = json.loads(_run("verify", "--json").output)
    assert report["ok"] is False and report["first_bad_seq"] == first_bad


def test_verify_names_a_forged_tree_head(ledger, env):

    _sql(ledger, "UPDATE ledger_tree_heads SET timestamp_ms = timestamp_ms + 1 WHERE tree_size = 8")
    result = _run("verify")
    assert result.exit_code == 1
    assert "tree head #1" in result.output and "signature is not valid" in result.output


def test_verify_with_another_public_key_fails(ledger, env, tmp_path):
    other = env.model_copy(deep=True)
    other.ledger.signing_key_path = tmp_path / "other.pem"
    pem = tmp_path / "other.pub.pem"
    pem.write_text(keys.public_pem(keys.public_key(other)))
    assert _run("verify", "--public-key", str(pem)).exit_code == 1
    mine = tmp_path / "mine.pub.pem"
    mine.write_text(_run("public-key").output)
    assert _run("verify", "--public-key", str(mine)).exit_code == 0


def test_prove(ledger, env):
    result = _run("prove", "13", "--json")
    assert result.exit_code == 0, result.output
    bundle = json.loads(result.output)
    assert bundle["seq"] == 13 and bundle["tree_size"] == 20
    assert proofs.check_inclusion_bundle(bundle, keys.public_key(env)) == []
    older = json.loads(_run("prove", "3", "--tree-size", "8", "--json").output)
    assert older["tree_size"] == 8
    assert merkle.verify_inclusion(
        3,
        8,
        bytes.fromhex(older["leaf_hash"]),
        [bytes.fromhex(p) for p in older["inclusion_path"]],
        bytes.fromhex(older["sth"]["root_hash"]),
    )
    assert "inclusion proof verifies" in _run("prove", "0").output
    assert _run("prove", "999").exit_code == 2


def test_prove_issues_a_tree_head_for_a_new_entry(ledger, env):
    _fill(ledger, 1, 20)
    bundle = json.loads(_run("prove", "20", "--json").output)
    assert bundle["tree_size"] == 21


def test_sth_log_and_export(ledger, env, tmp_path):
    head = json.loads(_run("sth").output)
    assert head["tree_size"] == 20
    assert "test.read" in _run("log", "--dataset", "3").output
    out = tmp_path / "x.csv"
    assert _run("export", "-o", str(out), "--dataset", "3").exit_code == 0
    lines = out.read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == 2 and lines[0].startswith("seq,")


def test_documented_client_procedure_runs(ledger, env, tmp_path, monkeypatch):
    """The Python procedure in docs/ledger.md verifies a real proof, and rejects a forged entry."""
    import re
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "ledger.md").read_text(encoding="utf-8")
    code = re.search(r"```python\nimport hashlib.*?```", doc, re.S).group(0)[len("```python\n") : -3]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proof-42.json").write_text(_run("prove", "13", "--json").output)
    (tmp_path / "ledger.pub.pem").write_text(_run("public-key").output)
    exec(compile(code, "docs/ledger.md", "exec"), {})
    bundle = json.loads((tmp_path / "proof-42.json").read_text())
    bundle["entry"] = bundle["entry"].replace('"ok"', '"denied"')
    bundle["leaf_hash"] = merkle.leaf_hash(bundle["entry"].encode()).hex()
    (tmp_path / "proof-42.json").write_text(json.dumps(bundle))
    with pytest.raises(AssertionError):
        exec(compile(code, "docs/ledger.md", "exec"), {})


def test_a_kept_tree_head_catches_truncation_that_deleted_the_stored_heads(ledger, env, tmp_path):

    kept = tmp_path / "sth.json"
    kept.write_text(_run("sth").output)
    assert _run("verify", "--against", str(kept)).exit_code == 0
    _sql(ledger, "DELETE FROM ledger_entries WHERE seq >= 12")
    _sql(ledger, "DELETE FROM ledger_nodes WHERE (idx + 1) * (1 << level) > 12")
    _sql(ledger, "DELETE FROM ledger_tree_heads WHERE tree_size > 12")
    assert _run("verify").exit_code == 0  # the store alone looks whole
    result = _run("verify", "--against", str(kept))
    assert result.exit_code == 1 and "first bad seq = 12" in result.output


def test_verify_shows_a_progress_bar_over_its_phases(ledger, env, monkeypatch):
    import shuzhi.cli.audit as audit_cli
    import shuzhi.ledger.verify as verify_mod

    bars, phases = [], []
    real_bar, real_verify = audit_cli.progress_bar, verify_mod.verify_ledger

    def spy_bar(**kw):
        bars.append(real_bar(**kw))
        return bars[-1]

    def spy_verify(*args, progress=None, **kw):
        assert progress is not None, "verify_ledger was given no progress callback"
        return real_verify(*args, progress=lambda p: (phases.append(p), progress(p)), **kw)

    monkeypatch.setattr(audit_cli, "progress_bar", spy_bar)
    monkeypatch.setattr(verify_mod, "verify_ledger", spy_verify)
    assert _run("verify").exit_code == 0
    assert phases == ["entries", "tree", "tree heads", "state"]
    (task,) = bars[0].tasks
    assert task.total == 4 and task.finished
    # --json stays machine-readable: no bar at all
    bars.clear()
    assert json.loads(_run("verify", "--json").output)["ok"] is True and bars == []
