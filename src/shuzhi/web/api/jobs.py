"""REST endpoints of background jobs: their runs, how far each is, and cancelling one (admins only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from shuzhi.jobs import service
from shuzhi.jobs.models import STATES
from shuzhi.operations.jobs import cancel_job
from shuzhi.orgs.service import Principal
from shuzhi.textlimits import Code, Id
from shuzhi.web.deps import WRITE, read_session, require_role

router = APIRouter(tags=["jobs 后台任务"])


@router.get("/jobs")
def list_jobs(
    state: Literal[STATES] | None = None,
    name: Code | None = None,
    before_id: Id | None = None,
    limit: int = Query(50, ge=1, le=service.MAX_PAGE),
    session: Session = Depends(read_session),
    _: Principal = Depends(require_role("admin")),
) -> dict:
    """Job runs, newest first; page on with before_id = next_before_id."""
    rows = service.search(session, state=state, name=name, before_id=before_id, limit=limit)
    return {
        "jobs": [service.as_dict(r) for r in rows],
        "next_before_id": rows[-1].id if len(rows) == limit else None,
    }


@router.get("/jobs/{job_id}")
def get_job(
    job_id: Id, session: Session = Depends(read_session), _: Principal = Depends(require_role("admin"))
) -> dict:
    """One job run: state, progress, error, attempts and times."""
    return service.as_dict(service.get(session, job_id))


@router.post("/jobs/{job_id}/cancel")
def cancel(
    job_id: Id,
    session: Session = WRITE,
    admin: Principal = Depends(require_role("admin")),
) -> dict:
    """Cancel a run: a queued one never starts, a running one stops at its next progress report
    (its state stays `running` until then). Recorded in the audit ledger; 409 when it has ended."""
    run = cancel_job(
        session, job_id, by=admin.username, user_id=admin.user_id, department_id=admin.department_id
    )
    session.flush()
    return service.as_dict(run)
