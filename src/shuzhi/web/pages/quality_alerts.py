"""Pages of quality supervision: the alert inbox (filter, acknowledge, resolve) and the department scorecard."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Query, Request

from shuzhi import textlimits as limits
from shuzhi.errors import ShuzhiError
from shuzhi.i18n import N_
from shuzhi.orgs.service import Principal, get_department, list_departments
from shuzhi.quality import alerts, supervision
from shuzhi.store.db import Database
from shuzhi.textlimits import Id
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.templating import templates

router = APIRouter(prefix="/quality", include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]

METRICS = {
    "rows": N_("row count"),
    "null_share": N_("null share"),
    "distinct": N_("distinct values"),
    "mean": N_("mean"),
}
COMPONENTS = {
    "timeliness": N_("timeliness"),
    "quality": N_("quality"),
    "stability": N_("stability"),
    "conformity": N_("conformity"),
    "responsiveness": N_("responsiveness"),
}
DONE = {"acknowledge": N_("Alert %(id)s acknowledged."), "resolve": N_("Alert %(id)s resolved.")}


def _choice(value: str, allowed) -> str | None:
    return value if value in allowed else None


def _inbox(request: Request, principal: Principal, db: Database, filters: dict, *, error=None, error_for=""):
    with db.read() as s:
        dept = get_department(s, filters["department"]) if filters["department"] else None
        rows = alerts.list_alerts(
            s,
            principal,
            state=filters["state"],
            department_id=dept.id if dept else None,
            kind=filters["kind"],
        )
        return templates.TemplateResponse(
            request,
            "quality_alerts.html",
            {
                "alerts": alerts.alerts_out(s, rows),
                "counts": alerts.count_by_state(s, principal, dept.id if dept else None),
                "people": alerts.people(s, rows),
                "departments": list_departments(s) if alerts.sees_all(principal) else [],
                "filters": filters,
                "kinds": alerts.KINDS,
                "states": alerts.STATES,
                "severities": alerts.SEVERITIES,
                "metrics": METRICS,
                "can_act": lambda a: (
                    principal.is_admin
                    or (principal.has("steward") and principal.department_code == a["department"])
                ),
                "error": error,
                "error_for": error_for,
            },
            status_code=error.status if error is not None else 200,
        )


@router.get("/alerts")
def inbox(
    request: Request,
    principal: Viewer,
    db: Db,
    state: str = Query("open", max_length=20),
    kind: str = Query("", max_length=40),
    department: str = Query("", max_length=limits.CODE),
):
    filters = {
        "state": _choice(state, [*alerts.STATES, "open"]),
        "kind": _choice(kind, alerts.KINDS),
        "department": department or None,
    }
    return _inbox(request, principal, db, filters)


@router.post("/alerts/{alert_id}/{action}")
def act(
    request: Request,
    principal: Viewer,
    db: Db,
    alert_id: Id,
    action: Literal["acknowledge", "resolve"],
    note: Annotated[str, Form(max_length=limits.REASON)] = "",
):
    try:
        with db.write() as s:
            if action == "acknowledge":
                alerts.acknowledge(s, principal, alert_id, note)
            else:
                alerts.resolve(s, principal, alert_id, note)
    except ShuzhiError as e:
        filters = {"state": None, "kind": None, "department": None}
        return _inbox(request, principal, db, filters, error=e, error_for=f"alert-{alert_id}")
    return flash.redirect("/quality/alerts", DONE[action], id=alert_id)


@router.get("/scorecard")
def scorecard(request: Request, principal: Viewer, db: Db):
    with db.read() as s:
        ranked = supervision.scorecard(s, request.app.state.settings, principal)
        return templates.TemplateResponse(
            request,
            "quality_scorecard.html",
            {
                "ranked": ranked,
                "components": COMPONENTS,
                "window": request.app.state.settings.quality.supervision_window_days,
            },
        )
