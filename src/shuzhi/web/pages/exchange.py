"""Pages of the sharing exchange: request form and detail, provider inbox with its approval preview,
grants and their detail, my grants (the SQL workbench is its own page: `shuzhi.web.pages.workbench`),
the dataset page's rows and downloads."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from markupsafe import escape
from sqlalchemy import select

from shuzhi import i18n
from shuzhi import textlimits as limits
from shuzhi.catalog.service import can_manage, get_dataset, sensitive_columns
from shuzhi.errors import InvalidInput, NotFound, ShuzhiError
from shuzhi.exchange import decision, masking, quotas, service, share_requests
from shuzhi.exchange.aliases import plain_name
from shuzhi.exchange.channels import Channel
from shuzhi.exchange.decision import grant_masks
from shuzhi.exchange.grades import dataset_grades
from shuzhi.exchange.models import Grant, ShareRequest
from shuzhi.exchange.results import sql_first_page
from shuzhi.i18n import M_, N_
from shuzhi.ledger import events as ledger_events
from shuzhi.ledger import query as ledger_query
from shuzhi.orgs.models import User
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database
from shuzhi.textlimits import Name
from shuzhi.web import flash
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.responses import respond
from shuzhi.web.templating import page_context, request_lang, templates

router = APIRouter(prefix="/exchange", include_in_schema=False)


Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]


def _page(request: Request, name: str, ctx: dict, status: int = 200):
    return templates.TemplateResponse(
        request,
        name,
        {
            "states": share_requests.STATE_LABELS,
            "number": share_requests.application_number,
            "quota_note": QUOTA_NOTE,
            **ctx,
        },
        status_code=status,
    )


QUOTA_NOTE = N_(
    "A grant with a rows-per-day quota reads records one by one: no aggregates (count, GROUP BY…), "
    "joins, subqueries or windows, since one aggregated row could carry many records' values; "
    "leave it empty for analysis."
)
"""Said beside the quota field of an approval and on every grant that has a row quota."""


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
            N_("Find the dataset in the catalog first, then choose “Request access” on its page."),
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
        entered = {"fields": fields or [], "purpose": purpose, "basis": basis, "period_end": period_end}
        with db.read() as s:
            return _page(
                request,
                "exchange_request.html",
                {"ds": get_dataset(s, dataset), "error": e, "entered": entered},
                e.status,
            )
    return flash.redirect(
        f"/exchange?created={rid}",
        N_("Request #%(id)s submitted; the providing department will review it."),
        id=rid,
    )


@router.get("/inbox")
def inbox_page(request: Request, principal: Viewer, db: Db):
    return _inbox(request, principal, db)


def _inbox(
    request: Request,
    principal,
    db,
    *,
    error: ShuzhiError | None = None,
    error_for: str = "",
    entered: dict | None = None,
):
    """The review inbox; after a refused decision or revocation, with its message beside that form
    (`error_for` names it: request-N or provided-N) and, for a decision, what was entered in it."""
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
                "entered": entered or {},
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
    back: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    """The provider withdraws a grant (with a reason, audited); back to the inbox (or the grant's page,
    `back=detail`), or there with what is wrong beside the form."""
    try:
        with db.write() as s:
            grant = share_requests.visible_grant(s, principal, grant_id)
            share_requests.revoke_grant(s, principal, grant, reason)
    except ShuzhiError as e:
        if back == "detail":
            return _grant_detail(request, principal, db, grant_id, error=e, error_for="revoke")
        return _inbox(request, principal, db, error=e, error_for=f"provided-{grant_id}")
    target = f"/exchange/grants/{grant_id}" if back == "detail" else "/exchange/inbox#provided"
    return flash.redirect(target, N_("Grant #%(id)s revoked."), id=grant_id)


@router.post("/grants/{grant_id}/renew")
def renew_grant_form(
    grant_id: int,
    request: Request,
    principal: Viewer,
    db: Db,
    expires_on: Annotated[str, Form(max_length=limits.CODE)] = "",
    reason: Annotated[str, Form(max_length=limits.REASON)] = "",
):
    """The provider extends a grant to a later last day (with a reason, audited as grant.renewed)."""
    try:
        day = _form_date({"expires_on": expires_on}, "expires_on")
        if day is None:
            raise InvalidInput(M_("the new expiry is required"), where="expires_on")
        with db.write() as s:
            grant = share_requests.visible_grant(s, principal, grant_id)
            share_requests.renew_grant(s, principal, grant, day, reason)
    except ShuzhiError as e:
        return _grant_detail(
            request,
            principal,
            db,
            grant_id,
            error=e,
            error_for="renew",
            entered={"expires_on": expires_on, "reason": reason},
        )
    return flash.redirect(
        f"/exchange/grants/{grant_id}",
        N_("Grant #%(id)s renewed until %(day)s."),
        id=grant_id,
        day=day,
    )


@router.get("/grants/{grant_id}")
def grant_page(grant_id: int, request: Request, principal: Viewer, db: Db):
    return _grant_detail(request, principal, db, grant_id)


def _grant_detail(
    request: Request,
    principal: Principal,
    db: Database,
    grant_id: int,
    *,
    error: ShuzhiError | None = None,
    error_for: str = "",
    entered: dict | None = None,
):
    """One grant as it applies: fields and masks, row filter, quotas with today's use, expiry and state;
    for the provider, revoke and renew. The grantee's and the provider's side only (others: 404)."""
    with db.read() as s:
        grant = share_requests.visible_grant(s, principal, grant_id)
        row = _grant_rows(request, s, [grant])[0]
        history = _ledger_steps(
            s,
            grant.dataset_id,
            ("grant.",),
            lambda d: d.get("grant_id") == grant.id,
            request_lang(request),
            grant.created_at - EARLIER,
        )
        return _page(
            request,
            "exchange_grant.html",
            {
                "row": row,
                "g": grant,
                "state": _grant_state(grant, i18n.translator(request_lang(request))),
                "provider": can_manage(principal, grant.dataset),
                "grantee": principal.department_id == grant.department_id,
                "history": history,
                "today": date.today(),
                "error": error,
                "error_for": error_for,
                "entered": entered or {},
            },
            error.status if error is not None else 200,
        )


def _grant_state(grant: Grant, catalog: i18n.Translator) -> tuple[str, str]:
    """(code, words) of a grant now: revoked, expired or active ("active" as in force, a context
    a table of plain messages cannot carry)."""
    if grant.revoked_at is not None:
        return ("revoked", catalog.gettext("revoked"))
    if grant.expires_at <= utcnow():
        return ("expired", catalog.gettext("expired"))
    return ("active", catalog.pgettext("in force", "active"))


@router.post("/requests/{request_id}/decide")
async def decide(request_id: int, request: Request, principal: Viewer, db: Db):
    form = await request.form()
    try:
        await run_in_threadpool(_decide, request_id, form, request.app.state.settings, principal, db)
    except ShuzhiError as e:
        entered = {
            "fields": form.getlist("fields"),
            "masks": {k.removeprefix("mask_"): str(v) for k, v in form.items() if k.startswith("mask_")},
            **{k: str(form.get(k) or "") for k in DECISION_TEXTS},
        }
        return await run_in_threadpool(
            _inbox, request, principal, db, error=e, error_for=f"request-{request_id}", entered=entered
        )
    if form.get("action") == "reject":
        return flash.redirect("/exchange/inbox", N_("Request #%(id)s rejected."), id=request_id)
    return flash.redirect(
        "/exchange/inbox",
        N_("Request #%(id)s approved; the grant is in force."),
        id=request_id,
    )


DECISION_TEXTS = ("row_filter", "expires_on", "rows_per_day", "calls_per_day", "reason")
"""The decision form's free fields, given back as entered when the decision is refused."""


def _decide(request_id: int, form, settings, principal: Principal, db: Database) -> None:
    action = form.get("action")
    if action not in ("approve", "reject"):  # an allowlist: no other word approves by default
        raise InvalidInput(M_("choose approve or reject"), where="action")
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
        raise InvalidInput(M_("%(name)s: a positive whole number", name=name), where=name)
    return int(value)


def _form_date(form, name: str) -> date | None:
    value = str(form.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(M_("%(name)s: a date such as 2026-12-31", name=name), where=name) from None


# -- a request's own page: number, what was asked and granted, its timeline, amend after rejection --


@router.get("/requests/{request_id}")
def request_page(request_id: int, request: Request, principal: Viewer, db: Db):
    return _request_detail(request, principal, db, request_id)


def _request_detail(
    request: Request,
    principal: Principal,
    db: Database,
    request_id: int,
    *,
    error: ShuzhiError | None = None,
    entered: dict | None = None,
):
    """One request: its application number, fields asked and granted, purpose and basis, state and
    timeline; the requester's side may amend and resubmit it once rejected. Requester's side and
    provider's side only (others: 404, as if it did not exist)."""
    with db.read() as s:
        req = share_requests.get_request(s, principal, request_id)
        grants = list(s.scalars(select(Grant).where(Grant.request_id == req.id).order_by(Grant.id)))
        requester_side = principal.user_id == req.requester_id or (
            principal.has("steward") and principal.department_id == req.department_id
        )
        return _page(
            request,
            "exchange_request_detail.html",
            {
                "r": req,
                "grants": grants,
                "timeline": request_timeline(s, req, request_lang(request)),
                "can_amend": req.state == "rejected" and requester_side,
                "provider": can_manage(principal, req.dataset),
                "error": error,
                "entered": entered
                or {
                    "fields": list(req.fields),
                    "purpose": req.purpose,
                    "basis": req.basis or "",
                    "period_end": req.period_end.isoformat() if req.period_end else "",
                },
            },
            error.status if error is not None else 200,
        )


EARLIER = timedelta(seconds=5)
"""A request's or grant's first entry is appended just after its row is stamped: look from a little
before, against clocks read a moment apart."""


def request_timeline(session, req: ShareRequest, lang: str) -> list[dict]:
    """What happened to a request, oldest first, from the ledger: drafted, submitted, amended,
    approved or rejected with reason and who, its grant made, renewed, revoked, the request expired."""
    grant_ids = set(session.scalars(select(Grant.id).where(Grant.request_id == req.id)))
    return _ledger_steps(
        session,
        req.dataset_id,
        ("request.", "grant."),
        lambda d: d.get("request_id") == req.id or d.get("grant_id") in grant_ids,
        lang,
        req.created_at - EARLIER,
    )


def _ledger_steps(
    session, dataset_id: int, kinds: tuple[str, ...], belongs, lang: str, since: datetime
) -> list[dict]:
    """The entries of these kinds on one dataset since a moment whose detail `belongs` (read through
    the ledger's own query functions), oldest first, with who and why."""
    found = []
    for kind in kinds:
        flt = ledger_query.EntryFilter(dataset_id=dataset_id, event=kind, since=since)
        before = None
        while True:  # page by page, newest first, to the first entry since `since`
            entries = ledger_query.search(session, flt, before_seq=before, limit=ledger_query.MAX_PAGE)
            for e in entries:
                detail = json.loads(e.entry).get("detail") or {}
                if belongs(detail):
                    found.append((e, detail))
            if len(entries) < ledger_query.MAX_PAGE:
                break
            before = entries[-1].seq
    found.sort(key=lambda pair: pair[0].seq)
    ids = {e.user_id for e, _ in found if e.user_id is not None}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}
    steps = []
    for e, detail in found:
        who = users.get(e.user_id)
        steps.append(
            {
                "seq": e.seq,
                "event": e.event,
                "label": ledger_events.lookup(e.event).label(lang),
                "at": e.created_at,
                "who": who.display_name if who is not None else "",
                "reason": detail.get("reason"),
                "detail": detail,
            }
        )
    return steps


@router.post("/requests/{request_id}/resubmit")
def resubmit(
    request_id: int,
    request: Request,
    principal: Viewer,
    db: Db,
    purpose: Annotated[str, Form(max_length=limits.REASON)] = "",
    basis: Annotated[str, Form(max_length=limits.REASON)] = "",
    fields: Annotated[list[Name] | None, Form()] = None,
    period_end: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    """The requester's side amends a rejected request and submits it again (same number, audited)."""
    settings = request.app.state.settings
    entered = {"fields": fields or [], "purpose": purpose, "basis": basis, "period_end": period_end}
    try:
        with db.write() as s:
            req = share_requests.get_request(s, principal, request_id)
            share_requests.resubmit_request(
                s,
                settings,
                principal,
                req,
                share_requests.RequestIn.of(
                    dataset=req.dataset.identifier,
                    fields=fields or [],
                    purpose=purpose,
                    basis=basis or None,
                    period_end=period_end or None,
                ),
            )
            number = share_requests.application_number(req)
    except NotFound:
        raise
    except ShuzhiError as e:
        return _request_detail(request, principal, db, request_id, error=e, entered=entered)
    return flash.redirect(
        f"/exchange/requests/{request_id}",
        N_("Request %(number)s amended and submitted again."),
        number=number,
    )


# -- the dataset page's rows and downloads, through the governed read ---------------------------

PREVIEW_ROWS = 5
"""Rows a dataset page shows when asked: a look at the data, not a way to read it."""
PREVIEW_PURPOSE = "数据集页面预览 / dataset page preview"
DOWNLOAD_PURPOSE = "数据集页面下载 / dataset page download"
"""The purpose a dataset page's read writes into the ledger's data.read entry: the record's words,
not the page's, so they stay as they have always been written (an auditor's search for them finds
old entries and new alike) and the audit pages show them as recorded."""


def dataset_rows_section(request: Request, session, principal: Principal, ds) -> str:
    """The dataset page's rows section: for a viewer who may read the dataset, its first rows on
    request (`?rows=1`, a governed read: masked as this viewer reads it, audited, counted against a
    grant's quotas) and CSV/XLSX downloads; for anyone else, why not and what to do.

    The owner's department reads its own data unmasked: its sensitive fields (graded L3 and above)
    are held back from the rows unless asked for (`reveal=1`), as the profile holds back their values.
    Everyone else sees the rows as their grant (or unconditional sharing) masks them."""
    settings = request.app.state.settings
    ctx = page_context(request)
    refused = None
    readable: list[str] = []
    owner = False
    try:
        decided = decision.decide(session, settings, principal, ds)
        readable, owner = decided.table.granted_in_order(), decided.basis == "owner"
    except ShuzhiError as e:
        refused = e
    reveal = request.query_params.get("reveal") == "1"
    # A grant's masks already decide what its holder sees; the owner reads unmasked, so its
    # sensitive fields wait to be asked for, as the profile's values do.
    sensitive = sensitive_columns(session, settings, ds) if owner else frozenset()
    held = [] if reveal else [f for f in readable if f in sensitive]
    shown = [f for f in readable if f not in held]
    result = error = None
    if readable and request.query_params.get("rows") == "1" and shown:
        try:
            result = sql_first_page(
                get_db(request),
                settings,
                principal,
                starter_query(ds.identifier, shown, limit=PREVIEW_ROWS),
                PREVIEW_ROWS,
                purpose=PREVIEW_PURPOSE,
            )
        except ShuzhiError as e:
            error = e
    return templates.get_template("exchange_dataset_rows.html").render(
        request=request,
        ds=ds,
        refused=refused,
        readable=readable,
        held=held,
        shown=shown,
        reveal=reveal,
        result=result,
        error=error,
        offer=share_requests.offered_action(principal, ds) if refused is not None else None,
        downloads=DATASET_DOWNLOADS,
        **ctx,
    )


DATASET_DOWNLOADS = ("csv", "xlsx")


@router.post("/datasets/{ref}/download")
def dataset_download(
    ref: str,
    request: Request,
    principal: Viewer,
    db: Db,
    format: Annotated[str, Form(max_length=limits.CODE)] = "csv",
):
    """The dataset's fields this viewer may read, as CSV or XLSX: the workbench's governed read
    (`service.run_sql`: masked, filtered, quota-counted, audited) and its download (`respond`)."""
    settings = request.app.state.settings
    if format not in DATASET_DOWNLOADS:
        raise InvalidInput(
            M_("unsupported format: %(format)s", format=format),
            where="format",
            hint=M_("formats: %(formats)s", formats="csv, xlsx"),
        )
    with db.read() as s:
        ds = get_dataset(s, ref)
        identifier = ds.identifier
    fields = service.granted_fields(db, settings, principal, identifier, channel=Channel.SQL)
    sql = starter_query(identifier, fields, limit=None)
    read = service.run_sql(db, settings, principal, sql, purpose=DOWNLOAD_PURPOSE)
    return respond(read, format, max_bytes=int(settings.exchange.max_response_bytes), for_people=True)


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


def starter_query(
    identifier: str, fields: list[str], *, alias: str | None = None, limit: int | None = 100
) -> str:
    """A first query of a dataset: its fields by name (SELECT * is refused), the first `limit` rows
    (all, None); the dataset by its SQL-safe `alias` when given (written bare), else its identifier, quoted."""

    def quoted(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    table = alias if alias and plain_name(alias) else quoted(identifier)
    sql = f"SELECT {', '.join(quoted(f) for f in fields)} FROM {table}"
    return sql if limit is None else f"{sql} LIMIT {limit}"


def dataset_actions(request: Request, principal, dataset) -> list[str]:
    """The dataset page's sharing action for this viewer (the exchange's part of that page)."""
    action = share_requests.offered_action(principal, dataset)
    _ = i18n.translator(request_lang(request)).gettext
    if action == "request":
        href = f"/exchange/request/new?dataset={quote(dataset.identifier)}"
        return [f'<a href="{escape(href)}" id="request-access">{escape(_("Request access"))}</a>']
    if action == "query":
        starter = starter_query(dataset.identifier, [f.name for f in dataset.fields])
        href = f"/exchange/workbench?sql={quote(starter)}"
        label = _("Shared unconditionally: query it")
        return [f'<a href="{escape(href)}" id="query-directly">{escape(label)}</a>']
    return []


def _grant_rows(request: Request, session, grants) -> list[dict]:
    """What the analyst holds, each grant as it applies: every field with its mask (the grant's own,
    else its grade's default), today's use against the quotas, and a first query over its fields."""
    settings = request.app.state.settings
    used = quotas.used_today(session, [g.id for g in grants])
    lang = request_lang(request)
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
