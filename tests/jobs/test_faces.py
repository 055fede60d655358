"""Job state through the API (admins only) and the CLI (a list, and a run followed to its end)."""

from __future__ import annotations

import json
import threading
import time

import pytest
from tests.jobs.conftest import wait_for
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app


@pytest.fixture
def finished_run(db, make_runner) -> int:
    job_id = make_runner().submit("sample.departments", {"n": 2, "tag": "API"})
    wait_for(db, job_id)
    return job_id


def test_admins_see_runs_and_their_state(client, make_user, token_for, finished_run):
    make_user("jobadmin", roles=("admin",))
    admin = token_for("jobadmin")
    body = client.get("/api/v1/jobs", headers=admin).json()
    mine = [j for j in body["jobs"] if j["id"] == finished_run]
    assert mine and mine[0]["state"] == "done" and mine[0]["progress"] == 1.0
    one = client.get(f"/api/v1/jobs/{finished_run}", headers=admin)
    assert one.status_code == 200
    assert (one.json()["name"], one.json()["note"], one.json()["attempts"]) == (
        "sample.departments",
        "2 of 2",
        1,
    )
    filtered = client.get("/api/v1/jobs", params={"state": "failed"}, headers=admin).json()
    assert all(j["state"] == "failed" for j in filtered["jobs"])


def test_others_are_refused_and_bad_ids_are_told(client, make_user, token_for, finished_run):
    make_user("jobadmin", roles=("admin",))
    make_user("jobanalyst", roles=("analyst",))
    make_user("jobauditor", roles=("auditor",))
    for user in ("jobanalyst", "jobauditor"):
        headers = token_for(user)
        assert client.get("/api/v1/jobs", headers=headers).status_code == 403
        assert client.get(f"/api/v1/jobs/{finished_run}", headers=headers).status_code == 403
    assert client.get("/api/v1/jobs").status_code == 401
    admin = token_for("jobadmin")
    missing = client.get("/api/v1/jobs/987654", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert client.get("/api/v1/jobs/abc", headers=admin).status_code == 422
    assert client.get("/api/v1/jobs/-1", headers=admin).status_code == 422
    assert client.get("/api/v1/jobs", params={"state": "sleeping"}, headers=admin).status_code == 422


def test_the_cli_lists_runs_and_follows_one_to_its_end(db, cli_env, make_runner, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    flag = tmp_path / "go"
    job_id = make_runner().submit("sample.wait", {"flag": str(flag)})
    wait_for(db, job_id, states=("running",))
    listed = CliRunner().invoke(cli_app, ["jobs", "list", "--state", "running"])
    assert listed.exit_code == 0, listed.output
    assert "sample.wait" in listed.output and "running" in listed.output
    threading.Timer(1.0, flag.touch).start()
    started = time.monotonic()
    shown = CliRunner().invoke(cli_app, ["jobs", "show", str(job_id), "--follow"])
    assert shown.exit_code == 0, shown.output
    assert time.monotonic() - started >= 0.9  # it followed the run until it ended
    assert "done" in shown.output and "flag seen" in shown.output


def test_the_cli_runs_a_job_and_reports_a_failure(db, cli_env, sample_jobs, job_settings, monkeypatch):
    if job_settings.jobs.runner != "inprocess":
        pytest.skip("the command runs jobs itself on the in-process runner")
    monkeypatch.setenv("COLUMNS", "200")
    ok = CliRunner().invoke(cli_app, ["jobs", "run", "sample.flaky"])
    assert ok.exit_code == 0 and "done" in ok.output, ok.output
    failed = CliRunner().invoke(cli_app, ["jobs", "run", "sample.fail"])
    assert failed.exit_code == 1 and "this job always fails" in failed.output, failed.output
    unknown = CliRunner().invoke(cli_app, ["jobs", "show", "424242"])
    assert unknown.exit_code == 2 and "424242" in unknown.output


def _cancel_entries(db) -> list[dict]:
    from sqlalchemy import select

    from shuzhi.ledger.models import LedgerEntry

    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "job.cancelled"))
        return [{**json.loads(e.entry)["detail"], "user_id": e.user_id} for e in rows]


def test_an_admin_cancels_a_run_through_the_api_and_the_ledger_records_it(
    db, client, make_user, token_for, make_runner, tmp_path
):
    make_user("jobadmin", roles=("admin",))
    make_user("jobanalyst", roles=("analyst",))
    job_id = make_runner().submit("sample.wait", {"flag": str(tmp_path / "never")})
    wait_for(db, job_id, states=("running",))
    url = f"/api/v1/jobs/{job_id}/cancel"

    refused = client.post(url, headers=token_for("jobanalyst"))
    assert refused.status_code == 403 and client.post(url).status_code == 401
    assert (
        _cancel_entries(db) == [] and wait_for(db, job_id, states=("running",))["cancel_requested"] is False
    )

    admin = token_for("jobadmin")
    asked = client.post(url, headers=admin)
    assert asked.status_code == 200, asked.text
    assert asked.json()["state"] == "running" and asked.json()["cancel_requested"] is True
    assert wait_for(db, job_id)["state"] == "cancelled"  # it stopped at its next progress report
    [entry] = _cancel_entries(db)
    assert entry["job_id"] == job_id and entry["job"] == "sample.wait"
    assert (entry["state"], entry["by"]) == ("running", "jobadmin") and entry["user_id"] is not None

    again = client.post(url, headers=admin)
    assert again.status_code == 409 and again.json()["where"] == "job"
    assert client.post("/api/v1/jobs/987654/cancel", headers=admin).status_code == 404
    assert len(_cancel_entries(db)) == 1  # refusals write nothing


def test_the_cli_cancels_a_run_recorded_as_the_operating_system_user(db, cli_env, make_runner, tmp_path):
    import getpass

    job_id = make_runner().submit("sample.wait", {"flag": str(tmp_path / "never")})
    wait_for(db, job_id, states=("running",))
    result = CliRunner().invoke(cli_app, ["jobs", "cancel", str(job_id)])
    assert result.exit_code == 0, result.output
    assert wait_for(db, job_id)["state"] == "cancelled"
    [entry] = _cancel_entries(db)
    assert entry["by"] == f"cli:{getpass.getuser()}" and entry["user_id"] is None
    ended = CliRunner().invoke(cli_app, ["jobs", "cancel", str(job_id)])
    assert ended.exit_code != 0 and "already ended" in ended.output
    assert len(_cancel_entries(db)) == 1
