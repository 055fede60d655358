"""REST endpoints of the audit ledger: public key and signed tree heads for everyone; entries,
CSV export, inclusion proofs and the security state reconciled with the ledger for auditors."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from shuzhi import textlimits as limits
from shuzhi.ledger import keys, log, proofs, query, reconcile, sth
from shuzhi.ledger.snapshot import read_snapshot
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import Code, Count, Id, Instant
from shuzhi.web.deps import WRITE, get_db, read_session, require_role
from shuzhi.web.openapi import media_responses

AUDITORS = ("auditor", "admin")


router = APIRouter(tags=["audit 审计账本"])


# -- public --------------------------------------------------------------------------------------------


@router.get("/ledger/public-key")
def public_key(request: Request) -> dict:
    """The Ed25519 key that signs tree heads (no login needed)."""
    key = keys.public_key(request.app.state.settings)
    return {
        "algorithm": "Ed25519",
        "key_id": keys.key_id(key),
        "public_key": keys.raw_public(key).hex(),
        "public_key_pem": keys.public_pem(key),
    }


@router.get("/ledger/sth")
def latest_sth(session: Session = Depends(read_session)) -> dict:
    """The latest signed tree head (no login needed)."""
    return sth.SignedHead.of(sth.require_tree_head(session)).to_dict()


@router.get("/ledger/consistency")
def consistency(first: Count, second: Count, session: Session = Depends(read_session)) -> dict:
    """Proof that the log of size `first` is a prefix of the log of size `second` (hashes only)."""
    return proofs.consistency_bundle(session, first, second)


# -- auditors ------------------------------------------------------------------------------------------


def entry_filter(
    user_id: Id | None = None,
    department_id: Id | None = None,
    dataset_id: Id | None = None,
    event: Code | None = Query(None, description="exact, or a prefix ending in '.' or '*'"),
    outcome: Code | None = None,
    since: Instant | None = Query(None, description="ISO 8601; UTC when no zone is given"),
    until: Instant | None = Query(None, description="ISO 8601; UTC when no zone is given"),
) -> query.EntryFilter:
    return query.EntryFilter(user_id, department_id, dataset_id, event, outcome, since, until)


@router.get("/audit/entries")
def list_entries(
    flt: query.EntryFilter = Depends(entry_filter),
    before_seq: Id | None = None,
    limit: int = Query(100, ge=1, le=query.MAX_PAGE),
    session: Session = Depends(read_session),
    _: Principal = Depends(require_role(*AUDITORS)),
) -> dict:
    """Ledger entries, newest first; page on with before_seq = next_before_seq."""
    rows = query.search(session, flt, before_seq=before_seq, limit=limit)
    return {
        "entries": [query.entry_dict(e) for e in rows],
        "next_before_seq": rows[-1].seq if len(rows) == limit else None,
    }


@router.get("/audit/entries.csv", responses=media_responses("text/csv", description="CSV, UTF-8"))
def export_csv(
    flt: query.EntryFilter = Depends(entry_filter),
    db: Database = Depends(get_db),
    _: Principal = Depends(require_role(*AUDITORS)),
):
    """The filtered entries as CSV, oldest first."""

    def stream():
        with read_snapshot(db) as s:
            yield from query.iter_csv(s, flt)

    return StreamingResponse(
        stream(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="shuzhi-audit.csv"'},
    )


@router.get("/audit/entries/{seq}")
def get_entry(
    seq: Id, session: Session = Depends(read_session), _: Principal = Depends(require_role(*AUDITORS))
) -> dict:
    return query.entry_dict(log.get_entry(session, seq))


@router.get("/audit/entries/{seq}/proof")
def inclusion_proof(
    seq: Id,
    request: Request,
    tree_size: int | None = Query(
        None, ge=1, le=limits.JSON_INT_MAX, description="a signed tree head's size; default the latest"
    ),
    session: Session = WRITE,  # may sign a tree head that covers the entry
    _: Principal = Depends(require_role(*AUDITORS)),
) -> dict:
    """Entry, leaf hash, audit path and the signed tree head it leads to (see docs/ledger.md)."""
    return proofs.inclusion_bundle(session, request.app.state.settings, seq, tree_size)


@router.post("/audit/sth", status_code=201)
def issue_sth(
    request: Request,
    session: Session = WRITE,
    _: Principal = Depends(require_role(*AUDITORS)),
) -> dict:
    """Sign and store a tree head now."""
    return sth.SignedHead.of(sth.issue_tree_head(session, request.app.state.settings)).to_dict()


@router.get("/audit/state")
def security_state(db: Database = Depends(get_db), _: Principal = Depends(require_role(*AUDITORS))) -> dict:
    """Users, roles, tokens, sessions, grants and grades as the tables hold them against what the
    ledger's entries imply: each row that differs (see docs/ledger.md). The hashes are checked by
    `shuzhi audit verify`, which also runs this."""
    with read_snapshot(db) as s:
        rows, differences = reconcile.reconcile(s)
    return {
        "ok": not differences,
        "rows": rows,
        "differences": len(differences),
        "problems": [
            {"kind": "state", "message": d.message(), "state": d.as_dict()}
            for d in differences[: reconcile.MAX_LISTED]
        ],
    }
