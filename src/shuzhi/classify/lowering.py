"""Lowering a grade below what grading derived: asked by a reviewer, approved or rejected by a second
person (an admin of the data bureau), the higher level holding until then. Each step is audited."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import events
from shuzhi.classify.models import LoweringRequest
from shuzhi.classify.rules import Rules
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow


@dataclass(frozen=True)
class Target:
    """What a review would set: a column's category (and so level), or the dataset's level and class."""

    field: str | None
    action: str
    level: str
    category: str | None = None
    data_class: str | None = None


def lowers(
    rules: Rules,
    *,
    level: str,
    derived: str,
    current: str,
    data_class: str | None = None,
    derived_class: str | None = None,
    current_class: str | None = None,
) -> bool:
    """Whether a review goes below what grading derived, and below what holds now (a level approved
    earlier may be confirmed without asking again). A data class is judged the same way."""
    if rules.rank(level) < min(rules.rank(derived), rules.rank(current)):
        return True
    if data_class and derived_class and current_class:
        return rules.class_rank(data_class) < min(
            rules.class_rank(derived_class), rules.class_rank(current_class)
        )
    return False


def ask(
    session: Session,
    principal: Principal,
    dataset: Dataset,
    version: DatasetVersion,
    target: Target,
    *,
    derived: str,
    current: str,
    reason: str,
    evidence: dict,
) -> LoweringRequest:
    """Keep the request (superseding an earlier pending one on the same target) and audit it; nothing
    of the grading changes."""
    for earlier in (r for r in pending(session, dataset.id) if r.field_name == target.field):
        earlier.state, earlier.note = "superseded", "被新的申请取代 superseded by a newer request"
    request = LoweringRequest(
        dataset_id=dataset.id,
        version_number=version.number,
        field_name=target.field,
        action=target.action,
        category=target.category,
        level=target.level,
        data_class=target.data_class,
        derived_level=derived,
        current_level=current,
        reason=reason,
        evidence=evidence,
        requested_by_id=principal.user_id,
        requested_by=principal.signature[:100],
        state="pending",
    )
    session.add(request)
    session.flush()
    ledger.append(
        session,
        events.LoweringRequested(
            request_id=request.id,
            field=target.field,
            from_=current,
            to=target.level,
            derived=derived,
            reason=reason,
            version=version.number,
        ),
        user_id=principal.user_id,
        department_id=dataset.department_id,
        dataset_id=dataset.id,
    )
    return request


def pending(session: Session, dataset_id: int) -> list[LoweringRequest]:
    """A dataset's requests waiting for a decision, oldest first."""
    q = select(LoweringRequest).where(
        LoweringRequest.state == "pending", LoweringRequest.dataset_id == dataset_id
    )
    return list(session.scalars(q.order_by(LoweringRequest.id)))


def search(session: Session, *, state: str = "pending", limit: int = 100) -> list[LoweringRequest]:
    """Requests in one state, newest first."""
    q = select(LoweringRequest).where(LoweringRequest.state == state)
    return list(session.scalars(q.order_by(LoweringRequest.id.desc()).limit(limit)))


def require_approver(principal: Principal, request: LoweringRequest) -> None:
    """An admin who is a named user and not the one who asked: the second person."""
    if not principal.is_admin or principal.user_id is None:
        raise Forbidden(
            M_("only a named admin may approve or reject lowering a grade"),
            where="lowering",
        )
    if request.requested_by_id is not None and request.requested_by_id == principal.user_id:
        raise Forbidden(
            M_("a lowering must be approved by someone else"),
            where="lowering",
        )


def open_request(session: Session, request_id: int) -> LoweringRequest:
    request = session.get(LoweringRequest, request_id)
    if request is None:
        raise NotFound(M_("no lowering request %(request_id)s", request_id=request_id), where="lowering")
    if request.state != "pending":
        raise Conflict(
            M_("lowering request %(request_id)s is %(state)s", request_id=request_id, state=request.state),
            where="lowering",
        )
    return request


def decide(
    session: Session, principal: Principal, request: LoweringRequest, *, approve: bool, note: str | None
) -> None:
    """Record the decision on a pending request (the caller applies an approved one in the same
    transaction)."""
    if not approve and not (note and note.strip()):
        raise InvalidInput(M_("a rejection needs a note"), where="note")
    request.state = "approved" if approve else "rejected"
    request.decided_by_id, request.decided_by = principal.user_id, principal.username
    request.decided_at, request.note = utcnow(), (note or "").strip() or None
    dataset = session.get(Dataset, request.dataset_id)
    ledger.append(
        session,
        events.LoweringDecided(
            request_id=request.id,
            field=request.field_name,
            decision=request.state,
            to=request.level or "",
            requested_by=request.requested_by,
            note=request.note,
        ),
        user_id=principal.user_id,
        department_id=dataset.department_id if dataset is not None else None,
        dataset_id=request.dataset_id,
    )


def as_dict(r: LoweringRequest) -> dict:
    return {
        "id": r.id,
        "dataset_id": r.dataset_id,
        "version": r.version_number,
        "field": r.field_name,
        "action": r.action,
        "category": r.category,
        "level": r.level,
        "data_class": r.data_class,
        "derived_level": r.derived_level,
        "current_level": r.current_level,
        "reason": r.reason,
        "evidence": r.evidence,
        "requested_by": r.requested_by,
        "state": r.state,
        "decided_by": r.decided_by,
        "decided_at": r.decided_at.isoformat() if r.decided_at else None,
        "note": r.note,
        "created_at": r.created_at.isoformat() if r.created_at else None,
    }
