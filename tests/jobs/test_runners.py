"""The same job suite on both runners: runs end done with their progress, failures are retried
then failed, time limits and cancellation stop a run, and periodic jobs run once per period however
many runners schedule them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select
from tests.jobs.conftest import run_state, wait_for

from shuzhi.errors import Conflict, NotFound
from shuzhi.jobs import service
from shuzhi.jobs.models import JobRun
from shuzhi.orgs.models import Department


def _departments(db, tag: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Department).where(Department.code.like(f"JT{tag}%")))


def test_a_run_ends_done_with_its_effects_and_progress(db, make_runner):
    runner = make_runner()
    job_id = runner.submit("sample.departments", {"n": 4, "tag": "D"})
    run = wait_for(db, job_id)
    assert run["state"] == "done", run
    assert (run["progress"], run["note"], run["attempts"], run["error"]) == (1.0, "4 of 4", 1, None)
    assert run["started_at"] and run["finished_at"]
    assert _departments(db, "D") == 4


def test_a_failing_run_is_retried_then_failed(db, make_runner):
    job_id = make_runner().submit("sample.fail")
    run = wait_for(db, job_id, timeout_s=60)
    assert run["state"] == "failed"
    assert run["attempts"] == run["max_attempts"] == 3
    assert "RuntimeError: this job always fails" in run["error"]


def test_a_run_that_fails_once_succeeds_on_its_retry(db, make_runner):
    run = wait_for(db, make_runner().submit("sample.flaky"))
    assert (run["state"], run["attempts"], run["note"]) == ("done", 2, "second attempt")


def test_a_run_past_its_time_limit_fails(db, make_runner):
    started = time.monotonic()
    run = wait_for(db, make_runner().submit("sample.slow"))
    assert run["state"] == "failed" and "time limit" in run["error"]
    assert time.monotonic() - started < 20


def test_cancelling_stops_a_running_run_and_a_queued_one_never_starts(db, make_runner, tmp_path):
    runner = make_runner()
    job_id = runner.submit("sample.wait", {"flag": str(tmp_path / "never")})
    wait_for(db, job_id, states=("running",))
    with db.write() as s:
        assert service.cancel(s, job_id).state == "running"  # asked; it stops at its next report
    assert wait_for(db, job_id)["state"] == "cancelled"
    with db.write() as s:
        queued = service.queue(s, "sample.flaky").id
        assert service.cancel(s, queued).state == "cancelled"
    assert runner.run(queued) is None  # a delivery of a cancelled run does nothing
    assert run_state(db, queued)["attempts"] == 0
    with db.write() as s, pytest.raises(Conflict):
        service.cancel(s, queued)


def test_a_run_delivered_twice_runs_once(db, make_runner):
    runner = make_runner()
    job_id = runner.submit("sample.departments", {"n": 2, "tag": "T"})
    runner.dispatch(job_id, runner.jobs["sample.departments"])
    wait_for(db, job_id)
    time.sleep(0.5)
    assert run_state(db, job_id)["attempts"] == 1
    assert _departments(db, "T") == 2


def test_an_undeclared_job_is_refused(make_runner):
    with pytest.raises(NotFound):
        make_runner().submit("sample.nothing")


def test_a_periodic_job_runs_once_per_period_across_runners(db, make_runner, settings):
    from shuzhi.store.db import Database

    other = Database(settings.db_url)
    try:
        make_runner()
        make_runner(other)
        time.sleep(1.5)
        with db.read() as s:
            slots = list(s.scalars(select(JobRun.slot).where(JobRun.name == "sample.tick")))
    finally:
        other.dispose()
    assert len(slots) >= 3  # every 0.2 s, from the period after the runners started
    assert len(slots) == len(set(slots))  # one run per period, not one per runner


def test_a_run_the_store_could_not_start_is_delivered_again(db, make_runner, monkeypatch):
    """The store refusing the claim twice (as when it is down) loses no run: each delivery that
    raised is followed by another, later, until one claims and runs it."""
    from sqlalchemy.exc import OperationalError

    claim, tries = service.claim, []

    def refused_twice(session, job_id, stale_before):
        if '"S"' in (session.get(JobRun, job_id).params or ""):  # this test's run, not the start-up jobs'
            tries.append(job_id)
            if len(tries) <= 2:
                raise OperationalError("SELECT 1", {}, ConnectionRefusedError("the store is down"))
        return claim(session, job_id, stale_before)

    monkeypatch.setattr(service, "claim", refused_twice)
    job_id = make_runner().submit("sample.departments", {"n": 2, "tag": "S"})
    run = wait_for(db, job_id)
    assert (run["state"], run["attempts"]) == ("done", 1), run  # the refused deliveries claimed nothing
    assert tries == [job_id] * 3
    assert _departments(db, "S") == 2


def test_a_run_whose_end_could_not_be_stored_is_settled_later_not_run_again(db, make_runner, monkeypatch):
    """The store refusing a finished run's end (as when it goes down just then): the process keeps
    the end and stores it on its next try, without running the job a second time."""
    from sqlalchemy.exc import OperationalError

    finish, tries = service.finish, []

    def refused_once(session, job_id, state, error=None, **kw):
        if '"U"' in (session.get(JobRun, job_id).params or ""):  # this test's run only
            tries.append(state)
            if len(tries) == 1:
                raise OperationalError("UPDATE jobs", {}, ConnectionRefusedError("the store is down"))
        return finish(session, job_id, state, error, **kw)

    monkeypatch.setattr(service, "finish", refused_once)
    job_id = make_runner().submit("sample.departments", {"n": 3, "tag": "U"})
    run = wait_for(db, job_id)
    # Run again, the job would have met its own departments' codes and failed its second attempt.
    assert (run["state"], run["attempts"], run["note"]) == ("done", 1, "3 of 3"), run
    assert tries == ["done", "done"]
    assert _departments(db, "U") == 3


def test_an_end_kept_for_one_store_is_not_another_stores():
    """Run ids are a store's own: the end of run 7 kept for one store (down when the run ended) is
    not found for run 7 of another store in the same process, and goes with its store."""
    import contextlib
    import gc

    from sqlalchemy.exc import OperationalError

    from shuzhi.jobs import execute

    class Down:
        @contextlib.contextmanager
        def write(self):
            raise OperationalError("UPDATE jobs", {}, ConnectionRefusedError("the store is down"))
            yield

    down, other, before = Down(), Down(), len(execute._UNSETTLED)
    with pytest.raises(OperationalError):
        execute._store_end(down, 7, ("done", None, 1.0, "3 of 3"))
    assert execute.unsettled(down, 7) and not execute.unsettled(other, 7)
    del down
    gc.collect()
    assert other not in execute._UNSETTLED and len(execute._UNSETTLED) == before
