"""Running one claimed job: its heartbeat, its time limit, and settling how it ended. Both runners
call `execute`, so a job behaves the same whichever runs it."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import weakref
from collections.abc import Iterator
from datetime import timedelta

from shuzhi.i18n import M_
from shuzhi.jobs import service
from shuzhi.jobs.declare import Job, JobCancelled, JobContext, JobTimeLimit
from shuzhi.store.base import utcnow

log = logging.getLogger(__name__)

STALE_BEATS = 6
"""A run whose worker missed this many heartbeats is taken to have died with its worker."""


def stale_before(settings):
    return utcnow() - timedelta(seconds=settings.jobs.heartbeat_s * STALE_BEATS)


End = tuple[str, str | None, float | None, str | None]
"""How a run ended: state, error, progress, note."""
_UNSETTLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
"""Per store (a `Database`: run ids are the store's own), the ends of runs this process ran but
could not store (the store down at that moment). Only this process can store them: the run is
marked as its own, and it is alive, so no other claims it; and running the job again would apply
it twice."""
_UNSETTLED_LOCK = threading.Lock()


def unsettled(db, job_id: int) -> bool:
    """Whether this process holds the end of run `job_id` of store `db`, not yet stored (`execute`
    stores it next time)."""
    with _UNSETTLED_LOCK:
        return job_id in _UNSETTLED.get(db, {})


def execute(db, settings, jobs: dict[str, Job], job_id: int) -> str | None:
    """Claim run `job_id` and run it here. Returns how it ended (`queued` when it will be retried),
    or None when it was not ours to run (taken, ended, cancelled). For a run this process ran but
    could not store the end of, it stores that end instead, and does not run the job again."""
    with _UNSETTLED_LOCK:
        end = _UNSETTLED.get(db, {}).get(job_id)
    if end is not None:
        return _store_end(db, job_id, end)
    with db.write() as s:
        claimed = service.claim(s, job_id, stale_before(settings))
    if claimed is None:
        return None
    job = jobs.get(claimed.name)
    ctx = JobContext(db, settings, job_id, claimed.attempt)
    state, error = "done", None
    try:
        if job is None:
            raise LookupError(M_("no job is declared as %(name)r", name=claimed.name))
        func = job.function()
        with _heartbeat(ctx), _time_limit(job.time_limit_s):
            func(ctx, **claimed.params)
    except JobCancelled:
        state, error = "cancelled", M_("cancelled")
    except JobTimeLimit:
        state, error = (
            "failed",
            M_("ran past its time limit of %(seconds)s s", seconds=format(job.time_limit_s, "g")),
        )
    except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never kills the runner
        log.warning("job %s (%s) failed", job_id, claimed.name, exc_info=True)
        state, error = "failed", f"{type(exc).__name__}: {exc}"
    return _store_end(db, job_id, (state, error, ctx.fraction, ctx.note))


def _store_end(db, job_id: int, end: End) -> str:
    """Store how a run ended; when that raises, keep the end for the next try (`_UNSETTLED`)."""
    state, error, progress, note = end
    try:
        with db.write() as s:
            stored = service.finish(s, job_id, state, error, progress=progress, note=note)
    except Exception:
        with _UNSETTLED_LOCK:
            _UNSETTLED.setdefault(db, {})[job_id] = end
        raise
    with _UNSETTLED_LOCK:
        held = _UNSETTLED.get(db, {})
        if held.pop(job_id, None) is not None and not held:
            del _UNSETTLED[db]
    return stored


@contextlib.contextmanager
def _heartbeat(ctx: JobContext) -> Iterator[None]:
    """Beat every `jobs.heartbeat_s` on a side thread, storing progress and picking up cancellation."""
    stop = threading.Event()

    def run():
        while not stop.wait(ctx.settings.jobs.heartbeat_s):
            try:
                with ctx.db.write() as s:
                    if service.beat(s, ctx.job_id, ctx.fraction, ctx.note):
                        ctx.cancelled.set()
            except Exception:  # noqa: BLE001 - e.g. the job itself holds SQLite's write lock; next beat
                log.debug("job %s: heartbeat not stored", ctx.job_id, exc_info=True)

    beater = threading.Thread(target=run, name=f"job-{ctx.job_id}-heartbeat", daemon=True)
    beater.start()
    try:
        yield
    finally:
        stop.set()
        beater.join()


@contextlib.contextmanager
def _time_limit(limit_s: float | None) -> Iterator[None]:
    """Raise `JobTimeLimit` in this thread once `limit_s` has passed (at its next Python bytecode:
    a call blocked in C finishes first)."""
    if not limit_s:
        yield
        return
    target = threading.get_ident()
    timer = threading.Timer(limit_s, _raise_in, args=(target,))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


def _raise_in(thread_id: int) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(JobTimeLimit))
