"""Cancelling a background job's run, audited. The job platform sits below the ledger and cannot
record what is done to it; this is where an operator's action on it is recorded."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.jobs import service as jobs
from shuzhi.jobs.models import JobRun
from shuzhi.operations.events import JobCancelled


def cancel_job(
    session: Session, job_id: int, *, by: str, user_id: int | None = None, department_id: int | None = None
) -> JobRun:
    """Cancel a run (`shuzhi.jobs.service.cancel`) and record who did, in the same transaction; a run
    that has already ended is refused (Conflict) and nothing is written."""
    state = jobs.get(session, job_id).state
    run = jobs.cancel(session, job_id)
    ledger.append(
        session,
        JobCancelled(job_id=run.id, job=run.name, state=state, by=by),
        user_id=user_id,
        department_id=department_id,
    )
    return run
