"""Job state in the store: queue a run, claim it for one worker, record its heartbeat and progress,
settle how it ended, cancel it, find runs whose worker died; and read it for the faces."""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.jobs.models import FINAL, STATES, JobRun
from shuzhi.store.base import utcnow

MAX_PAGE = 200


def worker_id() -> str:
    return f"{socket.gethostname()[:100]}:{os.getpid()}"


def queue(session: Session, name: str, params: dict | None = None, *, max_attempts: int = 1) -> JobRun:
    """A queued run of job `name` (in the caller's transaction; dispatch it once committed)."""
    run = JobRun(name=name, params=json.dumps(params or {}), state="queued", max_attempts=max_attempts)
    session.add(run)
    session.flush()
    return run


def queue_slot(db, name: str, slot: str, *, max_attempts: int = 1) -> int | None:
    """Queue the run of a periodic job for one period, unless some process already did: the unique
    slot makes exactly one of several schedulers win. Returns the new run's id, or None."""
    try:
        with db.write() as s:
            run = queue(s, name, max_attempts=max_attempts)
            run.slot = slot[:160]
            s.flush()
            return run.id
    except IntegrityError:
        return None


def worker_alive(worker: str | None) -> bool:
    """Whether `worker` (host:pid) is a live process of this machine. A run of one is not taken
    over even when its heartbeats are late (e.g. held up by SQLite's write lock, which the job's
    own transaction holds)."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname()[:100] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Claimed:
    id: int
    name: str
    params: dict
    attempt: int


def claim(session: Session, job_id: int, stale_before: datetime) -> Claimed | None:
    """Take run `job_id` for this process: a queued run, or a running one whose worker stopped
    beating before `stale_before` (it died mid-job). None when another worker has it or it ended.

    One conditional UPDATE, so two deliveries of the same run start it once."""
    current = session.get(JobRun, job_id)
    if current is None or (current.state == "running" and worker_alive(current.worker)):
        return None
    dead = (
        current.state == "running"
        and current.heartbeat_at is not None
        and current.heartbeat_at < stale_before
    )
    if dead and current.cancel_requested:
        _settle(current, "cancelled", M_("cancelled"))
        return None
    if dead and current.attempts >= current.max_attempts:
        _settle(current, "failed", M_("the worker stopped mid-job"))
        return None
    taken = session.execute(
        update(JobRun)
        .where(
            JobRun.id == job_id,
            JobRun.cancel_requested.is_(False),
            (JobRun.state == "queued") | ((JobRun.state == "running") & (JobRun.heartbeat_at < stale_before)),
        )
        .values(
            state="running",
            attempts=JobRun.attempts + 1,
            worker=worker_id(),
            started_at=utcnow(),
            heartbeat_at=utcnow(),
            finished_at=None,
        )
    )
    if taken.rowcount != 1:
        return None
    run = session.get(JobRun, job_id)
    session.refresh(run)
    return Claimed(run.id, run.name, json.loads(run.params or "{}"), run.attempts)


def beat(session: Session, job_id: int, fraction: float | None, note: str | None) -> bool:
    """Record that the run is alive and how far it is; True when someone asked to cancel it."""
    session.execute(
        update(JobRun)
        .where(JobRun.id == job_id, JobRun.state == "running", JobRun.worker == worker_id())
        .values(heartbeat_at=utcnow(), progress=fraction, note=note)
    )
    return bool(session.scalar(select(JobRun.cancel_requested).where(JobRun.id == job_id)))


def _settle(run: JobRun, state: str, error: str | None = None) -> None:
    run.state = state
    run.error = error[:4000] if error else None
    run.finished_at = utcnow()
    if state == "done":
        run.progress = 1.0


def finish(
    session: Session,
    job_id: int,
    state: str,
    error: str | None = None,
    *,
    progress: float | None = None,
    note: str | None = None,
) -> str:
    """Settle the run this worker holds (with its last progress): done, failed, cancelled, or
    queued again for a retry when it failed with attempts left. Returns the state it ended in."""
    run = session.get(JobRun, job_id)
    if run is None or run.state != "running" or run.worker != worker_id():
        return run.state if run is not None else "gone"
    run.progress, run.note = progress, note
    if state == "failed" and run.attempts < run.max_attempts and not run.cancel_requested:
        run.state, run.error, run.heartbeat_at = "queued", error[:4000] if error else None, None
        return "queued"
    _settle(run, state, error)
    return state


def cancel(session: Session, job_id: int) -> JobRun:
    """Cancel a queued run at once; a running one is asked to stop at its next progress report."""
    run = get(session, job_id)
    if run.state in FINAL:
        raise Conflict(
            M_("job %(job_id)s has already ended: %(state)s", job_id=job_id, state=run.state), where="job"
        )
    run.cancel_requested = True
    if run.state == "queued":
        _settle(run, "cancelled", M_("cancelled"))
    return run


def stale(session: Session, stale_before: datetime) -> list[int]:
    """Runs marked running whose worker has not beaten since `stale_before`: it died mid-job."""
    rows = session.execute(
        select(JobRun.id, JobRun.worker).where(JobRun.state == "running", JobRun.heartbeat_at < stale_before)
    )
    return [job_id for job_id, worker in rows if not worker_alive(worker)]


def queued_before(session: Session, moment: datetime) -> list[int]:
    return list(
        session.scalars(select(JobRun.id).where(JobRun.state == "queued", JobRun.created_at < moment))
    )


def prune(session: Session, keep_days: float) -> int:
    """Forget ended runs older than `keep_days` (periodic jobs add a run every period)."""
    cutoff = utcnow() - timedelta(days=keep_days)
    gone = session.execute(delete(JobRun).where(JobRun.state.in_(FINAL), JobRun.finished_at < cutoff))
    return gone.rowcount or 0


# -- reading ------------------------------------------------------------------------------------------


def get(session: Session, job_id: int) -> JobRun:
    run = session.get(JobRun, job_id)
    if run is None:
        raise NotFound(M_("no job %(job_id)s", job_id=job_id), where="job")
    return run


def search(
    session: Session,
    *,
    state: str | None = None,
    name: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[JobRun]:
    """Runs, newest first, optionally of one state or job name; page on with `before_id`."""
    if state is not None and state not in STATES:
        raise InvalidInput(
            M_("state is one of %(names)s: %(state)r", names=", ".join(STATES), state=state), where="state"
        )
    q = select(JobRun).order_by(JobRun.id.desc()).limit(min(limit, MAX_PAGE))
    if state:
        q = q.where(JobRun.state == state)
    if name:
        q = q.where(JobRun.name == name)
    if before_id is not None:
        q = q.where(JobRun.id < before_id)
    return list(session.scalars(q))


def as_dict(run: JobRun) -> dict:
    def iso(t):
        return t.isoformat() if t else None

    return {
        "id": run.id,
        "name": run.name,
        "state": run.state,
        "params": json.loads(run.params or "{}"),
        "progress": run.progress,
        "note": run.note,
        "error": run.error,
        "attempts": run.attempts,
        "max_attempts": run.max_attempts,
        "slot": run.slot,
        "worker": run.worker,
        "cancel_requested": run.cancel_requested,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "heartbeat_at": iso(run.heartbeat_at),
        "finished_at": iso(run.finished_at),
    }
