"""The grading section of a dataset page, its review and alert forms (POST, CSRF-checked, then back to the page)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from shuzhi import textlimits as limits
from shuzhi.catalog import service as catalog
from shuzhi.catalog.models import Dataset
from shuzhi.classify import alerts, readmodel, review, reviewers
from shuzhi.classify.rules import load_rules
from shuzhi.orgs.service import Principal
from shuzhi.web import flash
from shuzhi.web.deps import page_principal, write_session
from shuzhi.web.templating import page_context, templates

router = APIRouter(include_in_schema=False)


def section_html(request: Request, session: Session, principal: Principal, dataset) -> str:
    """The rendered grading section (the dataset page collects it through `dataset_page_sections`)."""
    settings = request.app.state.settings
    return templates.get_template("classify_section.html").render(
        request=request,
        ds=dataset,
        info=readmodel.classification(session, settings, dataset),
        can_review=reviewers.can_review(principal, dataset),
        can_approve=principal.is_admin and principal.user_id is not None,
        me=principal.username,
        categories=sorted(load_rules(settings).categories.items()),
        **page_context(request),
    )


def _back(ds: Dataset) -> RedirectResponse:
    """After a form, back to the grading section of the dataset page."""
    return flash.redirect(f"/datasets/{ds.identifier}#classification", "已保存。", "Saved.")


@router.post("/datasets/{ref}/classification/columns/{field}")
def review_column_form(
    ref: str,
    field: str,
    request: Request,
    action: str = Form(..., max_length=limits.CODE),
    reason: str = Form(..., max_length=limits.REASON),
    category: str | None = Form(None, max_length=limits.CODE),
    session: Session = Depends(write_session),
    principal: Principal = Depends(page_principal),
):
    ds = catalog.get_dataset(session, ref)
    review.review_column(
        session,
        request.app.state.settings,
        principal,
        ds,
        field,
        action=action,
        reason=reason,
        category=category or None,
    )
    return _back(ds)


@router.post("/datasets/{ref}/classification/grade")
def review_grade_form(
    ref: str,
    request: Request,
    action: str = Form(..., max_length=limits.CODE),
    reason: str = Form(..., max_length=limits.REASON),
    level: str | None = Form(None, max_length=limits.CODE),
    data_class: str | None = Form(None, max_length=limits.CODE),
    session: Session = Depends(write_session),
    principal: Principal = Depends(page_principal),
):
    ds = catalog.get_dataset(session, ref)
    review.review_grade(
        session,
        request.app.state.settings,
        principal,
        ds,
        action=action,
        reason=reason,
        level=level or None,
        data_class=data_class or None,
    )
    return _back(ds)


@router.post("/classification/lowerings/{request_id}/approve")
def approve_lowering_form(
    request_id: int,
    request: Request,
    note: str | None = Form(None, max_length=limits.REASON),
    session: Session = Depends(write_session),
    principal: Principal = Depends(page_principal),
):
    done = review.approve_lowering(session, request.app.state.settings, principal, request_id, note=note)
    return _back(session.get(Dataset, done.dataset_id))


@router.post("/classification/lowerings/{request_id}/reject")
def reject_lowering_form(
    request_id: int,
    note: str = Form("", max_length=limits.REASON),
    session: Session = Depends(write_session),
    principal: Principal = Depends(page_principal),
):
    done = review.reject_lowering(session, principal, request_id, note=note)
    return _back(session.get(Dataset, done.dataset_id))


@router.post("/datasets/{ref}/classification/alerts/{alert_id}/resolve")
def resolve_alert_form(
    ref: str,
    alert_id: int,
    session: Session = Depends(write_session),
    principal: Principal = Depends(page_principal),
):
    ds = catalog.get_dataset(session, ref)
    alerts.resolve_alert(session, principal, ds, alert_id)
    return _back(ds)
