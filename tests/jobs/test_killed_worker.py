"""A `shuzhi worker` on the Redis runner killed with SIGKILL mid-job: the run is retried by another
worker (or failed when it has no attempts left) and its work is never half-applied."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.jobs.conftest import wait_for

from shuzhi.jobs import service
from shuzhi.jobs.runner import Runner
from shuzhi.orgs.models import Department

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def redis_settings(job_settings, runner_kind):
    if runner_kind != "redis":
        pytest.skip("the broker runner's workers are processes")
    return job_settings


def _worker(settings, log: Path) -> subprocess.Popen:
    """A `shuzhi worker` whose stderr goes to `log`: a pipe nobody reads until the end fills up
    with the worker's log lines (64 KiB) and then blocks every thread of it that logs. On SIGUSR1
    it writes every thread's stack there (what a test that gives up on it prints)."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        "SHUZHI_DATA_DIR": str(settings.data_dir),
        "SHUZHI_DATABASE_URL": settings.db_url,
        "SHUZHI_SECRET_KEY": "test-secret",
        "SHUZHI_JOBS__RUNNER": "redis",
        "SHUZHI_JOBS__NAMESPACE": settings.jobs.namespace,
        "SHUZHI_JOBS__HEARTBEAT_S": str(settings.jobs.heartbeat_s),
        "SHUZHI_LEDGER__STH_INTERVAL_S": "0",
    }
    code = (
        "import faulthandler, signal; faulthandler.register(signal.SIGUSR1, all_threads=True);"
        " from shuzhi.cli import main; main()"
    )
    with log.open("ab") as err:
        return subprocess.Popen(
            [sys.executable, "-c", code, "worker", "--plugin", "tests.jobs.sample"],
            env=env,
            cwd=settings.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _stuck(worker: subprocess.Popen, log: Path, db, job_id: int) -> str:
    """What a worker that never reached the job was doing: its threads' stacks and log, the run's row."""
    worker.send_signal(signal.SIGUSR1)
    time.sleep(1.0)
    with db.read() as s:
        run = service.get(s, job_id)
        row = {c: getattr(run, c) for c in ("state", "attempts", "worker", "heartbeat_at", "error")}
    return f"the job never reached its midpoint; run {row}; worker's stderr:\n{log.read_text()[-20000:]}"


def _stop(worker: subprocess.Popen, log: Path) -> None:
    """Ask a worker to stop; one that has not left in 120 s writes its threads' stacks to its log,
    is killed, and the test fails with that log."""
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(120)
    except subprocess.TimeoutExpired:
        worker.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        worker.kill()
        worker.wait(10)
        pytest.fail(
            f"the worker did not stop within 120 s of SIGTERM; its stderr:\n{log.read_text()[-30000:]}"
        )


def _count(db, tag: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Department).where(Department.code.like(f"JT{tag}%")))


def _kill_midway(db, settings, name: str, tag: str, tmp_path) -> int:
    pause = tmp_path / f"pause-{tag}"
    sender = Runner(db, settings, serving=False)  # queues only: no timer, no consumer
    try:
        job_id = sender.submit(name, {"n": 6, "tag": tag, "pause": str(pause)})
    finally:
        sender.stop()
    log = tmp_path / f"worker-{tag}.log"
    worker = _worker(settings, log)
    try:
        # Liveness bounds, not timings: under a full suite on a slow two-core machine a new worker
        # took over a minute to reach the job, and one asked to stop over half a minute to leave.
        deadline = time.monotonic() + 180
        while not pause.exists():
            assert worker.poll() is None, log.read_text()
            if time.monotonic() > deadline:
                pytest.fail(_stuck(worker, log, db, job_id))
            time.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)  # reaped: a dead worker's pid must not look alive
    assert _count(db, tag) == 0  # the killed attempt's transaction is gone with it
    return job_id


def _survive(db, settings, job_id: int, tmp_path) -> dict:
    """A second worker takes the killed one's run to its end; if not within 90 s, what it logged."""
    log = tmp_path / "survivor.log"
    survivor = _worker(settings, log)
    try:
        return wait_for(db, job_id, timeout_s=90)
    except AssertionError as e:
        pytest.fail(f"{e}\nthe second worker's stderr:\n{log.read_text()[-20000:]}")
    finally:
        _stop(survivor, log)


def test_a_killed_worker_leaves_the_run_retried_by_another(db, redis_settings, sample_jobs, tmp_path):
    job_id = _kill_midway(db, redis_settings, "sample.departments", "K", tmp_path)
    run = _survive(db, redis_settings, job_id, tmp_path)
    assert (run["state"], run["attempts"]) == ("done", 2), run
    assert _count(db, "K") == 6  # applied once, whole


def test_a_killed_worker_with_no_attempts_left_fails_the_run(db, redis_settings, sample_jobs, tmp_path):
    job_id = _kill_midway(db, redis_settings, "sample.departments_once", "F", tmp_path)
    run = _survive(db, redis_settings, job_id, tmp_path)
    assert (run["state"], run["attempts"]) == ("failed", 1), run
    assert "stopped mid-job" in run["error"]
    assert _count(db, "F") == 0  # nothing of it applied
