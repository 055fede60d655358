"""Sharing requests and grants: the request state machine, review deadlines, approval into grants.

States: draft → submitted → approved | rejected | withdrawn; an approved request later becomes
expired (its grant ran out) or revoked (the provider withdrew the grant). Each transition is
allowed to certain people only, carries a reason, is stored as a RequestEvent and appended to
the ledger as 'request.<state>' in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog.models import Dataset
from shuzhi.catalog.service import can_manage, get_dataset
from shuzhi.config import Settings
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound, ShuzhiError
from shuzhi.exchange import events
from shuzhi.exchange.masking import parse_rule
from shuzhi.exchange.models import Grant, RequestEvent, ShareRequest
from shuzhi.exchange.policy import validate_row_filter
from shuzhi.exchange.workdays import calendar_for
from shuzhi.i18n import M_, N_
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow

STATE_LABELS: dict[str, str] = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "expired": N_("expired"),
    "revoked": N_("revoked"),
}
"""A request's states in words (msgids: shown in the reader's language)."""

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("submitted", "withdrawn"),
    "submitted": ("approved", "rejected", "withdrawn"),
    "approved": ("expired", "revoked"),
    "rejected": ("submitted",),
}
"""Allowed next states; withdrawn, expired and revoked are final. A rejected request goes back to
submitted only amended (`resubmit_request`: a 'request.amended' entry, then 'request.submitted'),
so one application number carries the whole history, the rejection included."""


class RequestIn(BaseModel):
    """What an analyst asks for: one model for the API's body, the page's form and the CLI."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset: limits.Name
    fields: list[limits.Name] = Field(max_length=limits.ITEMS)
    purpose: limits.Reason
    basis: limits.Reason | None = None
    period_start: limits.Day | None = None
    period_end: limits.Day | None = None

    @classmethod
    def of(cls, **values) -> RequestIn:
        """The request from a form's or a command's values; bad ones are InvalidInput naming the field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "request"
            raise InvalidInput(
                M_("%(where)s: %(problem)s", where=where, problem=first["msg"]), where=where
            ) from None


@dataclass(frozen=True)
class Approval:
    """What the provider grants; every part may be narrower than the request."""

    fields: list[str] | None = None
    """None: all requested fields."""
    row_filter: str | None = None
    masks: dict[str, object] | None = None
    expires_on: date | None = None
    rows_per_day: int | None = None
    calls_per_day: int | None = None


# -- permissions ------------------------------------------------------------------------------


def _is_requester_side(principal: Principal, req: ShareRequest) -> bool:
    return principal.user_id == req.requester_id or (
        principal.has("steward") and principal.department_id == req.department_id
    )


def _require_requester_side(principal: Principal, req: ShareRequest) -> None:
    if not _is_requester_side(principal, req):
        raise Forbidden(M_("requester or requesting steward only"))


def _require_provider(principal: Principal, dataset: Dataset) -> None:
    if not can_manage(principal, dataset):
        raise Forbidden(M_("the providing department's steward decides"))


def application_number(req: ShareRequest) -> str:
    """The number a request is cited by on paper: GX (共享交换), the year it was created, its id in
    six digits (GX-2026-000123). The id alone identifies it; the year only reads well."""
    return f"GX-{req.created_at.year:04d}-{req.id:06d}"


def can_view(principal: Principal, req: ShareRequest) -> bool:
    return (
        principal.is_admin
        or principal.has("auditor")
        or _is_requester_side(principal, req)
        or can_manage(principal, req.dataset)
    )


# -- transitions ------------------------------------------------------------------------------


def _move(session: Session, principal: Principal, req: ShareRequest, to: str, reason: str | None) -> None:
    limits.check(reason, limits.REASON, "reason")
    if to not in TRANSITIONS.get(req.state, ()):
        raise Conflict(
            M_(
                "cannot move a %(state)s request to %(to)s",
                state=M_(STATE_LABELS[req.state]),
                to=M_(STATE_LABELS[to]),
            ),
            state=req.state,
        )
    before = req.state
    req.state = to
    req.updated_at = utcnow()
    session.add(
        RequestEvent(
            request_id=req.id,
            from_state=before,
            to_state=to,
            user_id=principal.user_id,
            reason=reason,
            at=utcnow(),
        )
    )
    ledger.append(
        session,
        events.MOVES[to](
            request_id=req.id, from_=before, to=to, reason=reason, requesting_department=req.department_id
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=req.dataset_id,
    )


def _need_reason(reason: str | None, what: str) -> str:
    limits.check(reason, limits.REASON, "reason")
    if not reason or not reason.strip():
        raise InvalidInput(M_("a reason is required for the %(what)s", what=what), where="reason")
    return reason.strip()


def why_not_request(principal: Principal, ds: Dataset) -> ShuzhiError | None:
    """Why this caller cannot ask for this dataset (the error a request would get), or None when they
    can: the pages offer the request only then, and "query directly" for unconditional data."""
    if principal.user_id is None or not principal.has("analyst", "steward"):
        return Forbidden(M_("analysts or stewards request data"))
    if ds.department_id == principal.department_id:
        return Conflict(M_("cannot request your own department's data"))
    if ds.share_type == "none":
        return Forbidden(
            M_("dataset %(identifier)s is not shared and cannot be requested", identifier=ds.identifier),
            hint=ds.share_basis or None,
        )
    if ds.share_type == "unconditional":
        return ReadDirectly(M_("unconditionally shared: read it directly"))
    return None


class ReadDirectly(Conflict):
    """Unconditionally shared data: there is nothing to ask for, it is read directly."""


def offered_action(principal: Principal, ds: Dataset) -> str | None:
    """What a dataset's page offers this caller: 'request' (ask with a purpose), 'query' (shared
    unconditionally: read it directly), or nothing (their own data, data not shared, no such role)."""
    refused = why_not_request(principal, ds)
    if refused is None:
        return "request"
    # unconditional data is read by analysts (decision.decide): only they are offered the query
    return "query" if isinstance(refused, ReadDirectly) and principal.has("analyst") else None


def create_request(
    session: Session, settings: Settings, principal: Principal, data: RequestIn, *, submit: bool = False
) -> ShareRequest:
    """A new request (a draft, or submitted at once) from the caller's department."""
    ds = get_dataset(session, data.dataset)
    refused = why_not_request(principal, ds)
    if refused is not None:
        raise refused
    if not data.purpose or not data.purpose.strip():
        raise InvalidInput(M_("purpose is required"), where="purpose")
    limits.check(data.purpose, limits.REASON, "purpose")
    limits.check(data.basis, limits.REASON, "basis")
    fields = _check_fields(ds, data.fields)
    if data.period_start and data.period_end and data.period_end < data.period_start:
        raise InvalidInput(M_("period ends before it starts"), where="period_end")
    req = ShareRequest(
        dataset_id=ds.id,
        requester_id=principal.user_id,
        department_id=principal.department_id,
        fields=fields,
        purpose=data.purpose.strip(),
        basis=(data.basis or "").strip() or None,
        period_start=data.period_start,
        period_end=data.period_end,
        state="draft",
    )
    req.dataset = ds
    session.add(req)
    session.flush()
    session.add(
        RequestEvent(
            request_id=req.id,
            from_state=None,
            to_state="draft",
            user_id=principal.user_id,
            reason=None,
            at=utcnow(),
        )
    )
    ledger.append(
        session,
        events.RequestDrafted(request_id=req.id, fields=fields, purpose=req.purpose),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    if submit:
        submit_request(session, settings, principal, req)
    return req


def _check_fields(ds: Dataset, wanted: list[str]) -> list[str]:
    names = {f.name.lower(): f.name for f in ds.fields}
    cleaned = [w.strip() for w in wanted if w and w.strip()]
    if not cleaned:
        raise InvalidInput(M_("choose at least one field"), where="fields")
    unknown = [w for w in cleaned if w.lower() not in names]
    if unknown:
        raise InvalidInput(M_("no such fields: %(names)s", names=", ".join(unknown)), where="fields")
    ordered = [f.name for f in ds.fields if f.name.lower() in {w.lower() for w in cleaned}]
    return ordered


def submit_request(
    session: Session, settings: Settings, principal: Principal, req: ShareRequest, reason: str | None = None
) -> ShareRequest:
    _require_requester_side(principal, req)
    if req.state == "rejected":
        raise Conflict(
            M_("a rejected request is amended, then submitted again"),
            state=req.state,
        )
    return _submit(session, settings, principal, req, reason)


def _submit(
    session: Session, settings: Settings, principal: Principal, req: ShareRequest, reason: str | None
) -> ShareRequest:
    today = utcnow().date()
    req.deadline = calendar_for(settings).add_working_days(today, settings.exchange.review_working_days)
    req.submitted_at = utcnow()
    _move(session, principal, req, "submitted", reason or M_("request submitted"))
    return req


def resubmit_request(
    session: Session, settings: Settings, principal: Principal, req: ShareRequest, data: RequestIn
) -> ShareRequest:
    """A rejected request, amended by its requester's side (fields, purpose, basis, period) and
    submitted again for review: 'request.amended' with what changed, then 'request.submitted'
    (from rejected) with a new review deadline. The earlier decision stays in the request's history."""
    _require_requester_side(principal, req)
    if req.state != "rejected":
        raise Conflict(
            M_("only a rejected request is amended (is %(state)s)", state=req.state),
            state=req.state,
        )
    refusal = why_not_request(principal, req.dataset)  # what a new request would meet, today
    if refusal is not None:
        raise refusal
    if not data.purpose or not data.purpose.strip():
        raise InvalidInput(M_("purpose is required"), where="purpose")
    limits.check(data.purpose, limits.REASON, "purpose")
    limits.check(data.basis, limits.REASON, "basis")
    fields = _check_fields(req.dataset, data.fields)
    start = data.period_start or req.period_start
    if data.period_end and data.period_end < utcnow().date():
        raise InvalidInput(M_("the period of use has already ended"), where="period_end")
    if start and data.period_end and data.period_end < start:
        raise InvalidInput(M_("period ends before it starts"), where="period_end")
    after = {
        "fields": fields,
        "purpose": data.purpose.strip(),
        "basis": (data.basis or "").strip() or None,
        "period_end": data.period_end,
    }
    changed = [name for name, value in after.items() if getattr(req, name) != value]
    req.fields, req.purpose, req.basis, req.period_end = (
        after["fields"],
        after["purpose"],
        after["basis"],
        after["period_end"],
    )
    req.period_start = start
    ledger.append(
        session,
        events.RequestAmended(
            request_id=req.id,
            fields=fields,
            purpose=req.purpose,
            basis=req.basis,
            period_end=req.period_end.isoformat() if req.period_end else None,
            changed=changed,
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=req.dataset_id,
    )
    # The earlier decision is the ledger's and the history's now; the request awaits a new one.
    req.decided_at = req.decided_by_id = req.decision_reason = None
    return _submit(session, settings, principal, req, M_("amended and submitted again"))


def withdraw_request(session: Session, principal: Principal, req: ShareRequest, reason: str) -> ShareRequest:
    _require_requester_side(principal, req)
    _move(session, principal, req, "withdrawn", _need_reason(reason, M_("withdrawal")))
    return req


def reject_request(session: Session, principal: Principal, req: ShareRequest, reason: str) -> ShareRequest:
    _require_provider(principal, req.dataset)
    _decided(req, principal, _need_reason(reason, M_("rejection")))
    _move(session, principal, req, "rejected", req.decision_reason)
    return req


def _decided(req: ShareRequest, principal: Principal, reason: str | None) -> None:
    req.decided_at = utcnow()
    req.decided_by_id = principal.user_id
    req.decision_reason = reason


def approve_request(
    session: Session,
    settings: Settings,
    principal: Principal,
    req: ShareRequest,
    approval: Approval | None = None,
    reason: str | None = None,
) -> Grant:
    """Approve, possibly narrower than asked (fewer fields, a row filter, masks, quotas): makes a grant."""
    _require_provider(principal, req.dataset)
    approval = approval or Approval()
    if req.state != "submitted":
        raise Conflict(M_("only submitted requests can be approved (is %(state)s)", state=req.state))
    fields = list(req.fields) if not approval.fields else _narrow(req, approval.fields)
    grant = build_grant(
        session,
        settings,
        req.dataset,
        department_id=req.department_id,
        fields=fields,
        masks=approval.masks,
        row_filter=approval.row_filter,
        purpose=req.purpose,
        expires_on=approval.expires_on or req.period_end,
        rows_per_day=approval.rows_per_day,
        calls_per_day=approval.calls_per_day,
        created_by=principal,
        request_id=req.id,
    )
    narrowed = fields != list(req.fields) or bool(approval.row_filter)
    _decided(req, principal, reason or (M_("approved narrower") if narrowed else M_("approved in full")))
    _move(session, principal, req, "approved", req.decision_reason)
    return grant


def _narrow(req: ShareRequest, fields: list[str]) -> list[str]:
    asked = {f.lower(): f for f in req.fields}
    extra = [f for f in fields if f.lower() not in asked]
    if extra:
        raise InvalidInput(
            M_("approved fields must be among those requested: %(names)s", names=", ".join(extra)),
            where="fields",
        )
    chosen = {f.lower() for f in fields}
    return [f for f in req.fields if f.lower() in chosen]


def build_grant(
    session: Session,
    settings: Settings,
    dataset: Dataset,
    *,
    department_id: int,
    fields: list[str],
    masks: dict | None,
    row_filter: str | None,
    purpose: str,
    expires_on: date | None,
    rows_per_day: int | None,
    calls_per_day: int | None,
    created_by: Principal,
    request_id: int | None = None,
) -> Grant:
    """A validated grant: fields exist, masks parse, the row filter is a safe predicate on the schema.
    Written to the ledger as 'grant.created' with everything that decides what it lets through."""
    limits.check(row_filter, limits.ROW_FILTER, "row_filter")
    fields = _check_fields(dataset, fields)
    clean_masks = {}
    for name, raw in (masks or {}).items():
        if raw in (None, "", "default"):
            continue
        if name not in fields:
            raise InvalidInput(M_("mask for a field not granted: %(name)s", name=name), where="masks")
        try:
            clean_masks[name] = parse_rule(raw).to_dict()
        except InvalidInput as e:  # the rule's own message names the kind, not the field
            e.where = e.where or f"masks.{name}"
            raise
    predicate = check_row_filter(dataset, row_filter)
    for name, value in (("rows_per_day", rows_per_day), ("calls_per_day", calls_per_day)):
        if value is not None and value <= 0:
            raise InvalidInput(M_("%(name)s must be a positive number", name=name), where=name)
    if expires_on is None:
        expires_on = utcnow().date() + timedelta(days=settings.exchange.default_grant_days)
    if expires_on < utcnow().date():
        raise InvalidInput(M_("expiry is in the past"), where="expires_on")
    _within_reach(expires_on)
    grant = Grant(
        dataset_id=dataset.id,
        department_id=department_id,
        fields=fields,
        masks=clean_masks,
        row_filter=predicate,
        purpose=purpose,
        expires_at=_end_of(expires_on),
        rows_per_day=rows_per_day,
        calls_per_day=calls_per_day,
        created_by_id=created_by.user_id,
        created_at=utcnow(),
        request_id=request_id,
    )
    session.add(grant)
    session.flush()
    ledger.append(
        session,
        events.GrantCreated(**grant_summary(grant)),
        user_id=created_by.user_id,
        department_id=created_by.department_id,
        dataset_id=dataset.id,
    )
    return grant


def check_row_filter(dataset: Dataset, row_filter: str | None) -> str | None:
    """The row filter as a grant stores it (None when empty), or InvalidInput saying what is wrong:
    the one check an approval makes, which the inbox also runs as the steward types."""
    limits.check(row_filter, limits.ROW_FILTER, "row_filter")
    predicate = (row_filter or "").strip() or None
    if predicate:
        validate_row_filter(predicate, [f.name for f in dataset.fields])
    return predicate


LONGEST_GRANT_YEARS = 10
"""No grant is given or renewed to run longer than this from today: a review of what was shared is
due long before, and dates past the calendar's end (9999-12-31) cannot be kept as instants at all."""


def _within_reach(expires_on: date) -> None:
    today = utcnow().date()
    if expires_on > today.replace(year=today.year + LONGEST_GRANT_YEARS, day=min(today.day, 28)):
        raise InvalidInput(
            M_(
                "an expiry at most %(LONGEST_GRANT_YEARS)s years ahead",
                LONGEST_GRANT_YEARS=LONGEST_GRANT_YEARS,
            ),
            where="expires_on",
        )


def _end_of(day: date) -> datetime:
    """A grant runs to the end of its expiry day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def grant_summary(grant: Grant) -> dict:
    return {
        "grant_id": grant.id,
        "request_id": grant.request_id,
        "fields": list(grant.fields),
        "masks": dict(grant.masks or {}),
        "row_filter": grant.row_filter,
        "purpose": grant.purpose,
        "expires_at": grant.expires_at.isoformat(),
        "rows_per_day": grant.rows_per_day,
        "calls_per_day": grant.calls_per_day,
        "department_id": grant.department_id,
    }


def revoke_grant(session: Session, principal: Principal, grant: Grant, reason: str) -> Grant:
    """Takes effect on the grantee's next call."""
    _require_provider(principal, grant.dataset)
    if grant.revoked_at is not None:
        raise Conflict(M_("grant already revoked"))
    grant.revoked_at = utcnow()
    grant.revoked_by_id = principal.user_id
    grant.revoke_reason = _need_reason(reason, M_("revocation"))
    ledger.append(
        session,
        events.GrantRevoked(grant_id=grant.id, reason=grant.revoke_reason),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=grant.dataset_id,
    )
    if grant.request is not None and grant.request.state == "approved":
        _move(session, principal, grant.request, "revoked", grant.revoke_reason)
    return grant


def renew_grant(session: Session, principal: Principal, grant: Grant, expires_on: date, reason: str) -> Grant:
    """The provider extends a grant in force to a later last day (after today and after its current
    one), with a reason: 'grant.renewed' with the expiry before and after."""
    _require_provider(principal, grant.dataset)
    reason = _need_reason(reason, M_("renewal"))
    if grant.revoked_at is not None:
        raise Conflict(M_("a revoked grant cannot be renewed"))
    if grant.expires_at <= utcnow():
        raise Conflict(M_("the grant has expired: a new request is needed"))
    today = utcnow().date()
    if expires_on <= today:
        raise InvalidInput(M_("the new expiry must be later than today"), where="expires_on")
    if expires_on <= grant.expires_on:
        raise InvalidInput(
            M_(
                "the new expiry must be later than the current one (%(expires_on)s)",
                expires_on=grant.expires_on,
            ),
            where="expires_on",
        )
    _within_reach(expires_on)
    before = grant.expires_at
    grant.expires_at = _end_of(expires_on)
    ledger.append(
        session,
        events.GrantRenewed(
            grant_id=grant.id,
            expires_at_before=before.isoformat(),
            expires_at=grant.expires_at.isoformat(),
            reason=reason,
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=grant.dataset_id,
    )
    return grant


def expire_due(session: Session, principal: Principal | None = None) -> list[ShareRequest]:
    """Approved requests whose grants have all run out become expired (reads already refuse them)."""
    now = utcnow()
    actor = principal or Principal(
        user_id=None,
        username="system",
        display_name="system",
        department_id=None,
        department_code="",
        roles=frozenset({"admin"}),
    )
    moved = []
    for req in session.scalars(select(ShareRequest).where(ShareRequest.state == "approved")):
        grants = session.scalars(select(Grant).where(Grant.request_id == req.id)).all()
        if grants and all(g.revoked_at is None and g.expires_at <= now for g in grants):
            _move(session, actor, req, "expired", M_("grant expired"))
            moved.append(req)
    return moved


# -- queries ----------------------------------------------------------------------------------


def get_request(session: Session, principal: Principal, request_id: int) -> ShareRequest:
    req = session.get(ShareRequest, request_id)
    if req is None or not can_view(principal, req):
        raise NotFound(M_("no request %(request_id)s", request_id=request_id), where="request")
    return req


def can_view_grant(principal: Principal, grant: Grant) -> bool:
    """The grantee department's people, the providing department's stewards, admins and auditors."""
    return (
        principal.is_admin
        or principal.has("auditor")
        or (principal.user_id is not None and principal.department_id == grant.department_id)
        or can_manage(principal, grant.dataset)
    )


def visible_grant(session: Session, principal: Principal, grant_id: int) -> Grant:
    """A grant this caller may see; NotFound alike for one that does not exist and one of others."""
    grant = session.get(Grant, grant_id)
    if grant is None or not can_view_grant(principal, grant):
        raise NotFound(M_("no grant %(grant_id)s", grant_id=grant_id), where="grant")
    return grant


def get_grant(session: Session, grant_id: int) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound(M_("no grant %(grant_id)s", grant_id=grant_id), where="grant")
    return grant


def inbox(
    session: Session, principal: Principal, *, states: tuple[str, ...] = ("submitted",)
) -> list[ShareRequest]:
    """Requests for datasets the caller's department provides (all departments for admins)."""
    q = select(ShareRequest).join(Dataset, Dataset.id == ShareRequest.dataset_id)
    if not principal.is_admin:
        if not principal.has("steward"):
            return []
        q = q.where(Dataset.department_id == principal.department_id)
    if states:
        q = q.where(ShareRequest.state.in_(states))
    return list(session.scalars(q.order_by(ShareRequest.deadline, ShareRequest.id)))


def my_requests(session: Session, principal: Principal) -> list[ShareRequest]:
    q = select(ShareRequest).where(
        or_(
            ShareRequest.requester_id == principal.user_id,
            ShareRequest.department_id == principal.department_id if principal.has("steward") else False,
        )
    )
    return list(session.scalars(q.order_by(ShareRequest.id.desc())))


def overdue(session: Session, principal: Principal, today: date | None = None) -> list[ShareRequest]:
    """Submitted requests past their review deadline: the provider's and, for admins, everyone's."""
    today = today or utcnow().date()
    return [r for r in inbox(session, principal) if r.deadline is not None and r.deadline < today]


BOXES = ("mine", "inbox", "overdue", "all")


def requests_in_box(
    session: Session, principal: Principal, box: str, *, where: str = "box"
) -> list[ShareRequest]:
    """`mine`: my department's requests; `inbox`: awaiting my department's decision; `overdue`:
    past their deadline; `all`: every request on my department's datasets, in any state."""
    if box == "mine":
        return my_requests(session, principal)
    if box == "overdue":
        return overdue(session, principal)
    if box in ("inbox", "all"):
        return inbox(session, principal, states=("submitted",) if box == "inbox" else ())
    raise InvalidInput(M_("unknown box: %(box)s", box=box), where=where, hint=" | ".join(BOXES))


def my_grants(session: Session, principal: Principal, *, include_inactive: bool = False) -> list[Grant]:
    q = select(Grant).where(Grant.department_id == principal.department_id)
    if not include_inactive:
        q = q.where(Grant.revoked_at.is_(None), Grant.expires_at > utcnow())
    return list(session.scalars(q.order_by(Grant.id.desc())))


def can_list_provided(principal: Principal) -> bool:
    return principal.has("admin", "auditor", "steward")


def provided_grants(session: Session, principal: Principal) -> list[Grant]:
    """Grants given on the caller's department's datasets, for its stewards (who decide them);
    admins and auditors see every department's. Analysts hold grants, they do not see who else does."""
    if not can_list_provided(principal):
        raise Forbidden(M_("only stewards list the grants they gave"))
    q = select(Grant).join(Dataset, Dataset.id == Grant.dataset_id)
    if not principal.has("admin", "auditor"):
        q = q.where(Dataset.department_id == principal.department_id)
    return list(session.scalars(q.order_by(Grant.id.desc())))


# -- reads for other domains (notifications, home pages) ----------------------------------------


def find_request(session: Session, request_id: int) -> ShareRequest | None:
    """A request by id, whoever asks: for the platform's own reactions to its events."""
    return session.get(ShareRequest, request_id)


def grants_of_request(session: Session, request_id: int) -> list[Grant]:
    return list(session.scalars(select(Grant).where(Grant.request_id == request_id).order_by(Grant.id)))


def awaiting_review(session: Session) -> list[ShareRequest]:
    """Every submitted request, in every department, soonest deadline first."""
    q = select(ShareRequest).where(ShareRequest.state == "submitted")
    return list(session.scalars(q.order_by(ShareRequest.deadline, ShareRequest.id)))


def grants_expiring(
    session: Session, within: timedelta, *, department_id: int | None = None, provider_id: int | None = None
) -> list[Grant]:
    """Grants in force that end within `within` from now, soonest first; `department_id` keeps the
    grantee department's, `provider_id` those on that department's datasets."""
    now = utcnow()
    q = select(Grant).where(
        Grant.revoked_at.is_(None), Grant.expires_at > now, Grant.expires_at <= now + within
    )
    if department_id is not None:
        q = q.where(Grant.department_id == department_id)
    if provider_id is not None:
        q = q.join(Dataset, Dataset.id == Grant.dataset_id).where(Dataset.department_id == provider_id)
    return list(session.scalars(q.order_by(Grant.expires_at, Grant.id)))


def requests_by_state(session: Session) -> dict[str, int]:
    """How many requests are in each state, across all departments."""
    rows = session.execute(select(ShareRequest.state, func.count()).group_by(ShareRequest.state))
    return {state: n for state, n in rows}


def city_overview(session: Session, today: date | None = None) -> dict[int, dict[str, int]]:
    """Per providing department id: requests awaiting review, of them overdue, and grants in force
    on its datasets."""
    today = today or utcnow().date()
    out: dict[int, dict[str, int]] = {}

    def row(dept: int) -> dict[str, int]:
        return out.setdefault(dept, {"submitted": 0, "overdue": 0, "grants": 0})

    pending = (
        select(Dataset.department_id, ShareRequest.deadline, func.count())
        .select_from(ShareRequest)
        .join(Dataset, Dataset.id == ShareRequest.dataset_id)
        .where(ShareRequest.state == "submitted")
        .group_by(Dataset.department_id, ShareRequest.deadline)
    )
    for dept, deadline, n in session.execute(pending):
        row(dept)["submitted"] += n
        if deadline is not None and deadline < today:
            row(dept)["overdue"] += n
    in_force = (
        select(Dataset.department_id, func.count())
        .select_from(Grant)
        .join(Dataset, Dataset.id == Grant.dataset_id)
        .where(Grant.revoked_at.is_(None), Grant.expires_at > utcnow())
        .group_by(Dataset.department_id)
    )
    for dept, n in session.execute(in_force):
        row(dept)["grants"] += n
    return out


def answers_by_department(
    session: Session, since: datetime, today: date | None = None
) -> dict[int, dict[str, int]]:
    """Per providing department id, for the provider supervision: requests decided since `since`,
    of them decided after their review deadline, and requests still awaiting review past it."""
    today = today or utcnow().date()
    out: dict[int, dict[str, int]] = {}

    def row(dept: int) -> dict[str, int]:
        return out.setdefault(dept, {"share_answered": 0, "share_answered_late": 0, "share_overdue_open": 0})

    decided = (
        select(Dataset.department_id, ShareRequest.deadline, ShareRequest.decided_at)
        .join(Dataset, Dataset.id == ShareRequest.dataset_id)
        .where(ShareRequest.decided_at >= since, ShareRequest.deadline.is_not(None))
    )
    for dept, deadline, decided_at in session.execute(decided):
        row(dept)["share_answered"] += 1
        if decided_at.date() > deadline:
            row(dept)["share_answered_late"] += 1
    for dept, counts in city_overview(session, today).items():
        if counts["overdue"]:
            row(dept)["share_overdue_open"] += counts["overdue"]
    return out
