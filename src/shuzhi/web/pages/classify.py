"""The grading section of a dataset page, its review and alert forms (POST, CSRF-checked, then back to the page)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session

from shuzhi import textlimits as limits
from shuzhi.catalog import service as catalog
from shuzhi.catalog.models import Dataset
from shuzhi.classify import alerts, readmodel, review, reviewers
from shuzhi.classify.models import LoweringRequest
from shuzhi.classify.rules import load_rules
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.i18n import N_
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.pages.core import render_dataset_page
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
        form_error=getattr(request.state, "form_error", None),
        **page_context(request),
    )


SAVED = N_("Saved.")


def _attempt(
    request: Request,
    db: Database,
    principal: Principal,
    ref: str,
    form: str,
    values: dict,
    work: Callable[[Session], Dataset | tuple[Dataset, str]],
    done: str = SAVED,
):
    """Run one form's `work` in its own write transaction, then back to the grading section with a
    banner; refused for what was entered, nothing is kept (the transaction rolls back) and the
    dataset page comes back with the message beside that form (`form`) and what was entered in it
    (`values`). A refusal of the reader (not allowed, not found) is the error page: who may not use
    a form is not shown one."""
    try:
        with db.write() as session:
            ds = work(session)
            if isinstance(ds, tuple):  # the work says what it did (a lowering asked, not applied)
                ds, done = ds
            target = f"/datasets/{ds.identifier}#classification"
    except (InvalidInput, Conflict) as error:  # the reader's input: said beside the form they used
        request.state.form_error = {"form": form, "error": error, "entered": values}
        with db.read() as session:
            return render_dataset_page(request, session, principal, db, ref, status=error.status)
    return flash.redirect(target, done)


@router.post("/datasets/{ref}/classification/columns/{field}")
def review_column_form(
    ref: str,
    field: str,
    request: Request,
    action: str = Form(..., max_length=limits.CODE),
    reason: str = Form("", max_length=limits.REASON),
    category: str | None = Form(None, max_length=limits.CODE),
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    def work(session: Session) -> Dataset:
        ds = catalog.get_dataset(session, ref)
        result = review.review_column(
            session,
            request.app.state.settings,
            principal,
            ds,
            field,
            action=action,
            reason=reason,
            category=category or None,
        )
        return _outcome(ds, result)

    values = {"action": action, "reason": reason, "category": category}
    return _attempt(request, db, principal, ref, f"column-{field}", values, work)


@router.post("/datasets/{ref}/classification/grade")
def review_grade_form(
    ref: str,
    request: Request,
    action: str = Form(..., max_length=limits.CODE),
    reason: str = Form("", max_length=limits.REASON),
    level: str | None = Form(None, max_length=limits.CODE),
    data_class: str | None = Form(None, max_length=limits.CODE),
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    def work(session: Session) -> Dataset:
        ds = catalog.get_dataset(session, ref)
        result = review.review_grade(
            session,
            request.app.state.settings,
            principal,
            ds,
            action=action,
            reason=reason,
            level=level or None,
            data_class=data_class or None,
        )
        return _outcome(ds, result)

    values = {"action": action, "reason": reason, "level": level, "data_class": data_class}
    return _attempt(request, db, principal, ref, "grade", values, work)


LOWERING_ASKED = N_(
    "Lowering requested: an admin of the data bureau must approve it; until then the higher grade holds."
)


def _outcome(ds: Dataset, result) -> tuple[Dataset, str]:
    return ds, (LOWERING_ASKED if isinstance(result, LoweringRequest) else SAVED)


def _lowering_dataset(db: Database, request_id: int) -> str:
    """The dataset a lowering request is about (its page is where the request's forms come back)."""
    with db.read() as session:
        found = review.lowering_dataset(session, request_id)
        return found.identifier if found is not None else ""


@router.post("/classification/lowerings/{request_id}/approve")
def approve_lowering_form(
    request_id: int,
    request: Request,
    note: str | None = Form(None, max_length=limits.REASON),
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    def work(session: Session) -> Dataset:
        done = review.approve_lowering(session, request.app.state.settings, principal, request_id, note=note)
        return session.get(Dataset, done.dataset_id)

    ref = _lowering_dataset(db, request_id)
    values = {"note": note}
    done = N_("Lowering approved; the new grade applies.")
    return _attempt(request, db, principal, ref, f"lowering-{request_id}", values, work, done)


@router.post("/classification/lowerings/{request_id}/reject")
def reject_lowering_form(
    request_id: int,
    request: Request,
    note: str = Form("", max_length=limits.REASON),
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    def work(session: Session) -> Dataset:
        done = review.reject_lowering(session, principal, request_id, note=note)
        return session.get(Dataset, done.dataset_id)

    ref = _lowering_dataset(db, request_id)
    done = N_("Lowering rejected; the higher grade stays.")
    return _attempt(request, db, principal, ref, f"lowering-{request_id}", {"note": note}, work, done)


@router.post("/datasets/{ref}/classification/alerts/{alert_id}/resolve")
def resolve_alert_form(
    ref: str,
    alert_id: int,
    request: Request,
    db: Database = Depends(get_db),
    principal: Principal = Depends(page_principal),
):
    def work(session: Session) -> Dataset:
        ds = catalog.get_dataset(session, ref)
        alerts.resolve_alert(session, principal, ds, alert_id)
        return ds

    done = N_("Alert marked resolved.")
    return _attempt(request, db, principal, ref, f"alert-{alert_id}", {}, work, done)
