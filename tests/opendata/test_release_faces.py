"""Releases through the API (/api/v1/opendata/…) and the command line (`shuzhi opendata …`)."""

from __future__ import annotations

import io
import json

import pyarrow.parquet as pq
import pytest
from tests.opendata.conftest import plan
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app

runner = CliRunner()


def test_api_prepare_approve_download_withdraw(world, client, token_for):
    steward, steward2 = token_for("ga_steward"), token_for("ga_steward2")
    r = client.post(
        "/api/v1/opendata/releases", json={"dataset": "population", "plan": plan()}, headers=steward
    )
    assert r.status_code == 201, r.text
    rid, report = r.json()["id"], r.json()["report"]
    assert r.json()["state"] == "pending" and report["k"] >= 5 and "ncp" in report
    same = client.post(f"/api/v1/opendata/releases/{rid}/approve", headers=steward)
    assert same.status_code == 403 and "prepared" in same.json()["message"]
    assert client.get(f"/api/v1/opendata/published/{rid}/table", headers=steward).status_code == 404
    ok = client.post(f"/api/v1/opendata/releases/{rid}/approve", headers=steward2)
    assert ok.status_code == 200 and ok.json()["state"] == "published"
    listed = client.get("/api/v1/opendata/published", headers=token_for("ga_analyst")).json()
    assert listed["total"] == 1 and listed["releases"][0]["dataset"] == "population"
    got = client.get(f"/api/v1/opendata/published/{rid}/table", headers=token_for("ga_analyst"))
    assert got.status_code == 200
    table = pq.read_table(io.BytesIO(got.content))
    assert table.num_rows == ok.json()["row_count"] and "id_number" not in table.column_names
    no_reason = client.post(f"/api/v1/opendata/releases/{rid}/withdraw", headers=steward)
    assert no_reason.status_code == 422
    gone = client.post(f"/api/v1/opendata/releases/{rid}/withdraw", json={"reason": "复核"}, headers=steward)
    assert gone.json()["state"] == "withdrawn"
    assert client.get(f"/api/v1/opendata/published/{rid}/table", headers=steward).status_code == 404
    assert client.get("/api/v1/opendata/published", headers=steward).json()["total"] == 0


def test_api_refusals_say_why(world, client, token_for):
    steward = token_for("ga_steward")
    kept = plan(fields={"name": {"action": "keep"}})
    r = client.post(
        "/api/v1/opendata/releases", json={"dataset": "population", "plan": kept}, headers=steward
    )
    assert r.status_code == 403 and r.json()["where"] == "plan.fields.name"
    r = client.post(
        "/api/v1/opendata/releases", json={"dataset": "secret_registry", "plan": plan()}, headers=steward
    )
    assert r.status_code == 403
    bad = plan(fields={"gender": {"action": "shuffle"}})
    r = client.post("/api/v1/opendata/releases", json={"dataset": "population", "plan": bad}, headers=steward)
    assert r.status_code == 422 and r.json()["where"].startswith("plan.fields.gender")


@pytest.fixture
def cli(world, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")

    def run(*args: str):
        result = runner.invoke(cli_app, ["opendata", *args])
        return result.exit_code, result.output

    return run


def test_cli_prepare_with_a_plan_file_then_approve_and_reuse(world, cli, tmp_path):
    written = plan()
    written["fields"]["gender"]["hierarchy"] = {"kind": "table", "file": "gender.csv"}
    (tmp_path / "gender.csv").write_text("M;*\nF;*\n", encoding="utf-8")
    (tmp_path / "plan.json").write_text(json.dumps(written), encoding="utf-8")
    code, out = cli("prepare", "population", "--plan", str(tmp_path / "plan.json"), "--as", "ga_steward")
    assert code == 0 and "release #1 pending" in out, out
    code, out = cli("approve", "1", "--as", "ga_steward")
    assert code == 2 and "错误 (error):" in out and "Traceback" not in out
    code, out = cli("approve", "1", "--as", "ga_steward2")
    assert code == 0 and "published" in out, out
    code, out = cli("releases", "--state", "published")
    assert code == 0 and "population" in out
    code, out = cli("show", "1")
    assert code == 0 and json.loads(out)["report"]["k"] >= 5
    code, out = cli("prepare", "population", "--reuse-plan", "--as", "ga_steward")
    assert code == 2 and "already has release" in out  # version 1 is published; a new version needs one
    code, out = cli("withdraw", "1", "--reason", "复核", "--as", "ga_steward")
    assert code == 0 and "withdrawn" in out
