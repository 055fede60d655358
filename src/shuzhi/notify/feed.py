"""What each platform event tells whom: the immediate ones from the ledger's events (same transaction),
the time-based ones from a periodic scan. Every message carries a key naming its event, so neither
path sends anything twice and the scan can run as often as it likes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from shuzhi import i18n
from shuzhi.catalog.service import get_dataset
from shuzhi.classify import alerts
from shuzhi.exchange import events as exchange_events
from shuzhi.exchange import share_requests
from shuzhi.exchange.workdays import calendar_for
from shuzhi.i18n import M_, Pair
from shuzhi.notify import service
from shuzhi.notify.service import Message
from shuzhi.opendata import application_events
from shuzhi.orgs import service as orgs
from shuzhi.quality import alert_events
from shuzhi.store.base import utcnow

IMMEDIATE = ("request.submitted", "request.approved", "request.rejected")


def _name(ds) -> Pair:
    """A dataset's title in each language (the Chinese where it has no English one)."""
    return Pair(ds.title_zh, ds.title_en)


def _stewards(session: Session, department_id: int) -> list:
    return orgs.users_with_role(session, department_id, "steward")


APPLICATIONS_LINK = "/opendata/applications"
"""The stewards' page of open-data applications awaiting a decision."""


def request_link(request_id: int) -> str:
    return f"/exchange/requests/{request_id}"


def grant_link(grant_id: int) -> str:
    return f"/exchange/grants/{grant_id}"


# -- immediate: from the ledger's events ------------------------------------------------------


def _stamp(moment) -> str:
    """A moment in a notification's key: the same event told once, a new one (a request submitted
    again after an amendment, a second rejection, a grant renewed) told again."""
    return moment.isoformat() if moment is not None else ""


def on_ledger_event(session: Session, record) -> None:
    """React to an audit event as it is appended, in its transaction: a request submitted tells the
    providing department's stewards; approved (or narrowed) and rejected tell the requester; an
    open-data application submitted tells the stewards of the dataset's department."""
    if isinstance(record, application_events.ApplicationSubmitted):
        _application_submitted(session, record)
        return
    if isinstance(record, alert_events.AlertRaised):
        _quality_alert(session, record)
        return
    if not isinstance(record, exchange_events.RequestMoved) or record.TYPE.name not in IMMEDIATE:
        return
    req = share_requests.find_request(session, record.request_id)
    if req is None:
        return
    dataset = _name(req.dataset)
    if record.to == "submitted":
        service.send(
            session,
            _stewards(session, req.dataset.department_id),
            Message(
                kind="request_submitted",
                key=f"request:{req.id}:submitted:{_stamp(req.submitted_at)}",
                title=M_("New share request #%(number)s: %(dataset)s", number=req.id, dataset=dataset),
                body=_asks_for(req, dataset),
                link=request_link(req.id),
            ),
        )
    elif record.to == "approved":
        granted = [f for g in share_requests.grants_of_request(session, req.id) for f in g.fields]
        left_out = [f for f in req.fields if f not in granted]
        narrowed = bool(left_out)
        service.send(
            session,
            [req.requester],
            Message(
                kind="request_narrowed" if narrowed else "request_approved",
                key=f"request:{req.id}:approved",
                title=(
                    M_("Request #%(number)s approved (narrowed): %(dataset)s", number=req.id, dataset=dataset)
                    if narrowed
                    else M_("Request #%(number)s approved: %(dataset)s", number=req.id, dataset=dataset)
                ),
                body=_granted(left_out, req.decision_reason),
                link=request_link(req.id),
            ),
        )
    elif record.to == "rejected":
        service.send(
            session,
            [req.requester],
            Message(
                kind="request_rejected",
                key=f"request:{req.id}:rejected:{_stamp(req.decided_at)}",
                title=M_("Request #%(number)s rejected: %(dataset)s", number=req.id, dataset=dataset),
                body=M_("Reason: %(reason)s", reason=req.decision_reason or ""),
                link=request_link(req.id),
            ),
        )


def _quality_alert(session: Session, record) -> None:
    """A new quality alert tells the stewards of its department (the alert's own department id)."""
    from shuzhi.quality.alert_models import Alert
    from shuzhi.quality.alerts import KINDS

    alert = session.get(Alert, record.alert_id)
    if alert is None:
        return
    subject = record.figures.get("dataset") or ""
    service.send(
        session,
        _stewards(session, alert.department_id),
        Message(
            kind="quality_alert",
            key=f"quality_alert:{alert.id}",
            title=M_(
                "Quality alert: %(kind)s %(subject)s", kind=i18n.Message(KINDS[record.kind]), subject=subject
            ),
            body=M_("Open the quality alert inbox to acknowledge or resolve it."),
            link=f"/quality/alerts#alert-{alert.id}",
        ),
    )


def _application_submitted(session: Session, record) -> None:
    # The applicant is a portal user, not a staff user: notifications address staff users only, so
    # the applicant follows the decision on the portal's account page instead.
    ds = get_dataset(session, record.dataset)
    dataset = _name(ds)
    service.send(
        session,
        _stewards(session, ds.department_id),
        Message(
            kind="application_submitted",
            key=f"application:{record.application_id}:submitted",
            title=M_(
                "New open-data application #%(number)s: %(dataset)s",
                number=record.application_id,
                dataset=dataset,
            ),
            body=M_(
                "%(organisation)s applies for the data of %(dataset)s from %(start)s to %(end)s, for: "
                "%(purpose)s.",
                organisation=record.organisation,
                dataset=dataset,
                start=record.start,
                end=record.end,
                purpose=record.purpose,
            ),
            link=APPLICATIONS_LINK,
        ),
    )


def _asks_for(req, dataset: Pair) -> i18n.Message:
    """A submitted request's body: who asks for how many fields of what, what for, decide by when."""
    values = {
        "department": Pair(req.department.name_zh, req.department.name_en),
        "dataset": dataset,
        "count": len(req.fields),
        "purpose": req.purpose,
        "deadline": req.deadline,
    }
    if len(req.fields) == 1:
        return M_(
            "%(department)s asks for 1 field of %(dataset)s, for: %(purpose)s. Please decide by %(deadline)s.",
            **values,
        )
    return M_(
        "%(department)s asks for %(count)s fields of %(dataset)s, for: %(purpose)s. "
        "Please decide by %(deadline)s.",
        **values,
    )


def _granted(left_out: list[str], reason: str | None) -> i18n.Message:
    """An approval's body: the fields left out (if any were), then the decision's note (if any)."""
    fields = ", ".join(left_out)
    if left_out and reason:
        return M_("Fields not granted: %(fields)s. Decision: %(reason)s", fields=fields, reason=reason)
    if left_out:
        return M_("Fields not granted: %(fields)s.", fields=fields)
    if reason:
        return M_("Every field asked for is granted. Decision: %(reason)s", reason=reason)
    return M_("Every field asked for is granted.")


# -- time-based: the periodic scan ------------------------------------------------------------


def scan(session: Session, settings) -> dict[str, int]:
    """Send what time has made due: reviews near or past their deadline, grants about to end, grading
    alerts not yet told. Idempotent: a key already sent to a user is not sent again."""
    counts = {"review_due_soon": 0, "review_overdue": 0, "grant_expiring": 0, "grading_alert": 0}
    today = utcnow().date()
    warn_until = calendar_for(settings).add_working_days(today, settings.notify.deadline_warning_days)
    stewards: dict[int, list] = {}

    def stewards_of(dept: int) -> list:
        if dept not in stewards:
            stewards[dept] = _stewards(session, dept)
        return stewards[dept]

    for req in share_requests.awaiting_review(session):
        if req.deadline is None or req.deadline > warn_until:
            continue
        dataset = _name(req.dataset)
        late = req.deadline < today
        kind = "review_overdue" if late else "review_due_soon"
        message = Message(
            kind=kind,
            key=f"request:{req.id}:{'overdue' if late else 'due_soon'}:{req.deadline}",
            title=(
                M_("Review of request #%(number)s is overdue: %(dataset)s", number=req.id, dataset=dataset)
                if late
                else M_("Review of request #%(number)s due soon: %(dataset)s", number=req.id, dataset=dataset)
            ),
            body=M_("Review deadline: %(deadline)s.", deadline=req.deadline),
            link=request_link(req.id),
        )
        counts[kind] += len(service.send(session, stewards_of(req.dataset.department_id), message))

    for grant in share_requests.grants_expiring(session, timedelta(days=settings.notify.grant_expiry_days)):
        dataset = _name(grant.dataset)
        # The person who asked is told; a grant made without a request goes to the grantee's stewards.
        request = grant.request
        to = [request.requester] if request is not None else stewards_of(grant.department_id)
        message = Message(
            kind="grant_expiring",
            key=f"grant:{grant.id}:expiring:{grant.expires_on}",
            title=M_(
                "Grant #%(number)s ends on %(day)s: %(dataset)s",
                number=grant.id,
                day=grant.expires_on,
                dataset=dataset,
            ),
            body=M_("After that day the data can no longer be read; ask again to keep using it."),
            link=grant_link(grant.id),
        )
        counts["grant_expiring"] += len(service.send(session, to, message))

    open_ = alerts.open_alerts(session)
    had = service.sent_keys(session, [f"alert:{a.id}" for a, _ in open_])
    for alert, ds in open_:
        to = [u for u in stewards_of(ds.department_id) if (f"alert:{alert.id}", u.id) not in had]
        if not to:
            continue
        dataset = _name(ds)
        message = Message(
            kind="grading_alert",
            key=f"alert:{alert.id}",
            title=(
                M_("Grading alert: %(dataset)s · %(field)s", dataset=dataset, field=alert.field_name)
                if alert.field_name
                else M_("Grading alert: %(dataset)s", dataset=dataset)
            ),
            body=Pair(alert.message, alert.message),  # the grading's own words, as it stored them
            link=f"/datasets/{ds.identifier}#alert-{alert.id}",
        )
        counts["grading_alert"] += len(service.send(session, to, message))
    return counts
