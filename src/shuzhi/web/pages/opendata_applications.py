"""The staff page of applications for conditional open data: those awaiting the department's decision, and the decided."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request

from shuzhi import textlimits as limits
from shuzhi.errors import InvalidInput, ShuzhiError
from shuzhi.i18n import M_, N_
from shuzhi.opendata import applications
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database
from shuzhi.textlimits import Id
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.templating import templates

router = APIRouter(prefix="/opendata/applications", include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]

STATE_LABELS = {
    "submitted": N_("awaiting decision"),
    "approved": N_("approved"),
    "expired": N_("expired"),
    "rejected": N_("rejected"),
    "revoked": N_("revoked"),
}
"""An application's shown state in words (also on the applicant's own pages)."""

DONE = {
    "approve": N_("Application %(id)s approved."),
    "reject": N_("Application %(id)s rejected."),
    "revoke": N_("Application %(id)s revoked."),
}


def _page(request: Request, principal: Principal, db: Database, *, error=None, error_for: str = ""):
    today = utcnow().date()
    with db.read() as s:
        found = applications.for_staff(s, principal)
        return templates.TemplateResponse(
            request,
            "opendata_applications.html",
            {
                "waiting": [a for a in found if a.state == "submitted"],
                "decided": [a for a in found if a.state != "submitted"],
                "shown_state": lambda a: applications.shown_state(a, today),
                "states": STATE_LABELS,
                "error": error,
                "error_for": error_for,
            },
            status_code=error.status if error is not None else 200,
        )


@router.get("")
def applications_page(request: Request, principal: Viewer, db: Db):
    return _page(request, principal, db)


def _day(text: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(M_("Enter a date such as 2026-12-31"), where="end") from None


@router.post("/{application_id}/{action}")
def decide(
    request: Request,
    principal: Viewer,
    db: Db,
    application_id: Id,
    action: Literal["approve", "reject", "revoke"],
    reason: Annotated[str, Form(max_length=limits.REASON)] = "",
    end: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    try:
        with db.write() as s:
            app = applications.get_for_staff(s, principal, application_id)
            if action == "approve":
                applications.approve(s, principal, app, end=_day(end), reason=reason)
            elif action == "reject":
                applications.reject(s, principal, app, reason)
            else:
                applications.revoke(s, principal, app, reason)
    except ShuzhiError as e:
        return _page(request, principal, db, error=e, error_for=f"application-{application_id}")
    return flash.redirect("/opendata/applications", DONE[action], id=application_id)
