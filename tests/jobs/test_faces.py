"""Job state through the API (admins only) and the CLI (a list, and a run followed to its end)."""

from __future__ import annotations

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
