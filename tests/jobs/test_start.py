"""A runner's start: every write it makes comes before the first run it dispatches, so a start-up
job that holds the store's write lock cannot make the start (and a server's with it) fail."""

from __future__ import annotations

import threading

from sqlalchemy import select
from tests.jobs.conftest import wait_for

from shuzhi.jobs import Job
from shuzhi.jobs.models import JobRun
from shuzhi.jobs.runner import Runner
from shuzhi.store.db import Database

NAMES = ("sample.hold", *(f"sample.quick{i}" for i in range(4)))


def test_start_writes_everything_before_a_start_up_job_runs(db, settings):
    # A busy timeout well under how long the first start-up job holds the write lock.
    store = Database(settings.db_url, busy_timeout_s=0.3)
    settings.jobs.runner = "inprocess"
    jobs = {"sample.hold": Job(name="sample.hold", func="tests.jobs.sample:hold", at_start=True)}
    for name in NAMES[1:]:  # quick writes, retried when they found the lock held
        jobs[name] = Job(name=name, func="tests.jobs.sample:tick", at_start=True, retries=5)
    events: list[str] = []
    starter = threading.current_thread()
    write = store.write

    def watched_write():
        if threading.current_thread() is starter:
            events.append("write")
        return write()

    store.write = watched_write
    runner = Runner(store, settings, serving=True, jobs=jobs)
    dispatch = runner.dispatch

    def watched_dispatch(job_id, job, delay_s=0.0):
        events.append("dispatch")
        return dispatch(job_id, job, delay_s)

    runner.dispatch = watched_dispatch
    try:
        runner.start()  # raised Busy when a queueing write waited on the first job's lock
        assert events.count("write") >= len(NAMES) + 1  # each start-up run queued, then the reaping
        first = events.index("dispatch")
        assert "write" not in events[first:], events
        with db.read() as s:
            runs = dict(s.execute(select(JobRun.name, JobRun.id).where(JobRun.name.in_(NAMES))).all())
        assert sorted(runs) == sorted(NAMES)
        assert wait_for(db, runs["sample.hold"])["state"] == "done"
    finally:
        runner.stop()
        store.dispose()
