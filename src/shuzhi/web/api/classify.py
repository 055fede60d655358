"""REST endpoints of grading: a dataset's classification, (re)classify, steward review, alerts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from shuzhi.catalog import service as catalog
from shuzhi.classify import alerts, grading, readmodel, review, reviewers
from shuzhi.orgs.service import Principal
from shuzhi.textlimits import Code, Id, Name, Reason
from shuzhi.web.deps import current_principal, read_session, write_session

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
    session: Session = Depends(write_session),
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
    session: Session = Depends(write_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """Confirm or override one column's category, with a reason."""
    settings = request.app.state.settings
    ds = catalog.get_dataset(session, ref)
    review.review_column(
        session,
        settings,
        principal,
        ds,
        field,
        action=body.action,
        reason=body.reason,
        category=body.category,
    )
    return readmodel.classification(session, settings, ds)


@router.post("/datasets/{ref}/classification/grade")
def review_grade(
    ref: Name,
    body: GradeReviewIn,
    request: Request,
    session: Session = Depends(write_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """Confirm the derived dataset grade or set another level / data class, with a reason."""
    settings = request.app.state.settings
    ds = catalog.get_dataset(session, ref)
    review.review_grade(
        session,
        settings,
        principal,
        ds,
        action=body.action,
        reason=body.reason,
        level=body.level,
        data_class=body.data_class,
    )
    return readmodel.classification(session, settings, ds)


@router.post("/datasets/{ref}/classification/alerts/{alert_id}/resolve")
def resolve_alert(
    ref: Name,
    alert_id: Id,
    body: AlertResolveIn | None = None,
    session: Session = Depends(write_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """Mark an open alert resolved (owner's steward or admin), with an optional note; 409 if already resolved."""
    ds = catalog.get_dataset(session, ref)
    alert = alerts.resolve_alert(session, principal, ds, alert_id, note=body.note if body else None)
    return {"id": alert.id, "resolved": alert.resolved}
