"""Applications for conditional (有条件开放) open data: portal accounts, applying, the owning department's decision.

A member of the public registers (a portal user, never staff), applies for a conditional dataset
stating the use, organisation and period, and accepts the terms of use (their version and hash are
kept). A steward of the owning department, or an admin, approves (perhaps for a shorter period) or
rejects with a reason; an approval may be revoked. While approved and within its period, the
application lets its applicant read the dataset's published releases (`access.may_read_data`),
each read a ledger entry naming it. Every step here is a ledger entry.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog.service import get_dataset
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound, Throttled
from shuzhi.i18n import M_
from shuzhi.ledger.reconcile import digest
from shuzhi.opendata import application_events as events
from shuzhi.opendata.application_models import Application, PortalSession, PortalUser
from shuzhi.opendata.models import Release
from shuzhi.orgs import service as orgs
from shuzhi.orgs import throttle
from shuzhi.orgs.service import Principal
from shuzhi.orgs.settings import AuthSettings
from shuzhi.store.base import utcnow

MAX_DAYS = 366
"""The longest period one application may ask for (start and end days included)."""
MAX_LEAD_DAYS = 180
"""How far ahead a period may start."""
SESSION_HOURS = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
THROTTLE_PREFIX = "portal:"
"""Failed portal logins are counted (orgs.throttle) under this prefix, apart from staff usernames."""

TERMS_VERSION = "2026-1"
TERMS = (
    M_("Use the data only for the purpose stated in this application, and only within the approved period."),
    M_(
        "Do not try to re-identify any person or organisation from the data, nor link it with other data to do so."
    ),
    M_("Do not pass the data on to others; show only results that identify no one."),
    M_("Name the publishing department as the source wherever results from the data are shown."),
    M_(
        "Every download and query is recorded; the department may revoke the approval if these terms are broken."
    ),
)
"""The terms of use an applicant accepts (有条件开放数据使用协议), clause by clause."""


def terms(lang: str) -> list[str]:
    return [clause.in_lang(lang) for clause in TERMS]


def terms_sha256() -> str:
    """The hash of the terms as shown, in both languages: what an applicant accepted is known exactly."""
    text = "\n".join([TERMS_VERSION, *terms("zh"), *terms("en")])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _required(value: str | None, limit: int, where: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InvalidInput(M_("%(field)s is required", field=where), where=where)
    return limits.check(value, limit, where)


# -- portal accounts -----------------------------------------------------------------------------


def register(
    session: Session, *, email: str, password: str, display_name: str, organisation: str
) -> PortalUser:
    """A new portal user; the e-mail address is the login name (kept lower-case)."""
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > limits.EMAIL:
        raise InvalidInput(M_("Enter an e-mail address such as name@example.com"), where="email")
    display_name = _required(display_name, limits.LABEL, "display_name")
    organisation = _required(organisation, limits.NAME, "organisation")
    password_hash = orgs.hash_password(password)
    if session.scalar(select(PortalUser.id).where(PortalUser.email == email)):
        raise Conflict(M_("An account with this e-mail address exists: log in instead"), where="email")
    user = PortalUser(
        email=email,
        display_name=display_name,
        organisation=organisation,
        password_hash=password_hash,
        active=True,
    )
    session.add(user)
    session.flush()
    ledger.append(
        session,
        events.PortalUserRegistered(
            portal_user_id=user.id,
            email=email,
            organisation=organisation,
            password_digest=digest(password_hash),
        ),
    )
    return user


def authenticate(
    session: Session, email: str, password: str, *, address: str | None, auth: AuthSettings
) -> PortalUser | None:
    """The portal user when the password is right; None otherwise (the failure in the ledger).
    Failed logins are counted and locked out as staff ones are; a lockout raises Throttled."""
    email = (email or "").strip().lower()
    now = utcnow()
    guard = throttle.LoginGuard.take(session, auth, THROTTLE_PREFIX + email, address, now)
    lock = guard.locked(now)
    if lock is not None:
        raise guard.refuse(lock, None, now)
    user = session.scalar(select(PortalUser).where(PortalUser.email == email))
    if not orgs.password_matches(user.password_hash if user else None, password) or not user.active:
        ledger.append(session, events.PortalLoginFailed(email=email[:200], address=address), outcome="denied")
        guard.failed(None, now)
        return None
    guard.succeeded()
    return user


def start_session(session: Session, user: PortalUser, *, hours: int = SESSION_HOURS) -> str:
    """A new login of `user`; returns the cookie's clear value (only its hash is kept)."""
    clear, kept = orgs.new_login_secrets(hours)
    login = PortalSession(portal_user_id=user.id, **kept)
    session.add(login)
    session.flush()
    ledger.append(
        session,
        events.PortalLogin(
            portal_user_id=user.id,
            portal_session=login.id,
            expires_at=login.expires_at.isoformat(),
            hash_digest=digest(login.session_hash),
        ),
    )
    return clear


def sign_in(db, email: str, password: str, *, address: str | None, auth: AuthSettings) -> str | None:
    """Check a portal login and start a session in one write transaction: the cookie's value, or
    None for a wrong address or password; Throttled (after committing its ledger entry) when locked."""
    refused: Throttled | None = None
    with db.write() as session:
        try:
            user = authenticate(session, email, password, address=address, auth=auth)
        except Throttled as e:
            user, refused = None, e
        clear = start_session(session, user) if user is not None else None
    if refused is not None:
        raise refused
    return clear


def find_session(session: Session, clear: str) -> PortalSession | None:
    login = session.scalar(
        select(PortalSession).where(PortalSession.session_hash == orgs.session_hash(clear))
    )
    if login is None or login.ended_at is not None or login.expires_at <= utcnow() or not login.user.active:
        return None
    return login


def end_session(session: Session, login: PortalSession) -> None:
    login.ended_at = utcnow()
    ledger.append(session, events.PortalLogout(portal_user_id=login.portal_user_id, portal_session=login.id))


# -- applying ------------------------------------------------------------------------------------


def _conditional(session: Session, identifier: str):
    """The dataset if its data is open on application: conditional, with a published release."""
    ds = get_dataset(session, identifier)
    published = session.scalar(
        select(Release.id).where(Release.dataset_id == ds.id, Release.state == "published").limit(1)
    )
    if ds.open_type != "conditional" or published is None:
        if ds.open_type == "unconditional" and published is not None:
            raise InvalidInput(
                M_("This dataset is open to all: download it without applying"), where="dataset"
            )
        raise NotFound(M_("No conditional open dataset %(dataset)s", dataset=identifier), where="dataset")
    return ds


def _check_period(start: date, end: date, today: date) -> None:
    if start < today:
        raise InvalidInput(M_("The period cannot start before today"), where="start")
    if start > today + timedelta(days=MAX_LEAD_DAYS):
        raise InvalidInput(
            M_("The period must start within %(days)s days", days=MAX_LEAD_DAYS), where="start"
        )
    if end < start:
        raise InvalidInput(M_("The period must end on or after its start"), where="end")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(M_("A period lasts at most %(days)s days", days=MAX_DAYS), where="end")


def apply(
    session: Session,
    user: PortalUser,
    dataset: str,
    *,
    purpose: str,
    organisation: str,
    start: date,
    end: date,
    accepted_terms: str | None,
    today: date | None = None,
) -> Application:
    """Submit an application for a conditional dataset. `accepted_terms` is the hash of the terms
    the applicant was shown and accepted (`terms_sha256()`); None or another hash is refused."""
    today = today or utcnow().date()
    ds = _conditional(session, dataset)
    purpose = _required(purpose, limits.REASON, "purpose")
    organisation = _required(organisation, limits.NAME, "organisation")
    _check_period(start, end, today)
    if accepted_terms != terms_sha256():
        raise InvalidInput(
            M_("Accept the terms of use as shown (they may have changed: read them again)"), where="terms"
        )
    if open_application(session, user.id, ds.id, today) is not None:
        raise Conflict(
            M_("You already have an application for this dataset awaiting a decision or in force"),
            where="dataset",
        )
    app = Application(
        dataset_id=ds.id,
        portal_user_id=user.id,
        purpose=purpose,
        organisation=organisation,
        requested_start=start,
        requested_end=end,
        terms_version=TERMS_VERSION,
        terms_sha256=accepted_terms,
        state="submitted",
        submitted_at=utcnow(),
    )
    session.add(app)
    session.flush()
    ledger.append(
        session,
        events.ApplicationSubmitted(
            application_id=app.id,
            dataset=ds.identifier,
            portal_user_id=user.id,
            purpose=purpose,
            organisation=organisation,
            start=start.isoformat(),
            end=end.isoformat(),
            terms_version=TERMS_VERSION,
            terms_sha256=accepted_terms,
        ),
        department_id=ds.department_id,
        dataset_id=ds.id,
    )
    return app


def open_application(
    session: Session, portal_user_id: int, dataset_id: int, today: date
) -> Application | None:
    """The user's application for the dataset that is awaiting a decision or approved and not past its period."""
    return session.scalar(
        select(Application).where(
            Application.portal_user_id == portal_user_id,
            Application.dataset_id == dataset_id,
            or_(
                Application.state == "submitted",
                (Application.state == "approved") & (Application.granted_end >= today),
            ),
        )
    )


def current_application(
    session: Session, portal_user_id: int, dataset_id: int, today: date | None = None
) -> Application | None:
    """The approved application under which the user may read the dataset's data on `today`."""
    today = today or utcnow().date()
    return session.scalar(
        select(Application)
        .join(PortalUser, PortalUser.id == Application.portal_user_id)
        .where(
            Application.portal_user_id == portal_user_id,
            Application.dataset_id == dataset_id,
            Application.state == "approved",
            Application.granted_start <= today,
            Application.granted_end >= today,
            PortalUser.active.is_(True),
        )
        .order_by(Application.granted_end.desc())
        .limit(1)
    )


def reader_may_download(session: Session, user: PortalUser | None, release_id: int) -> bool:
    """Whether the portal user (None: nobody logged in) may read the published release's data now:
    for a page to offer the download; the download itself goes through `published.release_table_path`."""
    from shuzhi.opendata.access import ANONYMOUS, Reader, may_read_data

    release = session.get(Release, release_id)
    if release is None or release.state != "published":
        return False
    try:
        may_read_data(session, release, Reader(portal_user_id=user.id) if user else ANONYMOUS)
    except Forbidden:
        return False
    return True


def shown_state(app: Application, today: date | None = None) -> str:
    """The state as the applicant and the department see it: an approved application past its
    period is `expired`, one whose period has not begun is `approved` still."""
    today = today or utcnow().date()
    if app.state == "approved" and app.granted_end is not None and app.granted_end < today:
        return "expired"
    return app.state


def mine(session: Session, user: PortalUser) -> list[Application]:
    return list(
        session.scalars(
            select(Application).where(Application.portal_user_id == user.id).order_by(Application.id.desc())
        )
    )


def my_application(session: Session, user: PortalUser, application_id: int) -> Application:
    """One of the user's own applications; another's is not there for them."""
    app = session.get(Application, application_id)
    if app is None or app.portal_user_id != user.id:
        raise NotFound(M_("No application %(id)s", id=application_id), where="application")
    return app


# -- the department's decision -------------------------------------------------------------------


def can_decide(principal: Principal, app: Application) -> bool:
    """Stewards of the dataset's department and admins decide on its applications."""
    return principal.is_admin or (
        principal.has("steward") and principal.department_id == app.dataset.department_id
    )


def for_staff(session: Session, principal: Principal, *, state: str | None = None) -> list[Application]:
    """Applications the caller decides on, oldest waiting first (admins: all; stewards: their
    department's datasets')."""
    if not principal.has("steward", "admin"):
        raise Forbidden(M_("Only stewards and admins review open-data applications"))
    from shuzhi.catalog.models import Dataset

    q = select(Application).join(Dataset, Dataset.id == Application.dataset_id)
    if not principal.is_admin:
        q = q.where(Dataset.department_id == principal.department_id)
    if state:
        q = q.where(Application.state == state)
    return list(session.scalars(q.order_by(Application.state != "submitted", Application.id)))


def get_for_staff(session: Session, principal: Principal, application_id: int) -> Application:
    app = session.get(Application, application_id)
    if app is None or not can_decide(principal, app):
        raise NotFound(M_("No application %(id)s", id=application_id), where="application")
    return app


def _check_decider(session: Session, principal: Principal, app: Application) -> None:
    if not can_decide(principal, app):
        raise Forbidden(
            M_("Only a steward of the dataset's department or an admin decides on its applications")
        )
    # A steward who also applied through the portal (same e-mail address) never decides their own.
    staff = (
        orgs.users_by_id(session, [principal.user_id]).get(principal.user_id) if principal.user_id else None
    )
    if staff is not None and (staff.email or "").strip().lower() == app.applicant.email:
        raise Forbidden(M_("You cannot decide on your own application"))


def _submitted(app: Application) -> None:
    if app.state != "submitted":
        raise Conflict(
            M_("Application %(id)s is %(state)s, not awaiting a decision", id=app.id, state=app.state)
        )


def approve(
    session: Session,
    principal: Principal,
    app: Application,
    *,
    end: date | None = None,
    reason: str | None = None,
    today: date | None = None,
) -> Application:
    """Approve for the requested period, or one ending earlier (`end`)."""
    today = today or utcnow().date()
    _check_decider(session, principal, app)
    _submitted(app)
    end = end or app.requested_end
    if end > app.requested_end:
        raise InvalidInput(M_("An approval may shorten the period, never lengthen it"), where="end")
    start = max(app.requested_start, today)
    if end < start:
        raise InvalidInput(M_("The period must end on or after its start"), where="end")
    reason = limits.check((reason or "").strip() or None, limits.REASON, "reason")
    app.state, app.granted_start, app.granted_end = "approved", start, end
    _decided(app, principal, reason)
    _record(
        session,
        principal,
        app,
        events.ApplicationApproved(
            application_id=app.id,
            dataset=app.dataset.identifier,
            portal_user_id=app.portal_user_id,
            start=start.isoformat(),
            end=end.isoformat(),
            reason=reason,
        ),
    )
    return app


def reject(session: Session, principal: Principal, app: Application, reason: str) -> Application:
    _check_decider(session, principal, app)
    _submitted(app)
    reason = _required(reason, limits.REASON, "reason")
    app.state = "rejected"
    _decided(app, principal, reason)
    _record(
        session,
        principal,
        app,
        events.ApplicationRejected(
            application_id=app.id,
            dataset=app.dataset.identifier,
            portal_user_id=app.portal_user_id,
            reason=reason,
        ),
    )
    return app


def revoke(session: Session, principal: Principal, app: Application, reason: str) -> Application:
    """Take an approval back at once: the applicant reads nothing more under it."""
    _check_decider(session, principal, app)
    if app.state != "approved":
        raise Conflict(M_("Only an approved application can be revoked"))
    reason = _required(reason, limits.REASON, "reason")
    app.state, app.revoked_at, app.revoked_by_id, app.revoke_reason = (
        "revoked",
        utcnow(),
        principal.user_id,
        reason,
    )
    _record(
        session,
        principal,
        app,
        events.ApplicationRevoked(
            application_id=app.id,
            dataset=app.dataset.identifier,
            portal_user_id=app.portal_user_id,
            reason=reason,
        ),
    )
    return app


def _decided(app: Application, principal: Principal, reason: str | None) -> None:
    app.decided_at, app.decided_by_id, app.decision_reason = utcnow(), principal.user_id, reason


def _record(session: Session, principal: Principal, app: Application, record) -> None:
    ledger.append(
        session,
        record,
        user_id=principal.user_id,
        department_id=app.dataset.department_id,
        dataset_id=app.dataset_id,
    )


def application_out(app: Application, today: date | None = None) -> dict:
    """An application as the API shows it to the department."""

    def day(d: date | None) -> str | None:
        return d.isoformat() if d else None

    return {
        "id": app.id,
        "dataset": app.dataset.identifier,
        "state": shown_state(app, today),
        "applicant": {
            "id": app.applicant.id,
            "name": app.applicant.display_name,
            "email": app.applicant.email,
            "organisation": app.applicant.organisation,
        },
        "purpose": app.purpose,
        "organisation": app.organisation,
        "requested": {"start": day(app.requested_start), "end": day(app.requested_end)},
        "granted": {"start": day(app.granted_start), "end": day(app.granted_end)}
        if app.granted_end
        else None,
        "terms_version": app.terms_version,
        "terms_sha256": app.terms_sha256,
        "submitted_at": app.submitted_at.isoformat(),
        "decided_at": app.decided_at.isoformat() if app.decided_at else None,
        "decision_reason": app.decision_reason,
        "revoked_at": app.revoked_at.isoformat() if app.revoked_at else None,
        "revoke_reason": app.revoke_reason,
    }
