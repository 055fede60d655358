"""REST API of the sharing exchange: requests, approvals, grants, and the governed read channels."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from shuzhi import textlimits as limits
from shuzhi.catalog.service import can_manage
from shuzhi.errors import Forbidden, InvalidInput, NotFound
from shuzhi.exchange import formats, preview, service, share_requests
from shuzhi.exchange.channels import RowsQuery
from shuzhi.exchange.models import Grant, ShareRequest
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import Count, Id, Name, Reason, RowFilter, Small, Sql
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import QUERIES, error_responses, media_responses
from shuzhi.web.responses import respond

router = APIRouter(prefix="/exchange", tags=["exchange 共享交换"], responses=error_responses(*QUERIES))
_READ_MEDIA = media_responses(*(f.media_type for f in formats.FORMATS.values()))


# No request-long transaction here: reads write their audit records in transactions of their own
# (a refusal must be recorded even though the read fails).
Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]


class RequestBody(share_requests.RequestIn):
    submit: bool = True
    """False keeps the request a draft."""


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None
    fields: list[Name] | None = Field(default=None, max_length=limits.ITEMS)
    row_filter: RowFilter | None = None
    masks: dict[Name, Any] | None = Field(default=None, max_length=limits.ITEMS)
    expires_on: date | None = None
    rows_per_day: Count | None = Field(default=None, gt=0)
    calls_per_day: Small | None = Field(default=None, gt=0)


class SqlBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sql: Sql = Field(min_length=1)
    grant_ids: dict[Name, Id] = Field(default_factory=dict, max_length=limits.ITEMS)
    purpose: Reason | None = None
    format: Literal[tuple(formats.FORMATS)] = "json"  # type: ignore[valid-type]
    max_rows: Count | None = Field(default=None, gt=0)


def request_out(r: ShareRequest) -> dict:
    return {
        "id": r.id,
        "dataset": r.dataset.identifier,
        "dataset_title": r.dataset.title_zh,
        "provider_department": r.dataset.department.code,
        "requesting_department": r.department.code,
        "requester": r.requester.username,
        "fields": list(r.fields),
        "purpose": r.purpose,
        "basis": r.basis,
        "period_start": _iso(r.period_start),
        "period_end": _iso(r.period_end),
        "state": r.state,
        "deadline": _iso(r.deadline),
        "submitted_at": _iso(r.submitted_at),
        "decided_at": _iso(r.decided_at),
        "decision_reason": r.decision_reason,
    }


def grant_out(g: Grant) -> dict:
    return {
        **share_requests.grant_summary(g),
        "dataset": g.dataset.identifier,
        "grantee_department": g.department.code,
        "revoked_at": _iso(g.revoked_at),
        "revoke_reason": g.revoke_reason,
    }


def _iso(v) -> str | None:
    return v.isoformat() if v is not None else None


# -- requests ---------------------------------------------------------------------------------


@router.post("/requests", status_code=201)
def create_request(body: RequestBody, principal: Caller, db: Db, request: Request) -> dict:
    settings = request.app.state.settings
    with db.write() as s:
        data = share_requests.RequestIn(**body.model_dump(exclude={"submit"}))  # the request proper
        return request_out(share_requests.create_request(s, settings, principal, data, submit=body.submit))


@router.get("/requests")
def list_requests(principal: Caller, db: Db, box: Literal["mine", "inbox", "overdue", "all"] = "mine"):
    """`mine`, `inbox`, `overdue` or `all` (see `requests_in_box`)."""
    with db.read() as s:
        return {"requests": [request_out(r) for r in share_requests.requests_in_box(s, principal, box)]}


@router.get("/requests/{request_id}")
def show_request(request_id: Id, principal: Caller, db: Db) -> dict:
    with db.read() as s:
        req = share_requests.get_request(s, principal, request_id)
        out = request_out(req)
        out["events"] = [
            {
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "at": _iso(e.at),
                "user_id": e.user_id,
            }
            for e in req.events
        ]
        return out


@router.get("/requests/{request_id}/approval/mask-preview")
def mask_preview(
    request_id: Id,
    principal: Caller,
    db: Db,
    request: Request,
    field: Name,
    mask: Annotated[str, Query(max_length=limits.CODE)] = "",
    lang: Literal["zh", "en"] = "zh",
) -> dict:
    """What the requester would see of one requested `field` under `mask` (a rule such as `hash`,
    `keep_first:1`; empty: the field's grade default), on three of the providing department's own
    values: for its steward deciding the request (requester's side 403, others 404). A data read of
    the owner's data, audited as `data.read`. The field must be one the request asks for and the mask
    a known rule (422 otherwise)."""
    shown = preview.mask_preview(
        db, request.app.state.settings, principal, request_id, field, mask or None, lang=lang
    )
    return {"field": shown.field, "mask": shown.mask, "default": shown.default, "values": shown.values}


@router.get("/requests/{request_id}/approval/row-filter-check")
def row_filter_check(
    request_id: Id,
    principal: Caller,
    db: Db,
    row_filter: Annotated[str, Query(max_length=limits.ROW_FILTER + 1)] = "",
) -> dict:
    """Whether `row_filter` would pass the approval's check on this request's dataset (`ok`, else the
    error's `message` and `where`), for the providing department's steward; no data is read."""
    with db.read() as s:
        req = share_requests.get_request(s, principal, request_id)
        if not can_manage(principal, req.dataset):
            raise NotFound(M_("no request %(request_id)s", request_id=request_id), where="request")
        try:
            share_requests.check_row_filter(req.dataset, row_filter)
        except (InvalidInput, Forbidden) as e:
            return {"ok": False, **e.to_dict()}
    return {"ok": True}


@router.post("/requests/{request_id}/{action}")
def act_on_request(
    request_id: Id,
    action: Literal["submit", "withdraw", "reject", "approve"],
    principal: Caller,
    db: Db,
    request: Request,
    body: Decision = Body(default_factory=Decision),
) -> dict:
    """Actions: submit, withdraw, reject, approve (approve may narrow: fields, row_filter, masks, quotas)."""
    settings = request.app.state.settings
    with db.write() as s:
        req = share_requests.get_request(s, principal, request_id)
        if action == "submit":
            share_requests.submit_request(s, settings, principal, req, body.reason)
        elif action == "withdraw":
            share_requests.withdraw_request(s, principal, req, body.reason or "")
        elif action == "reject":
            share_requests.reject_request(s, principal, req, body.reason or "")
        elif action == "approve":
            approval = share_requests.Approval(**body.model_dump(exclude={"reason"}))
            grant = share_requests.approve_request(s, settings, principal, req, approval, body.reason)
            return {**request_out(req), "grant": grant_out(grant)}
        else:
            from shuzhi.errors import NotFound

            raise NotFound(M_("unknown action: %(action)s", action=action))
        return request_out(req)


# -- grants -----------------------------------------------------------------------------------


@router.get("/grants")
def list_grants(principal: Caller, db: Db, provided: bool = False, inactive: bool = False) -> dict:
    with db.read() as s:
        rows = (
            share_requests.provided_grants(s, principal)
            if provided
            else share_requests.my_grants(s, principal, include_inactive=inactive)
        )
        return {"grants": [grant_out(g) for g in rows]}


@router.post("/grants/{grant_id}/revoke")
def revoke(grant_id: Id, principal: Caller, db: Db, body: Decision = Body(default_factory=Decision)) -> dict:
    with db.write() as s:
        return grant_out(
            share_requests.revoke_grant(
                s, principal, share_requests.get_grant(s, grant_id), body.reason or ""
            )
        )


# -- reads ------------------------------------------------------------------------------------


@router.get("/datasets/{dataset}/rows", responses=_READ_MEDIA)
def rows(
    dataset: Name,
    principal: Caller,
    db: Db,
    request: Request,
    fields: str | None = Query(
        None, max_length=limits.URL, description="逗号分隔 / comma-separated field names"
    ),
    filter: list[RowFilter] = Query(
        default_factory=list, description="field:op:value (eq ne lt le gt ge like in null notnull)"
    ),
    sort: str | None = Query(None, max_length=limits.URL, description="e.g. -income,name"),
    limit: Count = 100,
    offset: Count = 0,
    format: str = Query("json", pattern=formats.NAMES_PATTERN),
    grant_id: Id | None = None,
    version: Small | None = None,
    purpose: str | None = Query(None, max_length=limits.REASON),
):
    """Rows of a dataset as this caller may see them, filtered, sorted and paged."""
    settings = request.app.state.settings
    if format == "json":
        limit = min(limit, settings.exchange.page_max_rows)
    q = RowsQuery(
        dataset=dataset, fields=_split(fields), filters=filter, sort=_split(sort), limit=limit, offset=offset
    )
    read = service.read_rows(
        db,
        settings,
        principal,
        q,
        grant_id=grant_id,
        version=version,
        purpose=purpose,
        timeout_s=None if format == "json" else settings.exchange.export_timeout_s,
    )
    return respond(
        read,
        format,
        meta={"dataset": dataset, "limit": limit, "offset": offset},
        max_bytes=int(settings.exchange.max_response_bytes) if format == "json" else None,
    )


@router.post("/sql", responses=_READ_MEDIA)
def governed_sql(body: SqlBody, principal: Caller, db: Db, request: Request):
    """One SELECT over the datasets the caller may read: checked, masked, filtered, capped, audited.
    Text that is not one SELECT in DuckDB's dialect is refused with 422 (a rule no schema states)."""
    settings = request.app.state.settings
    read = service.run_sql(
        db,
        settings,
        principal,
        body.sql,
        grant_ids=body.grant_ids,
        purpose=body.purpose,
        max_rows=body.max_rows,
    )
    meta = {"datasets": read.query.datasets, "query_sha256": read.query.query_sha256}
    cap = int(settings.exchange.max_response_bytes)
    return respond(read, body.format, meta=meta, max_bytes=cap)


@router.get("/datasets/{dataset}/export", responses=_READ_MEDIA)
def export(
    dataset: Name,
    principal: Caller,
    db: Db,
    request: Request,
    format: str = Query("parquet", pattern="^(csv|parquet|arrow)$"),
    grant_id: Id | None = None,
    version: Small | None = None,
    purpose: str | None = Query(None, max_length=limits.REASON),
):
    """Bulk export of everything the caller may read of a dataset, as a file download."""
    read = service.open_export(
        db,
        request.app.state.settings,
        principal,
        dataset,
        grant_id=grant_id,
        version=version,
        purpose=purpose,
    )
    return respond(read, format)


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]
