"""REST API of applications for conditional open data, for the departments that decide on them."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ConfigDict

from shuzhi.opendata import applications
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import Id, Reason
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import error_responses

router = APIRouter(prefix="/opendata/applications", tags=["opendata 开放数据"], responses=error_responses())

Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None
    """Required to reject or revoke."""
    end: date | None = None
    """On approval: a last day earlier than the one asked for."""


@router.get("")
def list_applications(
    principal: Caller,
    db: Db,
    state: Literal["submitted", "approved", "rejected", "revoked"] | None = None,
) -> dict:
    """Applications for the caller's department's conditional datasets (an admin: all), those
    awaiting a decision first. An approved one past its period shows as `expired`."""
    with db.read() as s:
        found = applications.for_staff(s, principal, state=state)
        return {"applications": [applications.application_out(a) for a in found]}


@router.get("/{application_id}")
def show_application(application_id: Id, principal: Caller, db: Db) -> dict:
    with db.read() as s:
        return applications.application_out(applications.get_for_staff(s, principal, application_id))


@router.post("/{application_id}/{action}")
def decide(
    application_id: Id,
    action: Literal["approve", "reject", "revoke"],
    principal: Caller,
    db: Db,
    body: Decision = Body(default_factory=Decision),
) -> dict:
    """approve (optionally with an earlier `end`), reject or revoke (with a `reason`): a steward of
    the dataset's department or an admin, never the applicant."""
    with db.write() as s:
        app = applications.get_for_staff(s, principal, application_id)
        if action == "approve":
            applications.approve(s, principal, app, end=body.end, reason=body.reason)
        elif action == "reject":
            applications.reject(s, principal, app, body.reason or "")
        else:
            applications.revoke(s, principal, app, body.reason or "")
        return applications.application_out(app)
