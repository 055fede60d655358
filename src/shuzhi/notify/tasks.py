"""A user's tasks for the home page, read through each domain's services: requests to review, own
requests, grants ending soon, open grading alerts, newest datasets; and the city-wide view for admins."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from shuzhi.catalog import search as catalog_search
from shuzhi.classify import alerts
from shuzhi.exchange import share_requests
from shuzhi.notify import service
from shuzhi.orgs import service as orgs
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow

SHOWN = 10
"""Rows each list shows; its count says how many there are."""


@dataclass
class CityView:
    by_state: dict[str, int]
    overdue: list
    grants_in_force: int
    open_alerts: int
    departments: list[dict]
    """One row per department with anything to show: name, awaiting review, overdue, grants in
    force on its datasets, open alerts."""


@dataclass
class Home:
    to_review: list = field(default_factory=list)
    to_review_total: int = 0
    overdue_ids: set[int] = field(default_factory=set)
    mine: list = field(default_factory=list)
    mine_total: int = 0
    mine_open: int = 0
    expiring_held: list = field(default_factory=list)
    expiring_given: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    alerts_total: int = 0
    newest: list = field(default_factory=list)
    unread: int = 0
    city: CityView | None = None
    reviews: bool = False
    """Whether this user reviews requests (steward or admin): the review list is shown."""


def home(session: Session, settings, principal: Principal) -> Home:
    today = utcnow().date()
    soon = timedelta(days=settings.notify.grant_expiry_days)
    h = Home(reviews=principal.has("steward", "admin"))
    if h.reviews:
        inbox = share_requests.inbox(session, principal)
        h.to_review, h.to_review_total = inbox[:SHOWN], len(inbox)
        h.overdue_ids = {r.id for r in inbox if r.deadline is not None and r.deadline < today}
        if principal.is_admin:
            found = alerts.open_alerts(session)
        else:
            found = alerts.open_alerts(session, department_id=principal.department_id)
        h.alerts, h.alerts_total = found[:SHOWN], len(found)
        if principal.department_id is not None:
            h.expiring_given = share_requests.grants_expiring(
                session, soon, provider_id=principal.department_id
            )[:SHOWN]
    if principal.user_id is not None:
        mine = share_requests.my_requests(session, principal)
        h.mine, h.mine_total = mine[:SHOWN], len(mine)
        h.mine_open = sum(1 for r in mine if r.state in ("draft", "submitted"))
        if principal.department_id is not None:
            # Grants are held by the department (as "My grants" lists them).
            h.expiring_held = share_requests.grants_expiring(
                session, soon, department_id=principal.department_id
            )[:SHOWN]
        h.unread = service.unread_count(session, principal.user_id)
    h.newest = catalog_search.search(session, "", limit=5, sort="newest").datasets
    if principal.is_admin:
        h.city = city(session, today)
    return h


def city(session: Session, today) -> CityView:
    overview = share_requests.city_overview(session, today)
    alert_counts = alerts.open_alert_counts(session)
    rows = []
    for dept in orgs.list_departments(session):
        o = overview.get(dept.id, {"submitted": 0, "overdue": 0, "grants": 0})
        n = alert_counts.get(dept.id, 0)
        if o["submitted"] or o["grants"] or n:
            rows.append({"department": dept, **o, "alerts": n})
    admin_view = orgs.system_principal()
    return CityView(
        by_state=share_requests.requests_by_state(session),
        overdue=share_requests.overdue(session, admin_view, today),
        grants_in_force=sum(o["grants"] for o in overview.values()),
        open_alerts=sum(alert_counts.values()),
        departments=rows,
    )
