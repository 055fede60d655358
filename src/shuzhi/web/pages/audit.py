"""Auditor's pages: search the ledger, export it, and check an entry's inclusion proof in the browser."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.errors import Forbidden, InvalidInput
from shuzhi.i18n import M_, N_
from shuzhi.ledger import events, keys, log, proofs, query, sth
from shuzhi.ledger.models import TreeHead
from shuzhi.orgs.service import Principal
from shuzhi.oversight import clock, names
from shuzhi.web.deps import WRITE, page_principal, read_session
from shuzhi.web.templating import templates

router = APIRouter(include_in_schema=False)
AUDITORS = ("auditor", "admin")
OUTCOME_WORDS = {"ok": N_("ok"), "denied": N_("denied"), "failed": N_("failed")}
"""An entry's outcome in words (catalog messages, translated where shown)."""


def auditor_page(principal: Principal = Depends(page_principal)) -> Principal:
    if not principal.has(*AUDITORS):
        raise Forbidden(M_("the audit ledger is for auditors and admins"))
    return principal


def _when(value: str, zone: str, where: str) -> datetime | None:
    """A time from the filter form: the reader's wall clock (the display time zone) unless it names
    its own offset; the ledger is asked in UTC."""
    if not value.strip():
        return None
    try:
        return clock.to_utc(datetime.fromisoformat(value.strip()), zone)
    except ValueError:
        raise InvalidInput(M_("bad time %(value)r", value=value), where=where) from None


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
    zone = request.app.state.settings.display_timezone
    context = {"form": form, "zone": zone, "outcome_words": OUTCOME_WORDS, **_event_choices()}
    context["tree_size"] = log.tree_size(session)
    try:
        flt = _filter(session, form, zone)
    except InvalidInput as exc:
        # The form comes back as it was sent, with what is wrong beside it; no entries are listed.
        context.update(error=exc, entries=[], names=names.EntryNames(), csv_params=None, next_before_seq=None)
        return templates.TemplateResponse(request, "audit.html", context, status_code=422)
    page_size = 100
    entries = query.search(session, flt, before_seq=before_seq, limit=page_size)
    context.update(
        entries=[query.entry_dict(e) for e in entries],
        names=names.names_for(session, entries),
        next_before_seq=entries[-1].seq if len(entries) == page_size else None,
        csv_params=_api_params(flt),
    )
    return templates.TemplateResponse(request, "audit.html", context)


def _filter(session: Session, form: dict, zone: str) -> query.EntryFilter:
    if form["outcome"] and form["outcome"] not in OUTCOME_WORDS:
        raise InvalidInput(M_("unknown outcome: %(outcome)r", outcome=form["outcome"]), where="outcome")
    return query.EntryFilter(
        user_id=names.resolve(session, "user", form["user"]),
        department_id=names.resolve(session, "department", form["dept"]),
        dataset_id=names.resolve(session, "dataset", form["dataset"]),
        event=form["event"].strip() or None,
        outcome=form["outcome"] or None,
        since=_when(form["since"], zone, "since"),
        until=_when(form["until"], zone, "until"),
    )


def _api_params(flt: query.EntryFilter) -> dict:
    """The same filter as the CSV export's query parameters (ids, UTC times)."""
    params = {
        "user_id": flt.user_id,
        "department_id": flt.department_id,
        "dataset_id": flt.dataset_id,
        "event": flt.event,
        "outcome": flt.outcome,
        "since": flt.since.isoformat() if flt.since else None,
        "until": flt.until.isoformat() if flt.until else None,
    }
    return {k: v for k, v in params.items() if v not in (None, "")}


def _event_choices() -> dict:
    """Every declared event type with its labels, and the prefixes that select a domain's events."""
    declared = events.registered()
    return {"event_types": declared, "event_groups": sorted({n.split(".")[0] + "." for n in declared})}


@router.get("/audit/entries/{seq}")
def audit_entry_page(
    seq: int,
    request: Request,
    session: Session = WRITE,  # may sign a tree head that covers the entry
    principal: Principal = Depends(auditor_page),
):
    settings = request.app.state.settings
    bundle = proofs.inclusion_bundle(session, settings, seq)
    key = keys.public_key(settings)
    row = log.get_entry(session, seq)
    entry = query.entry_dict(row)
    return templates.TemplateResponse(
        request,
        "audit_entry.html",
        {
            "bundle": bundle,
            "entry": entry,
            "who": names.names_for(session, [row]).of(entry),
            "outcome_words": OUTCOME_WORDS,
            **_event_choices(),
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


HEADS_SHOWN = 20
"""Signed tree heads the tree-head page lists, newest first."""


@router.get("/audit/tree-head")
def tree_head_page(
    request: Request,
    session: Session = Depends(read_session),
    principal: Principal = Depends(auditor_page),
):
    """The latest signed tree head and the ones before it, each checked against the server's key."""
    key = keys.public_key(request.app.state.settings)
    rows = session.scalars(select(TreeHead).order_by(TreeHead.id.desc()).limit(HEADS_SHOWN)).all()
    heads = []
    for row in rows:
        signed = sth.SignedHead.of(row)
        heads.append(
            {
                **signed.to_dict(),
                "signed_at": datetime.fromtimestamp(row.timestamp_ms / 1000, UTC),
                "verifies": signed.valid_under(key),
            }
        )
    return templates.TemplateResponse(
        request,
        "audit_sth.html",
        {"heads": heads, "tree_size": log.tree_size(session), "key_id": keys.key_id(key)},
    )


@router.get("/audit/public-key")
def public_key_page(request: Request, principal: Principal = Depends(auditor_page)):
    """The key that signs tree heads, to keep outside the platform and check heads and proofs with."""
    key = keys.public_key(request.app.state.settings)
    return templates.TemplateResponse(
        request,
        "audit_key.html",
        {"key_id": keys.key_id(key), "raw": keys.raw_public(key).hex(), "pem": keys.public_pem(key)},
    )
