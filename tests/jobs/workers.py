"""`shuzhi worker` processes for the job tests: started on a test's store and Redis namespace,
asked to stop, and runs queued for them by a runner that only queues."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shuzhi.jobs.runner import Runner

ROOT = Path(__file__).resolve().parents[2]


def queue_only(db, settings, name: str, params: dict) -> int:
    """Queue a run of job `name` for the workers; returns its id."""
    sender = Runner(db, settings, serving=False)  # queues only: no timer, no consumer
    try:
        return sender.submit(name, params)
    finally:
        sender.stop()


def start_worker(settings, log: Path) -> subprocess.Popen:
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


def stop_worker(worker: subprocess.Popen, log: Path) -> None:
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
