"""`shuzhi worker` and its stop signals: SIGTERM stops it after the runs in progress, wherever in the
process the kernel delivers the signal; a second SIGTERM leaves at once."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.jobs.conftest import run_state, wait_for
from tests.jobs.workers import queue_only, start_worker, stop_worker

pytestmark = pytest.mark.slow
SIGTERM_BIT = 1 << (signal.SIGTERM - 1)


def _until(condition, timeout_s: float, what: str, log: Path) -> None:
    """Liveness bound, not a timing: a loaded two-core machine is slow, a hung worker never gets there."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not within {timeout_s} s; the worker's stderr:\n{log.read_text()[-20000:]}")
        time.sleep(0.05)


def _running(db, job_id: int, worker: subprocess.Popen, log: Path) -> None:
    def started():
        assert worker.poll() is None, log.read_text()
        return run_state(db, job_id)["state"] == "running"

    _until(started, 180, "the run started", log)


def _other_thread(pid: int) -> int:
    """A thread of process `pid` other than its main thread that does not block SIGTERM."""
    for task in sorted(Path(f"/proc/{pid}/task").iterdir()):
        tid = int(task.name)
        status = dict(line.split(":\t", 1) for line in (task / "status").read_text().splitlines())
        if tid != pid and not int(status["SigBlk"], 16) & SIGTERM_BIT:
            return tid
    raise AssertionError(f"process {pid} has no thread but its main one")


def _tgkill(pid: int, tid: int, sig: int) -> None:
    """Send `sig` to thread `tid` of process `pid` (what the kernel may do with a `kill` to the process)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(234, pid, tid, sig) != 0:  # SYS_tgkill on x86-64
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _stops(worker: subprocess.Popen, log: Path) -> int:
    _until(lambda: worker.poll() is not None, 120, "the worker's exit", log)
    return worker.returncode


@contextlib.contextmanager
def _worker_on_a_run(db, settings, tmp_path) -> Iterator[tuple[subprocess.Popen, Path, int, Path]]:
    """A worker that has started a `sample.wait` run (which ends once the flag file exists); the
    worker, its log, the run and the flag. The worker is killed at the end if still there."""
    flag, log = tmp_path / "flag", tmp_path / "worker.log"
    job_id = queue_only(db, settings, "sample.wait", {"flag": str(flag)})
    worker = start_worker(settings, log)
    try:
        _running(db, job_id, worker, log)
        yield worker, log, job_id, flag
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="tgkill's system call number is x86-64's")
def test_sigterm_on_another_thread_stops_the_worker(db, redis_settings, sample_jobs, tmp_path):
    with _worker_on_a_run(db, redis_settings, tmp_path) as (worker, log, job_id, flag):
        _tgkill(worker.pid, _other_thread(worker.pid), signal.SIGTERM)
        time.sleep(1.0)
        assert worker.poll() is None  # the run in progress finishes first
        flag.write_text("go")
        assert _stops(worker, log) == 0, log.read_text()
    assert run_state(db, job_id)["state"] == "done"


def test_a_second_sigterm_leaves_at_once(db, redis_settings, sample_jobs, tmp_path):
    with _worker_on_a_run(db, redis_settings, tmp_path) as (worker, log, job_id, _flag):
        worker.send_signal(signal.SIGTERM)
        time.sleep(1.0)
        assert worker.poll() is None  # waiting for the run in progress
        worker.send_signal(signal.SIGTERM)
        assert _stops(worker, log) == 128 + signal.SIGTERM
    assert "leaving now" in log.read_text() or "立即退出" in log.read_text()
    # Left behind, the run is settled by another worker: sample.wait has no attempts left, so it
    # fails as a killed worker's run does (tests/jobs/test_killed_worker.py).
    survivor_log = tmp_path / "survivor.log"
    survivor = start_worker(redis_settings, survivor_log)
    try:
        run = wait_for(db, job_id, timeout_s=120)
    finally:
        stop_worker(survivor, survivor_log)
    assert (run["state"], run["attempts"]) == ("failed", 1), run
    assert "stopped mid-job" in run["error"]
