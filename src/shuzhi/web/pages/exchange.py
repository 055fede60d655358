"""Pages of the sharing exchange: request form, provider inbox, my grants (the SQL workbench is its
own page: `shuzhi.web.pages.workbench`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from markupsafe import escape

from shuzhi import textlimits as limits
from shuzhi.catalog.service import get_dataset
from shuzhi.errors import InvalidInput, NotFound, ShuzhiError
from shuzhi.exchange import masking, quotas, share_requests
from shuzhi.exchange.aliases import plain_name
from shuzhi.exchange.decision import grant_masks
from shuzhi.exchange.grades import dataset_grades
from shuzhi.exchange.models import Grant
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import Name
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.templating import page_context, templates

router = APIRouter(prefix="/exchange", include_in_schema=False)


Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]


def _page(request: Request, name: str, ctx: dict, status: int = 200):
    return templates.TemplateResponse(
        request, name, {"states": share_requests.STATE_LABELS, **ctx}, status_code=status
    )


@router.get("")
def hub(request: Request, principal: Viewer, db: Db):
    with db.read() as s:
        return _page(
            request,
            "exchange_hub.html",
            {
                "mine": share_requests.my_requests(s, principal),
                "inbox": share_requests.inbox(s, principal),
                "overdue": share_requests.overdue(s, principal),
                "today": date.today(),
            },
        )


@router.get("/request/new")
def request_form(request: Request, principal: Viewer, db: Db, dataset: str = ""):
    if not dataset:  # a request is always for one dataset: it starts from that dataset's page
        return flash.redirect(
            "/catalog",
            "请先在数据目录中找到要申请的数据集，再点“申请共享”。",
            "Find the dataset in the catalog first, then choose “Request access” on its page.",
            kind="info",
        )
    with db.read() as s:
        return _page(request, "exchange_request.html", {"ds": get_dataset(s, dataset), "error": None})


@router.post("/request/new")
def request_submit(
    request: Request,
    principal: Viewer,
    db: Db,
    dataset: Annotated[str, Form(max_length=limits.NAME)],
    purpose: Annotated[str, Form(max_length=limits.REASON)] = "",
    basis: Annotated[str, Form(max_length=limits.REASON)] = "",
    fields: Annotated[list[Name] | None, Form()] = None,
    period_end: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    settings = request.app.state.settings
    try:
        with db.write() as s:
            req = share_requests.create_request(
                s,
                settings,
                principal,
                share_requests.RequestIn.of(
                    dataset=dataset,
                    fields=fields or [],
                    purpose=purpose,
                    basis=basis or None,
                    period_end=period_end or None,
                ),
                submit=True,
            )
            rid = req.id
    except ShuzhiError as e:
        with db.read() as s:
            return _page(
                request, "exchange_request.html", {"ds": get_dataset(s, dataset), "error": e}, e.status
            )
    return flash.redirect(
        f"/exchange?created={rid}",
        f"申请 #{rid} 已提交，等待数据提供部门审核。",
        f"Request #{rid} submitted; the providing department will review it.",
    )


@router.get("/inbox")
def inbox_page(request: Request, principal: Viewer, db: Db):
    return _inbox(request, principal, db)


def _inbox(request: Request, principal, db, *, error: ShuzhiError | None = None, error_for: str = ""):
    """The review inbox; after a refused decision or revocation, with its message beside that form
    (`error_for` names it: request-N or provided-N)."""
    settings = request.app.state.settings
    with db.read() as s:
        inbox = share_requests.inbox(s, principal)
        provided = (
            share_requests.provided_grants(s, principal)
            if share_requests.can_list_provided(principal)
            else []
        )
        forms = {f"request-{r.id}" for r in inbox} | {f"provided-{g.id}" for g in provided}
        return _page(
            request,
            "exchange_inbox.html",
            {
                "inbox": inbox,
                "grades": {r.id: dataset_grades(s, settings, r.dataset) for r in inbox},
                "overdue_ids": {r.id for r in share_requests.overdue(s, principal)},
                "provided": provided,
                "mask_kinds": masking.KINDS,
                "can_revoke": principal.has("steward", "admin"),
                "error": error,
                "error_for": error_for if error_for in forms else "",  # else shown above the lists
            },
            error.status if error is not None else 200,
        )


@router.post("/grants/{grant_id}/revoke")
def revoke_grant_form(
    grant_id: int,
    request: Request,
    principal: Viewer,
    db: Db,
    reason: Annotated[str, Form(max_length=limits.REASON)] = "",
):
    """The provider withdraws a grant (with a reason, audited); back to the inbox, or the inbox with
    what is wrong beside that grant's form."""
    try:
        with db.write() as s:
            grant = s.get(Grant, grant_id)
            if grant is None:
                raise NotFound(f"授权不存在 (no grant {grant_id})", where="grant")
            share_requests.revoke_grant(s, principal, grant, reason)
    except ShuzhiError as e:
        return _inbox(request, principal, db, error=e, error_for=f"provided-{grant_id}")
    return flash.redirect(
        "/exchange/inbox#provided", f"授权 #{grant_id} 已撤销。", f"Grant #{grant_id} revoked."
    )


@router.post("/requests/{request_id}/decide")
async def decide(request_id: int, request: Request, principal: Viewer, db: Db):
    form = await request.form()
    try:
        await run_in_threadpool(_decide, request_id, form, request.app.state.settings, principal, db)
    except ShuzhiError as e:
        return await run_in_threadpool(
            _inbox, request, principal, db, error=e, error_for=f"request-{request_id}"
        )
    if form.get("action") == "reject":
        return flash.redirect(
            "/exchange/inbox", f"申请 #{request_id} 已驳回。", f"Request #{request_id} rejected."
        )
    return flash.redirect(
        "/exchange/inbox",
        f"申请 #{request_id} 已批准，授权已生效。",
        f"Request #{request_id} approved; the grant is in force.",
    )


def _decide(request_id: int, form, settings, principal: Principal, db: Database) -> None:
    action = form.get("action")
    with db.write() as s:
        req = share_requests.get_request(s, principal, request_id)
        if action == "reject":
            share_requests.reject_request(s, principal, req, str(form.get("reason") or ""))
        else:
            masks = {f: form.get(f"mask_{f}") for f in req.fields if form.get(f"mask_{f}")}
            approval = share_requests.Approval(
                fields=form.getlist("fields") or None,
                row_filter=str(form.get("row_filter") or "") or None,
                masks=masks,
                expires_on=_form_date(form, "expires_on"),
                rows_per_day=_form_count(form, "rows_per_day"),
                calls_per_day=_form_count(form, "calls_per_day"),
            )
            share_requests.approve_request(
                s, settings, principal, req, approval, str(form.get("reason") or "") or None
            )


def _form_count(form, name: str) -> int | None:
    """A positive whole number from a form field, or None when left empty; InvalidInput naming it."""
    value = str(form.get(name) or "").strip()
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= limits.INT32_MAX:
        raise InvalidInput(f"{name} 须为正整数 ({name}: a positive whole number)", where=name)
    return int(value)


def _form_date(form, name: str) -> date | None:
    value = str(form.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{name} 须为日期，如 2026-12-31 ({name}: a date such as 2026-12-31)", where=name
        ) from None


@router.get("/grants")
def grants_page(
    request: Request, principal: Viewer, db: Db, sql: Annotated[str, Query(max_length=limits.SQL)] = ""
):
    if sql:
        # The workbench was on this page once: its links with a query open the workbench's own page.
        return RedirectResponse(f"/exchange/workbench?sql={quote(sql)}", status_code=303)
    with db.read() as s:
        return _page(
            request,
            "exchange_grants.html",
            {"grants": _grant_rows(request, s, share_requests.my_grants(s, principal))},
        )


def starter_query(identifier: str, fields: list[str], *, alias: str | None = None) -> str:
    """A first query of a dataset: its fields by name (SELECT * is refused), the first 100 rows;
    the dataset by its SQL-safe `alias` when given (written bare), else its identifier, quoted."""

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    table = alias if alias and plain_name(alias) else quoted(identifier)
    return f"SELECT {', '.join(quoted(f) for f in fields)} FROM {table} LIMIT 100"


def dataset_actions(request: Request, principal, dataset) -> list[str]:
    """The dataset page's sharing action for this viewer (the exchange's part of that page)."""
    action = share_requests.offered_action(principal, dataset)
    t = page_context(request)["t"]
    if action == "request":
        href = f"/exchange/request/new?dataset={quote(dataset.identifier)}"
        return [f'<a href="{escape(href)}" id="request-access">{escape(t("申请共享", "Request access"))}</a>']
    if action == "query":
        starter = starter_query(dataset.identifier, [f.name for f in dataset.fields])
        href = f"/exchange/workbench?sql={quote(starter)}"
        label = t("无条件共享：直接查询", "Shared unconditionally: query it")
        return [f'<a href="{escape(href)}" id="query-directly">{escape(label)}</a>']
    return []


def _grant_rows(request: Request, session, grants) -> list[dict]:
    """What the analyst holds, each grant as it applies: every field with its mask (the grant's own,
    else its grade's default), today's use against the quotas, and a first query over its fields."""
    settings = request.app.state.settings
    used = quotas.used_today(session, [g.id for g in grants])
    lang = page_context(request)["lang"]
    rows = []
    for g in grants:
        masks = grant_masks(g, dataset_grades(session, settings, g.dataset), list(g.fields))
        rows.append(
            {
                "grant": g,
                "masks": {name: rule.label(lang) for name, rule in masks.items()},
                "used": used.get(g.id, (0, 0)),
                "starter": starter_query(g.dataset.identifier, list(g.fields)),
            }
        )
    return rows
