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
    for cmd in ["init", "serve", "demo", "ingest", "dataset list", "dataset show", "dept add", "dept list",
                "user add", "user list", "token create", "token revoke"]:
        assert cmd in paths


def test_orgs_and_tokens(env):
    assert runner.invoke(app, ["init"]).exit_code == 0
    r = runner.invoke(app, ["dept", "add", "GA", "市公安局", "--en", "Public Security", "--region", "320500"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["user", "add", "li.na", "--dept", "GA", "--role", "steward", "--role", "analyst"],
                      env={"SHUZHI_NEW_USER_PASSWORD": "a-long-password"})
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
