"""REST endpoints of grading: a dataset's classification, (re)classify, steward review, alerts, and
the second person's decision on lowering a grade."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shuzhi.catalog import service as catalog
from shuzhi.classify import alerts, grading, lowering, readmodel, review, reviewers
from shuzhi.classify.models import LOWERING_STATES, LoweringRequest
from shuzhi.orgs.service import Principal
from shuzhi.textlimits import Code, Id, Name, Reason
from shuzhi.web.deps import WRITE, current_principal, read_session, require_role

router = APIRouter(tags=["classify 数据分类分级"])


class ColumnReviewIn(BaseModel):
    action: Literal["confirm", "override"]
    reason: Reason = Field(min_length=1, description="复核理由 (reason)")
    category: Code | None = Field(None, description="override 时的新类别 (new category when overriding)")


class GradeReviewIn(BaseModel):
    action: Literal["confirm", "override"]
    reason: Reason = Field(min_length=1)
    level: Code | None = None
    data_class: Code | None = None


class LoweringDecisionIn(BaseModel):
    note: Reason | None = Field(None, description="审批意见；驳回时必填 (a note; required to reject)")


class AlertResolveIn(BaseModel):
    note: Reason | None = Field(None, description="处理说明 (what was done about it)")


@router.get("/datasets/{ref}/classification")
def get_classification(
    ref: Name,
    request: Request,
    session: Session = Depends(read_session),
    _: Principal = Depends(current_principal),
) -> dict:
    """Grade, deciding rule, per-column category/confidence/evidence, active overrides, open alerts."""
    return readmodel.classification(session, request.app.state.settings, catalog.get_dataset(session, ref))


@router.post("/datasets/{ref}/classification/run")
def run_classification(
    ref: Name,
    request: Request,
    full: bool = False,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Re-scan the latest version (owner's steward or admin)."""
    ds = catalog.get_dataset(session, ref)
    reviewers.require_reviewer(principal, ds)
    settings = request.app.state.settings
    grading.classify_version(session, settings, catalog.get_version(session, ds), full=full)
    return readmodel.classification(session, settings, ds)


@router.post("/datasets/{ref}/classification/columns/{field}")
def review_column(
    ref: Name,
    field: Name,
    body: ColumnReviewIn,
    request: Request,
    response: Response,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Confirm or override one column's category, with a reason. An override below the level grading
    derived waits for an admin's approval: 202, and the request under `pending_lowering`."""
    settings = request.app.state.settings
    ds = catalog.get_dataset(session, ref)
    result = review.review_column(
        session,
        settings,
        principal,
        ds,
        field,
        action=body.action,
        reason=body.reason,
        category=body.category,
    )
    return _reviewed(session, settings, ds, result, response)


@router.post("/datasets/{ref}/classification/grade")
def review_grade(
    ref: Name,
    body: GradeReviewIn,
    request: Request,
    response: Response,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Confirm the derived dataset grade or set another level / data class, with a reason. A level or
    class below what grading derived waits for an admin's approval: 202, and the request under
    `pending_lowering`."""
    settings = request.app.state.settings
    ds = catalog.get_dataset(session, ref)
    result = review.review_grade(
        session,
        settings,
        principal,
        ds,
        action=body.action,
        reason=body.reason,
        level=body.level,
        data_class=body.data_class,
    )
    return _reviewed(session, settings, ds, result, response)


def _reviewed(session: Session, settings, ds, result, response: Response) -> dict:
    out = readmodel.classification(session, settings, ds)
    if isinstance(result, LoweringRequest):
        response.status_code = 202
        out["pending_lowering"] = lowering.as_dict(result)
    return out


@router.get("/classification/lowerings")
def list_lowerings(
    state: Literal[LOWERING_STATES] = "pending",
    limit: int = Query(100, ge=1, le=500),
    session: Session = Depends(read_session),
    _: Principal = Depends(require_role("admin", "auditor")),
) -> dict:
    """Requests to lower a grade below what grading derived (admins and auditors), newest first."""
    return {"lowerings": [lowering.as_dict(r) for r in lowering.search(session, state=state, limit=limit)]}


@router.post("/classification/lowerings/{request_id}/approve")
def approve_lowering(
    request_id: Id,
    body: LoweringDecisionIn,
    request: Request,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Approve a pending lowering (an admin other than who asked): the lower level holds from now."""
    done = review.approve_lowering(session, request.app.state.settings, principal, request_id, note=body.note)
    return lowering.as_dict(done)


@router.post("/classification/lowerings/{request_id}/reject")
def reject_lowering(
    request_id: Id,
    body: LoweringDecisionIn,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Reject a pending lowering, with a note (an admin other than who asked): the higher level stays."""
    return lowering.as_dict(review.reject_lowering(session, principal, request_id, note=body.note or ""))


@router.post("/datasets/{ref}/classification/alerts/{alert_id}/resolve")
def resolve_alert(
    ref: Name,
    alert_id: Id,
    body: AlertResolveIn | None = None,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Mark an open alert resolved (owner's steward or admin), with an optional note; 409 if already resolved."""
    ds = catalog.get_dataset(session, ref)
    alert = alerts.resolve_alert(session, principal, ds, alert_id, note=body.note if body else None)
    return {"id": alert.id, "resolved": alert.resolved}
