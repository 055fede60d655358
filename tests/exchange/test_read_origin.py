"""Every governed read and refusal keeps the consumer's query text beside its hash, and says how the
reader came in: a Bearer token (api), a login session (web), or the command line (cli, with the
operating-system account)."""

from __future__ import annotations

import getpass
import hashlib
import json

import pytest
from sqlalchemy import select
from tests.conftest import csrf_of, login
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app
from shuzhi.exchange import service
from shuzhi.ledger.models import LedgerEntry

SQL = "SELECT gender, COUNT(*) AS n FROM population GROUP BY gender"
REFUSED = "SELECT religion FROM population"


def _last(world, event: str) -> dict:
    with world.db.read() as s:
        entry = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq.desc())
        ).first()
        return json.loads(entry.entry)["detail"]


def _check(detail: dict, sql: str, face: str, os_user: str | None = None) -> None:
    assert detail["query"] == sql and detail["query_sha256"] == hashlib.sha256(sql.encode()).hexdigest()
    assert detail["face"] == face
    assert detail.get("os_user") == os_user


def test_api_reads_and_refusals_name_the_api(world, granted, client, token_for):
    headers = token_for("rs_analyst")
    assert client.post("/api/v1/exchange/sql", json={"sql": SQL}, headers=headers).status_code == 200
    _check(_last(world, "data.read"), SQL, "api")
    assert client.post("/api/v1/exchange/sql", json={"sql": REFUSED}, headers=headers).status_code == 403
    _check(_last(world, "data.denied"), REFUSED, "api")


def test_workbench_reads_name_the_web(world, granted, client):
    login(client, "rs_analyst", next="/exchange/workbench")
    token = csrf_of(client.get("/exchange/workbench").text)
    page = client.post("/exchange/workbench", data={"csrf_token": token, "sql": SQL})
    assert page.status_code == 200
    # The page read one page of it: the query that ran is the consumer's text with its page added.
    ran = _last(world, "data.read")
    assert ran["query"].startswith(SQL + "\n/* workbench page */ ORDER BY 1, 2 LIMIT 101 OFFSET 0")
    _check(ran, ran["query"], "web")
    page = client.post("/exchange/workbench", data={"csrf_token": token, "sql": REFUSED})
    assert page.status_code == 403
    _check(
        _last(world, "data.denied"), REFUSED + "\n/* workbench page */ ORDER BY 1 LIMIT 101 OFFSET 0", "web"
    )


def test_cli_reads_and_refusals_name_the_command_line_and_its_account(world, granted, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    ok = CliRunner().invoke(cli_app, ["exchange", "sql", SQL, "--as", "rs_analyst"])
    assert ok.exit_code == 0, ok.output
    _check(_last(world, "data.read"), SQL, "cli", getpass.getuser())
    refused = CliRunner().invoke(cli_app, ["exchange", "sql", REFUSED, "--as", "rs_analyst"])
    assert refused.exit_code != 0
    _check(_last(world, "data.denied"), REFUSED, "cli", getpass.getuser())


def test_a_query_past_the_length_limit_is_kept_up_to_it_and_hashed_whole(world, granted):
    world.settings.exchange.query_max_chars = 200
    long_sql = "SELECT gender FROM population WHERE " + " OR ".join(["gender = 'F'"] * 40)
    with pytest.raises(Exception):  # noqa: B017 - refused for its length, whatever the class
        service.run_sql(world.db, world.settings, world.rs_analyst, long_sql)
    detail = _last(world, "data.denied")
    assert detail["query"] == long_sql[:200]
    assert detail["query_sha256"] == hashlib.sha256(long_sql.encode()).hexdigest()
    assert "face" not in detail  # a principal built in code came in no particular way
