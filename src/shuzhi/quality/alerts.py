"""The quality alert inbox: raising an alert once per open condition, listing, acknowledging, resolving.

Who sees what: a department's stewards see its alerts; admins and auditors see every department's.
A steward of the department, or an admin, acknowledges and resolves (an auditor only reads). Every
raise and every state change is a ledger entry. Services never commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import M_, N_
from shuzhi.orgs.service import Principal
from shuzhi.quality import alert_events as events
from shuzhi.quality.alert_models import Alert
from shuzhi.store.base import utcnow

KINDS = {
    "metric_anomaly": N_("metric anomaly"),
    "schema_drift": N_("schema changed"),
    "blocking_failed": N_("blocking rule failed"),
    "score_drop": N_("quality score dropped"),
    "late_update": N_("update late"),
    "share_overdue": N_("share requests answered late"),
    "low_score": N_("low supervision score"),
}
"""Each kind of alert in words (catalog messages)."""
STATES = {"new": N_("new"), "acknowledged": N_("acknowledged"), "resolved": N_("resolved")}
SEVERITIES = {"warning": N_("warning"), "critical": N_("critical")}
MAX_LIST = 500


def raise_alert(
    session: Session,
    *,
    kind: str,
    key: str,
    department_id: int,
    severity: str,
    figures: dict,
    dataset_id: int | None = None,
    version_number: int | None = None,
) -> Alert | None:
    """Enter an alert in the inbox unless one for the same condition (`key`) is still open; returns
    the new alert, or None when it was already there. In the ledger as `quality.alert_raised`."""
    if kind not in KINDS or severity not in SEVERITIES:
        raise ValueError(f"unknown alert kind or severity: {kind!r} {severity!r}")
    key = key[:200]
    if session.scalar(select(Alert.id).where(Alert.open_key == key)) is not None:
        return None
    alert = Alert(
        kind=kind,
        key=key,
        open_key=key,
        department_id=department_id,
        dataset_id=dataset_id,
        version_number=version_number,
        severity=severity,
        figures=figures,
        state="new",
        raised_at=utcnow(),
    )
    try:
        with session.begin_nested():  # a savepoint: losing the race below leaves the caller's work intact
            session.add(alert)
            session.flush()
    except IntegrityError:  # a sweep running beside this one raised it between the check and here
        return None
    ledger.append(
        session,
        events.AlertRaised(alert_id=alert.id, kind=kind, key=key, severity=severity, figures=figures),
        department_id=department_id,
        dataset_id=dataset_id,
    )
    return alert


def sees_all(principal: Principal) -> bool:
    return principal.has("admin", "auditor")


def require_reader(principal: Principal, department_id: int | None = None) -> None:
    """Admins and auditors read every department's alerts; a steward, their own department's."""
    if sees_all(principal):
        return
    if not principal.has("steward") or principal.department_id is None:
        raise Forbidden(M_("Quality alerts are for stewards, auditors and admins"), where="alerts")
    if department_id is not None and department_id != principal.department_id:
        raise Forbidden(
            M_("Only the department's stewards, auditors and admins see its alerts"), where="department"
        )


def list_alerts(
    session: Session,
    principal: Principal,
    *,
    state: str | None = None,
    department_id: int | None = None,
    kind: str | None = None,
    limit: int = 200,
) -> list[Alert]:
    """The alerts the principal may see, newest first; filters by state, department and kind."""
    require_reader(principal, department_id)
    if state is not None and state not in STATES and state != "open":
        raise InvalidInput(M_("state must be new, acknowledged, resolved or open"), where="state")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(M_("unknown alert kind %(kind)s", kind=kind), where="kind")
    q = select(Alert)
    if not sees_all(principal):
        department_id = principal.department_id
    if department_id is not None:
        q = q.where(Alert.department_id == department_id)
    if state == "open":
        q = q.where(Alert.state != "resolved")
    elif state is not None:
        q = q.where(Alert.state == state)
    if kind is not None:
        q = q.where(Alert.kind == kind)
    return list(session.scalars(q.order_by(Alert.id.desc()).limit(min(limit, MAX_LIST))))


def count_by_state(
    session: Session, principal: Principal, department_id: int | None = None
) -> dict[str, int]:
    """How many of the alerts the principal may see are in each state."""
    from sqlalchemy import func

    require_reader(principal, department_id)
    if not sees_all(principal):
        department_id = principal.department_id
    q = select(Alert.state, func.count()).group_by(Alert.state)
    if department_id is not None:
        q = q.where(Alert.department_id == department_id)
    found = dict(session.execute(q).all())
    return {k: found.get(k, 0) for k in STATES}


def get_alert(session: Session, principal: Principal, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(M_("No quality alert %(id)s", id=alert_id), where="alert")
    require_reader(principal, alert.department_id)
    return alert


def _require_actor(principal: Principal, alert: Alert) -> None:
    if principal.is_admin or (principal.has("steward") and principal.department_id == alert.department_id):
        return
    raise Forbidden(M_("Only the department's stewards and admins act on its alerts"), where="alert")


def _note(note: str | None, required: bool) -> str | None:
    note = (limits.check(note, limits.REASON, "note") or "").strip()
    if required and not note:
        raise InvalidInput(M_("Say how the alert was resolved"), where="note")
    return note or None


def acknowledge(session: Session, principal: Principal, alert_id: int, note: str | None = None) -> Alert:
    """new → acknowledged: a steward has taken it in hand."""
    alert = get_alert(session, principal, alert_id)
    _require_actor(principal, alert)
    note = _note(note, required=False)
    if alert.state != "new":
        raise Conflict(M_("Alert %(id)s is already %(state)s", id=alert.id, state=STATES[alert.state]))
    alert.state, alert.acknowledged_at = "acknowledged", utcnow()
    alert.acknowledged_by_id, alert.acknowledged_note = principal.user_id, note
    _logged(
        session, principal, alert, events.AlertAcknowledged(alert_id=alert.id, kind=alert.kind, note=note)
    )
    return alert


def resolve(session: Session, principal: Principal, alert_id: int, note: str) -> Alert:
    """new or acknowledged → resolved, saying how; the condition may then raise a new alert."""
    alert = get_alert(session, principal, alert_id)
    _require_actor(principal, alert)
    note = _note(note, required=True)
    if alert.state == "resolved":
        raise Conflict(M_("Alert %(id)s is already %(state)s", id=alert.id, state=STATES[alert.state]))
    alert.state, alert.resolved_at, alert.open_key = "resolved", utcnow(), None
    alert.resolved_by_id, alert.resolved_note = principal.user_id, note
    _logged(session, principal, alert, events.AlertResolved(alert_id=alert.id, kind=alert.kind, note=note))
    return alert


def _logged(session: Session, principal: Principal, alert: Alert, record) -> None:
    session.flush()
    ledger.append(
        session,
        record,
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=alert.dataset_id,
    )


def alerts_out(session: Session, rows: list[Alert]) -> list[dict]:
    """Alerts as the API shows them, naming their datasets and departments."""
    from shuzhi.catalog.models import Dataset
    from shuzhi.orgs.models import Department

    ds_ids = {a.dataset_id for a in rows if a.dataset_id}
    names = dict(session.execute(select(Dataset.id, Dataset.identifier).where(Dataset.id.in_(ds_ids))).all())
    codes = dict(
        session.execute(
            select(Department.id, Department.code).where(Department.id.in_({a.department_id for a in rows}))
        ).all()
    )
    return [alert_out(a, names.get(a.dataset_id), codes.get(a.department_id)) for a in rows]


def alert_out(alert: Alert, dataset: str | None = None, department: str | None = None) -> dict:
    stamp = lambda t: t.isoformat() if t else None  # noqa: E731
    return {
        "id": alert.id,
        "kind": alert.kind,
        "key": alert.key,
        "department": department,
        "dataset": dataset,
        "version": alert.version_number,
        "severity": alert.severity,
        "figures": alert.figures,
        "state": alert.state,
        "raised_at": stamp(alert.raised_at),
        "acknowledged_at": stamp(alert.acknowledged_at),
        "acknowledged_by_id": alert.acknowledged_by_id,
        "acknowledged_note": alert.acknowledged_note,
        "resolved_at": stamp(alert.resolved_at),
        "resolved_by_id": alert.resolved_by_id,
        "resolved_note": alert.resolved_note,
    }


def people(session: Session, rows: list[Alert]) -> dict[int, str]:
    """Display names of whoever acknowledged or resolved these alerts."""
    from shuzhi.orgs.models import User

    ids = {i for a in rows for i in (a.acknowledged_by_id, a.resolved_by_id) if i}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())
