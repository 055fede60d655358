"""REST API of quality supervision: the alert inbox (list, acknowledge, resolve), the department
scorecard and the supervision sweep."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shuzhi.orgs.service import Principal, get_department
from shuzhi.quality import alerts, supervision
from shuzhi.store.db import Database
from shuzhi.textlimits import Code, Id, Reason
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import error_responses

router = APIRouter(prefix="/quality", tags=["quality 数据质量"], responses=error_responses())

Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]
State = Literal["new", "acknowledged", "resolved", "open"]
Kind = Literal[tuple(alerts.KINDS)]  # type: ignore[valid-type]


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Reason | None = None


class ResolveBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Reason = Field(min_length=1)
    """How the alert was resolved (required)."""


@router.get("/alerts")
def list_alerts(
    principal: Caller,
    db: Db,
    state: State | None = None,
    department: Code | None = None,
    kind: Kind | None = None,
) -> dict:
    """The alert inbox, newest first: a steward's own department's alerts; every department's for
    admins and auditors. `state=open` is new and acknowledged together."""
    with db.read() as s:
        dept_id = get_department(s, department).id if department else None
        rows = alerts.list_alerts(s, principal, state=state, department_id=dept_id, kind=kind)
        return {"alerts": alerts.alerts_out(s, rows)}


@router.get("/alerts/{alert_id}")
def show_alert(alert_id: Id, principal: Caller, db: Db) -> dict:
    with db.read() as s:
        return alerts.alerts_out(s, [alerts.get_alert(s, principal, alert_id)])[0]


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(alert_id: Id, principal: Caller, db: Db, body: AckBody | None = None) -> dict:
    """new → acknowledged (a steward of the alert's department, or an admin); a note is optional."""
    with db.write() as s:
        found = alerts.acknowledge(s, principal, alert_id, body.note if body else None)
        return alerts.alerts_out(s, [found])[0]


@router.post("/alerts/{alert_id}/resolve")
def resolve(alert_id: Id, body: ResolveBody, principal: Caller, db: Db) -> dict:
    """new or acknowledged → resolved, saying how (a steward of the alert's department, or an admin)."""
    with db.write() as s:
        found = alerts.resolve(s, principal, alert_id, body.note)
        return alerts.alerts_out(s, [found])[0]


@router.get("/scorecard")
def scorecard(principal: Caller, db: Db, request: Request) -> dict:
    """Departments ranked by their supervision score, with the figures behind each score
    (stewards, auditors and admins)."""
    with db.read() as s:
        return {"departments": supervision.scorecard(s, request.app.state.settings, principal)}


@router.post("/supervision/sweep")
def sweep(principal: Caller, db: Db, request: Request) -> dict:
    """Raise the alerts the supervision figures call for now (admins); each open condition once."""
    with db.write() as s:
        return {"raised": supervision.run_sweep(s, request.app.state.settings, principal)}
