"""The command line of the base registries: register, build, status, show, and steward decisions."""

from __future__ import annotations

import json

import pytest
import yaml
from sqlalchemy import select
from tests.quality.conftest import world  # noqa: F401 (the fixture)
from tests.registry.test_service import load, members, settings_named, tables
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app
from shuzhi.ledger.models import LedgerEntry

runner = CliRunner()


@pytest.fixture
def cli(world, cli_env, monkeypatch):  # noqa: F811
    monkeypatch.setenv("COLUMNS", "400")

    def run(*args: str):
        result = runner.invoke(cli_app, ["registry", *args])
        return result.exit_code, result.output

    return run


def test_the_command_line_registers_builds_shows_and_takes_decisions(world, cli, tmp_path):  # noqa: F811
    rows, _ = tables(40, seed=5)
    load(world, rows)
    file = tmp_path / "people.yaml"
    file.write_text(yaml.safe_dump(settings_named("people"), allow_unicode=True), encoding="utf-8")
    code, out = cli("register", str(file))
    assert code == 0 and "people" in out, out
    code, out = cli("build", "people")
    assert code == 0, out
    m = members(world)
    assert f"run #1 (full, succeeded): {len(m)} records, {len(set(m.values()))} entries" in out
    assert "psb" in out and str(len(rows["psb"])) in out
    code, out = cli("build", "people", "--incremental")
    assert code == 0 and "(incremental, succeeded)" in out, out
    code, out = cli("status", "people", "--json")
    status = json.loads(out)
    assert [r["mode"] for r in status["runs"]] == ["incremental", "full"]
    entry = next(e for e in sorted(set(m.values())) if sum(1 for x in m.values() if x == e) > 1)
    keys = sorted(k for k, e in m.items() if e == entry)
    code, out = cli("show", "people", entry)
    assert code == 0 and all(k in out for k in keys), out
    code, out = cli("show", "people", entry, "--as", "sc_analyst")  # no record of theirs in it
    assert code != 0 and "no entry" in out and keys[0] not in out, out  # refused as an unknown entry is
    with world.db.read() as s:
        reads = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "registry.entry_read")).all()
    assert [json.loads(e.entry)["detail"]["entry"] for e in reads] == [entry]  # the read shown, in the ledger
    code, out = cli("split", "people", entry, keys[-1], "--reason", "同名不同人")
    assert code == 0 and "split" in out, out
    code, out = cli("resolve", "people", entry, "name", "王伟", "--reason", "核实", "--as", "sc_analyst")
    assert code == 2 and "steward" in out, out  # an analyst of a department with no record in it
    code, out = cli("build", "people")
    assert code == 0, out
    assert members(world)[keys[-1]] != entry and members(world)[keys[0]] == entry
    code, out = cli("show", "people", entry, "--json")
    assert json.loads(out)["decisions"][0]["kind"] == "split"


def test_the_command_line_refuses_a_bad_settings_file_and_a_non_admin(world, cli, tmp_path):  # noqa: F811
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**settings_named("people"), "kind": "robot"}), encoding="utf-8")
    code, out = cli("register", str(bad))
    assert code == 2 and "kind" in out
    good = tmp_path / "people.yaml"
    good.write_text(yaml.safe_dump(settings_named("people"), allow_unicode=True), encoding="utf-8")
    code, out = cli("register", str(good), "--as", "ga_steward")
    assert code == 2
    code, out = cli("status", "people")
    assert code == 2  # nothing was registered


def test_a_build_publishes_the_golden_table_and_publish_does_it_on_demand(world, cli, tmp_path):  # noqa: F811
    rows, _ = tables(30, seed=7)
    load(world, rows)
    file = tmp_path / "people.yaml"
    raw = settings_named("people")
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cli("register", str(file))[0] == 0  # by the operator: no department to publish under
    code, out = cli("build", "people")
    assert code == 0 and "not published" in out and "registry-people" not in out.split("not published")[0], (
        out
    )
    raw |= {"department": "NOPE"}
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    code, out = cli("register", str(file))
    assert code != 0 and "NOPE" in out, out  # a department that does not exist is named
    raw |= {"department": "GA", "title_zh": "人口库"}
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cli("register", str(file))[0] == 0
    code, out = cli("build", "people", "--incremental")
    assert code == 0 and "published" in out and "registry-people v1" in out and "not published" not in out, (
        out
    )
    code, out = cli("publish", "people")
    assert code == 0 and "unchanged" in out and "registry-people v1" in out, out
    code, out = cli("publish", "people", "--as", "sc_analyst")
    assert code != 0, out  # admins only
    raw |= {"publish": False}
    file.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert cli("register", str(file))[0] == 0
    code, out = cli("build", "people")
    assert code == 0 and "publish" not in out, out
