"""What each platform event tells whom: the immediate ones from the ledger's events (same transaction),
the time-based ones from a periodic scan. Every message carries a key naming its event, so neither
path sends anything twice and the scan can run as often as it likes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from shuzhi.classify import alerts
from shuzhi.exchange import events as exchange_events
from shuzhi.exchange import share_requests
from shuzhi.exchange.workdays import calendar_for
from shuzhi.notify import service
from shuzhi.notify.service import Message
from shuzhi.orgs import service as orgs
from shuzhi.store.base import utcnow

IMMEDIATE = ("request.submitted", "request.approved", "request.rejected")


def _name(ds) -> tuple[str, str]:
    return ds.title_zh, ds.title_en or ds.title_zh


def _stewards(session: Session, department_id: int) -> list:
    return orgs.users_with_role(session, department_id, "steward")


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
    providing department's stewards; approved (or narrowed) and rejected tell the requester."""
    if not isinstance(record, exchange_events.RequestMoved) or record.TYPE.name not in IMMEDIATE:
        return
    req = share_requests.find_request(session, record.request_id)
    if req is None:
        return
    zh, en = _name(req.dataset)
    dept = req.department
    if record.to == "submitted":
        service.send(
            session,
            _stewards(session, req.dataset.department_id),
            Message(
                kind="request_submitted",
                key=f"request:{req.id}:submitted:{_stamp(req.submitted_at)}",
                title_zh=f"新的共享申请 #{req.id}：{zh}",
                title_en=f"New share request #{req.id}: {en}",
                body_zh=f"{dept.name_zh}申请{zh}的 {len(req.fields)} 个字段，用途：{req.purpose}。"
                f"请在 {req.deadline} 前审核。",
                body_en=f"{dept.name_en or dept.name_zh} asks for {len(req.fields)} "
                f"field{'s' if len(req.fields) != 1 else ''} of {en}, "
                f"for: {req.purpose}. Please decide by {req.deadline}.",
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
                title_zh=f"申请 #{req.id} 已{'缩小范围' if narrowed else ''}批准：{zh}",
                title_en=f"Request #{req.id} approved{' (narrowed)' if narrowed else ''}: {en}",
                body_zh=(f"未批准的字段：{', '.join(left_out)}。" if narrowed else "所申请的字段均已批准。")
                + (f"意见：{req.decision_reason}" if req.decision_reason else ""),
                body_en=(
                    f"Fields not granted: {', '.join(left_out)}. "
                    if narrowed
                    else "Every field asked for is granted. "
                )
                + (f"Decision: {req.decision_reason}" if req.decision_reason else ""),
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
                title_zh=f"申请 #{req.id} 已驳回：{zh}",
                title_en=f"Request #{req.id} rejected: {en}",
                body_zh=f"驳回理由：{req.decision_reason or ''}",
                body_en=f"Reason: {req.decision_reason or ''}",
                link=request_link(req.id),
            ),
        )


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
        zh, en = _name(req.dataset)
        late = req.deadline < today
        kind = "review_overdue" if late else "review_due_soon"
        message = Message(
            kind=kind,
            key=f"request:{req.id}:{'overdue' if late else 'due_soon'}:{req.deadline}",
            title_zh=f"申请 #{req.id} 审核{'已逾期' if late else '即将到期'}：{zh}",
            title_en=f"Review of request #{req.id} {'is overdue' if late else 'due soon'}: {en}",
            body_zh=f"审核截止日期：{req.deadline}。",
            body_en=f"Review deadline: {req.deadline}.",
            link=request_link(req.id),
        )
        counts[kind] += len(service.send(session, stewards_of(req.dataset.department_id), message))

    for grant in share_requests.grants_expiring(session, timedelta(days=settings.notify.grant_expiry_days)):
        zh, en = _name(grant.dataset)
        # The person who asked is told; a grant made without a request goes to the grantee's stewards.
        request = grant.request
        to = [request.requester] if request is not None else stewards_of(grant.department_id)
        message = Message(
            kind="grant_expiring",
            key=f"grant:{grant.id}:expiring:{grant.expires_on}",
            title_zh=f"授权 #{grant.id} 将于 {grant.expires_on} 到期：{zh}",
            title_en=f"Grant #{grant.id} ends on {grant.expires_on}: {en}",
            body_zh="到期后将不能再读取该数据；如需继续使用，请重新提出申请。",
            body_en="After that day the data can no longer be read; ask again to keep using it.",
            link=grant_link(grant.id),
        )
        counts["grant_expiring"] += len(service.send(session, to, message))

    open_ = alerts.open_alerts(session)
    had = service.sent_keys(session, [f"alert:{a.id}" for a, _ in open_])
    for alert, ds in open_:
        to = [u for u in stewards_of(ds.department_id) if (f"alert:{alert.id}", u.id) not in had]
        if not to:
            continue
        zh, en = _name(ds)
        message = Message(
            kind="grading_alert",
            key=f"alert:{alert.id}",
            title_zh=f"分级提醒：{zh}" + (f" · {alert.field_name}" if alert.field_name else ""),
            title_en=f"Grading alert: {en}" + (f" · {alert.field_name}" if alert.field_name else ""),
            body_zh=alert.message,
            body_en=alert.message,
            link=f"/datasets/{ds.identifier}#alert-{alert.id}",
        )
        counts["grading_alert"] += len(service.send(session, to, message))
    return counts
