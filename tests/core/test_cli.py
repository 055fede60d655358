"""The shuzhi command: help everywhere, and the org/catalog commands against a real store."""

import pytest
from typer.testing import CliRunner

from shuzhi.cli import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SHUZHI_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _commands(group, prefix=()):
    import typer.main

    click_group = typer.main.get_command(group)

    def walk(cmd, path):
        yield path
        for name, sub in getattr(cmd, "commands", {}).items():
            yield from walk(sub, path + (name,))

    return list(walk(click_group, prefix))


def test_every_command_has_help_with_an_example():
    for path in _commands(app):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, path
        if path:
            assert "Example" in result.output, f"`shuzhi {' '.join(path)} --help` shows no example"


def test_required_commands_exist():
    paths = {" ".join(p) for p in _commands(app)}
    for cmd in [
        "init",
        "serve",
        "demo",
        "ingest",
        "dataset list",
        "dataset show",
        "dept add",
        "dept list",
        "user add",
        "user list",
        "token create",
        "token revoke",
    ]:
        assert cmd in paths


def test_orgs_and_tokens(env):
    assert runner.invoke(app, ["init"]).exit_code == 0
    r = runner.invoke(app, ["dept", "add", "GA", "市公安局", "--en", "Public Security", "--region", "320500"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        ["user", "add", "li.na", "--dept", "GA", "--role", "steward", "--role", "analyst"],
        env={"SHUZHI_NEW_USER_PASSWORD": "a-long-password"},
    )
    assert r.exit_code == 0, r.output
    assert "li.na" in runner.invoke(app, ["user", "list"]).output
    r = runner.invoke(app, ["token", "create", "li.na", "--days", "5"])
    assert r.exit_code == 0 and "szt_" in r.output
    r = runner.invoke(app, ["token", "revoke", "1"])
    assert r.exit_code == 0 and "revoked" in r.output


def test_errors_are_one_clear_line_and_exit_2(env):
    runner.invoke(app, ["init"])
    r = runner.invoke(app, ["dept", "add", "GA", "市公安局", "--parent", "NOPE"])
    assert r.exit_code == 2 and "NOPE" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["dataset", "show", "NO-SUCH"])
    assert r.exit_code == 2 and "NO-SUCH" in r.output


def test_init_creates_the_ledger_key_readable_only_by_its_owner(env):
    from shuzhi.config import load_settings
    from shuzhi.ledger.keys import key_path

    r = runner.invoke(app, ["init"])
    assert r.exit_code == 0, r.output
    path = key_path(load_settings())
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600


def test_user_roles_changes_roles_and_audits_it(env):
    from shuzhi.config import load_settings
    from shuzhi.ledger import LedgerEntry
    from shuzhi.store.db import Database

    runner.invoke(app, ["init"])
    runner.invoke(app, ["dept", "add", "GA", "市公安局"])
    runner.invoke(
        app,
        ["user", "add", "li.na", "--dept", "GA", "--role", "analyst"],
        env={"SHUZHI_NEW_USER_PASSWORD": "a-long-password"},
    )
    r = runner.invoke(app, ["user", "roles", "li.na", "--role", "steward", "--role", "auditor"])
    assert r.exit_code == 0 and "auditor, steward" in r.output, r.output
    assert "auditor, steward" in runner.invoke(app, ["user", "list"]).output
    db = Database(load_settings().db_url)
    with db.session() as s:
        entry = s.query(LedgerEntry).filter_by(event="user.updated").one()
        assert '"roles_before":["analyst"]' in entry.entry
    db.dispose()
    r = runner.invoke(app, ["user", "roles", "li.na", "--role", "king"])
    assert r.exit_code == 2 and "king" in r.output


def test_dept_and_dataset_list_show_what_was_added(env):
    runner.invoke(app, ["init"])
    runner.invoke(app, ["dept", "add", "SCJG", "市市场监督管理局", "--en", "Market Regulation"])
    csv = env / "firms.csv"
    csv.write_text("tyshxydm,qymc\n91320500MA1X0000X0,苏州某某科技有限公司\n", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "ingest",
            str(csv),
            "--dataset",
            "SCJG-QY-001",
            "--create",
            "--dept",
            "SCJG",
            "--theme",
            "market",
            "--title",
            "企业登记信息",
        ],
    )
    assert r.exit_code == 0, r.output
    depts = runner.invoke(app, ["dept", "list"])
    assert depts.exit_code == 0 and "SCJG" in depts.output and "市市场监督管理局" in depts.output
    datasets = runner.invoke(app, ["dataset", "list"])
    assert datasets.exit_code == 0 and "SCJG-QY-001" in datasets.output and "企业登记信息" in datasets.output


@pytest.mark.slow
def test_demo_builds_a_small_city_and_prints_the_logins(env):
    r = runner.invoke(app, ["demo", "--scale", "0.01", "--no-serve"])
    assert r.exit_code == 0, r.output
    assert "demo logins" in r.output and "username" in r.output and "password" in r.output
    assert "steward" in r.output and "auditor" in r.output
