"""Auditor's pages: search the ledger, export it, and check an entry's inclusion proof in the browser."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset
from shuzhi.errors import Forbidden, InvalidInput
from shuzhi.ledger import events, keys, log, proofs, query
from shuzhi.orgs.models import Department, User
from shuzhi.orgs.service import Principal
from shuzhi.web.deps import page_principal, read_session, write_session
from shuzhi.web.templating import templates

router = APIRouter(include_in_schema=False)
AUDITORS = ("auditor", "admin")


def auditor_page(principal: Principal = Depends(page_principal)) -> Principal:
    if not principal.has(*AUDITORS):
        raise Forbidden("审计账本仅限审计员和管理员查看 (the audit ledger is for auditors and admins)")
    return principal


def _lookup(session: Session, model, column, value: str, what: str) -> int | None:
    """A form field that takes a name (username, department code, dataset identifier) or an id."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    found = session.scalar(select(model.id).where(column == value))
    if found is None:
        raise InvalidInput(f"找不到{what} {value!r} (no {what} {value!r})", where=what)
    return found


def _when(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"时间格式应为 ISO 8601 (bad time {value!r})", where="time") from None


def _names(session: Session, entries) -> dict:
    users = {e.user_id for e in entries if e.user_id}
    depts = {e.department_id for e in entries if e.department_id}
    return {
        "users": dict(session.execute(select(User.id, User.username).where(User.id.in_(users))).all()),
        "depts": dict(
            session.execute(select(Department.id, Department.code).where(Department.id.in_(depts))).all()
        ),
    }


@router.get("/audit")
def audit_page(
    request: Request,
    user: str = "",
    dept: str = "",
    dataset: str = "",
    event: str = "",
    outcome: str = "",
    since: str = "",
    until: str = "",
    before_seq: int | None = None,
    session: Session = Depends(read_session),
    principal: Principal = Depends(auditor_page),
):
    form = {
        "user": user,
        "dept": dept,
        "dataset": dataset,
        "event": event,
        "outcome": outcome,
        "since": since,
        "until": until,
    }
    flt = query.EntryFilter(
        user_id=_lookup(session, User, User.username, user, "user"),
        department_id=_lookup(session, Department, Department.code, dept, "department"),
        dataset_id=_lookup(session, Dataset, Dataset.identifier, dataset, "dataset"),
        event=event.strip() or None,
        outcome=outcome or None,
        since=_when(since),
        until=_when(until),
    )
    page_size = 100
    entries = query.search(session, flt, before_seq=before_seq, limit=page_size)
    api_params = {
        k: v
        for k, v in {
            "user_id": flt.user_id,
            "department_id": flt.department_id,
            "dataset_id": flt.dataset_id,
            "event": flt.event,
            "outcome": flt.outcome,
            "since": since.strip(),
            "until": until.strip(),
        }.items()
        if v not in (None, "")
    }
    return templates.TemplateResponse(
        request,
        "audit.html",
        {
            "form": form,
            "entries": [query.entry_dict(e) for e in entries],
            "names": _names(session, entries),
            "next_before_seq": entries[-1].seq if len(entries) == page_size else None,
            "csv_params": api_params,
            "tree_size": log.tree_size(session),
            **_event_choices(),
        },
    )


def _event_choices() -> dict:
    """Every declared event type with its labels, and the prefixes that select a domain's events."""
    declared = events.registered()
    return {"event_types": declared, "event_groups": sorted({n.split(".")[0] + "." for n in declared})}


@router.get("/audit/entries/{seq}")
def audit_entry_page(
    seq: int,
    request: Request,
    session: Session = Depends(write_session),  # may sign a tree head that covers the entry
    principal: Principal = Depends(auditor_page),
):
    settings = request.app.state.settings
    bundle = proofs.inclusion_bundle(session, settings, seq)
    key = keys.public_key(settings)
    return templates.TemplateResponse(
        request,
        "audit_entry.html",
        {
            "bundle": bundle,
            "entry": query.entry_dict(log.get_entry(session, seq)),
            "fields": _entry_fields(bundle["entry"]),
            "server_check": proofs.check_inclusion_bundle(bundle, key),
            "public_key": keys.raw_public(key).hex(),
        },
    )


def _entry_fields(canonical: str) -> list[tuple[str, str]]:
    """Who, which dataset and the entry's detail, one row each (nested values as compact JSON), for
    reading; the canonical text stays on the page as what is hashed."""
    data = json.loads(canonical)
    rows = [(k, data.get(k)) for k in ("user_id", "department_id", "dataset_id")]
    rows += list((data.get("detail") or {}).items())
    return [
        (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in rows if v is not None
    ]
