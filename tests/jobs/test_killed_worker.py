"""A `shuzhi worker` on the Redis runner killed with SIGKILL mid-job: the run is retried by another
worker (or failed when it has no attempts left) and its work is never half-applied."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from tests.jobs.conftest import wait_for
from tests.jobs.workers import queue_only, start_worker, stop_worker

from shuzhi.jobs import service
from shuzhi.orgs.models import Department

pytestmark = pytest.mark.slow


def _stuck(worker: subprocess.Popen, log: Path, db, job_id: int) -> str:
    """What a worker that never reached the job was doing: its threads' stacks and log, the run's row."""
    worker.send_signal(signal.SIGUSR1)
    time.sleep(1.0)
    with db.read() as s:
        run = service.get(s, job_id)
        row = {c: getattr(run, c) for c in ("state", "attempts", "worker", "heartbeat_at", "error")}
    return f"the job never reached its midpoint; run {row}; worker's stderr:\n{log.read_text()[-20000:]}"


def _count(db, tag: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Department).where(Department.code.like(f"JT{tag}%")))


def _kill_midway(db, settings, name: str, tag: str, tmp_path) -> int:
    pause = tmp_path / f"pause-{tag}"
    job_id = queue_only(db, settings, name, {"n": 6, "tag": tag, "pause": str(pause)})
    log = tmp_path / f"worker-{tag}.log"
    worker = start_worker(settings, log)
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
    survivor = start_worker(settings, log)
    try:
        return wait_for(db, job_id, timeout_s=90)
    except AssertionError as e:
        pytest.fail(f"{e}\nthe second worker's stderr:\n{log.read_text()[-20000:]}")
    finally:
        stop_worker(survivor, log)


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
