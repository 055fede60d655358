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


def test_start_imports_and_maps_every_model_before_any_thread_queries(tmp_path):
    """In a fresh process: a job importing a model module on one thread while the reaper configured the
    mappers on another left `ShareRequest` half-mapped, and every later query of the worker failed."""
    import subprocess
    import sys
    import textwrap

    from shuzhi.config import Settings

    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    store = Database(settings.db_url)
    store.upgrade()  # here: the migrations import every model, which the child must not have done
    store.dispose()
    script = textwrap.dedent(f"""
        import sys
        from shuzhi.config import Settings
        from shuzhi.jobs.runner import Runner
        from shuzhi.store.base import Base
        from shuzhi.store.db import Database
        settings = Settings(data_dir={str(tmp_path / "data")!r})
        settings.jobs.runner = "inprocess"
        assert "shuzhi.exchange.models" not in sys.modules
        runner = Runner(Database(settings.db_url), settings, serving=False, jobs={{}}).start()
        try:
            assert "shuzhi.exchange.models" in sys.modules
            assert all(m.configured for m in Base.registry.mappers)
            print("mapped", len(Base.registry.mappers))
        finally:
            runner.stop()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "mapped" in done.stdout
