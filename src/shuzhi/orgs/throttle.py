"""Failed-login throttling: counts per username and per client address, lockouts with backoff, unlocks."""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.errors import Forbidden, NotFound, Throttled
from shuzhi.i18n import M_
from shuzhi.orgs import events
from shuzhi.orgs.models import LoginThrottle, User
from shuzhi.orgs.settings import AuthSettings

ACCOUNT = "account"
ADDRESS = "address"
KEY_CHARS = 200


def _ensure(session: Session, kind: str, key: str, now: datetime) -> None:
    """Insert the counter row unless it exists, without failing when another process inserts it first."""
    dialect = session.get_bind().dialect.name
    values = {"kind": kind, "key": key, "failures": 0, "window_start": now, "lockouts": 0, "refused": 0}
    if dialect == "postgresql":
        stmt = postgresql.insert(LoginThrottle).values(**values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(LoginThrottle).values(**values).on_conflict_do_nothing()
    else:  # pragma: no cover - the store runs on SQLite or PostgreSQL
        if lockout_of(session, kind, key) is None:
            session.add(LoginThrottle(**values))
            session.flush()
        return
    session.execute(stmt)


def _retry_after(until: datetime, now: datetime) -> int:
    return max(1, math.ceil((until - now).total_seconds()))


@dataclass
class LoginGuard:
    """The counters one login attempt is judged by, locked for the attempt's transaction.

    Rows are locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's transactions hold the write lock
    already) before the password is checked, so parallel guesses are counted one after another and
    none slips past a threshold."""

    session: Session
    auth: AuthSettings
    username: str
    address: str | None
    rows: dict[str, LoginThrottle]

    @classmethod
    def take(
        cls, session: Session, auth: AuthSettings, username: str, address: str | None, now: datetime
    ) -> LoginGuard:
        keys = [(ACCOUNT, username[:KEY_CHARS])]
        if address:
            keys.insert(0, (ADDRESS, address_key(address)))
        for kind, key in keys:  # always address before account: one lock order for every attempt
            _ensure(session, kind, key, now)
        found = session.scalars(
            select(LoginThrottle)
            .where(or_(*(and_(LoginThrottle.kind == k, LoginThrottle.key == v) for k, v in keys)))
            .order_by(LoginThrottle.kind.desc())
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return cls(session, auth, username, address, {r.kind: r for r in found})

    def locked(self, now: datetime) -> LoginThrottle | None:
        """The row whose lockout lasts longest, when one is in force."""
        active = [r for r in self.rows.values() if r.locked_until is not None and r.locked_until > now]
        return max(active, key=lambda r: r.locked_until) if active else None

    def refuse(self, row: LoginThrottle, user: User | None, now: datetime) -> Throttled:
        """Count and audit an attempt made during a lockout; the password was not looked at."""
        row.refused += 1
        retry = _retry_after(row.locked_until, now)
        ledger.append(
            self.session,
            events.LoginThrottled(
                username=self.username,
                address=self.address,
                locked=row.kind,
                locked_until=row.locked_until,
                retry_after_s=retry,
            ),
            user_id=user.id if user else None,
            department_id=user.department_id if user else None,
            outcome="denied",
        )
        return Throttled(
            M_("too many failed logins: retry in %(retry)s s", retry=retry),
            retry_after=retry,
        )

    def failed(self, user: User | None, now: datetime) -> None:
        """Count a wrong password against the username and the address; lock out at a threshold."""
        limits = {ACCOUNT: self.auth.max_failures_per_account, ADDRESS: self.auth.max_failures_per_address}
        window = timedelta(seconds=self.auth.failure_window_s)
        for kind, row in self.rows.items():
            if row.window_start + window <= now:
                quiet_since = row.locked_until or row.window_start
                if quiet_since + window <= now:  # a quiet window forgets earlier lockouts
                    row.lockouts = 0
                row.failures, row.window_start = 0, now
            row.failures += 1
            if row.failures < limits[kind]:
                continue
            seconds = min(self.auth.lockout_s * 2**row.lockouts, self.auth.max_lockout_s)
            row.locked_until = now + timedelta(seconds=seconds)
            row.lockouts += 1
            failures, row.failures, row.window_start, row.refused = row.failures, 0, now, 0
            ledger.append(
                self.session,
                events.Locked(
                    kind=kind,
                    username=self.username if kind == ACCOUNT else None,
                    address=self.address,
                    failures=failures,
                    lockout=row.lockouts,
                    seconds=round(seconds),
                    locked_until=row.locked_until,
                ),
                user_id=user.id if user and kind == ACCOUNT else None,
                department_id=user.department_id if user and kind == ACCOUNT else None,
                outcome="denied",
            )
        self.session.flush()
        prune(self.session, self.auth, now)

    def succeeded(self) -> None:
        """A right password clears the username's counts; the address keeps its own (one good
        account must not reset the count of guesses at others)."""
        account = self.rows.get(ACCOUNT)
        if account is not None:
            self.session.delete(account)
        address = self.rows.get(ADDRESS)
        if address is not None and not address.failures and not address.lockouts:
            self.session.delete(address)
        self.session.flush()


def prune(session: Session, auth: AuthSettings, now: datetime) -> None:
    """Drop counters that no longer hold anything: their window and any lockout ended a window ago."""
    cutoff = now - timedelta(seconds=auth.failure_window_s)
    session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.window_start < cutoff,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < cutoff),
        )
    )


def lockout_of(session: Session, kind: str, key: str) -> LoginThrottle | None:
    return session.scalar(select(LoginThrottle).where(LoginThrottle.kind == kind, LoginThrottle.key == key))


def can_unlock(actor, user: User) -> bool:
    """Admins lift any lockout; a steward lifts those of their own department's users who are not admins."""
    if actor.is_admin:
        return True
    return actor.has("steward") and actor.department_id == user.department_id and "admin" not in user.roles


def unlock_user(session: Session, user: User, *, actor) -> dict:
    """Lift a user's lockout and forget their failed logins; audited whether or not one was in force."""
    if not can_unlock(actor, user):
        raise Forbidden(M_("only a steward of the user's department or an admin may unlock"))
    row = lockout_of(session, ACCOUNT, user.username)
    return _lift(session, row, actor, user.department_id, {"kind": ACCOUNT, "username": user.username})


def address_key(address: str) -> str:
    """What failures are counted against: an IPv4 address, or an IPv6 address's /64 network (one
    host is commonly given a whole /64, and would otherwise get fresh counters per address)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:KEY_CHARS]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def unlock_address(session: Session, address: str, *, actor) -> dict:
    """Lift a client address's lockout (platform admin only)."""
    address = address_key(address)
    if not actor.is_admin:
        raise Forbidden(M_("only a platform admin can lift an address lock"))
    row = lockout_of(session, ADDRESS, address)
    if row is None:
        raise NotFound(M_("no failed logins from %(address)r", address=address), where="address")
    return _lift(session, row, actor, actor.department_id, {"kind": ADDRESS, "address": address})


def _lift(session: Session, row: LoginThrottle | None, actor, department_id: int | None, what: dict) -> dict:
    """Forget a throttle row (if any) and record the unlock with the state it was in."""
    state = _state(row)
    if row is not None:
        session.delete(row)
        session.flush()
    ledger.append(
        session, events.Unlocked(**what, **state), user_id=actor.user_id, department_id=department_id
    )
    return state


def _state(row: LoginThrottle | None) -> dict:
    if row is None:
        return {"locked_until": None, "failures": 0, "lockouts": 0, "refused": 0}
    return {
        "locked_until": row.locked_until,
        "failures": row.failures,
        "lockouts": row.lockouts,
        "refused": row.refused,
    }


def sign_in(db, username: str, password: str, *, address: str | None, auth: AuthSettings, issue):
    """Check a login and, when it holds, `issue(session, user)` a credential in the same write
    transaction. Returns the credential, None for a wrong name or password, or raises Throttled —
    after the transaction has committed, so that the refusal's ledger entry is kept."""
    from shuzhi.orgs.service import authenticate

    refused: Throttled | None = None
    with db.write() as session:
        try:
            user = authenticate(session, username, password, address=address, auth=auth)
        except Throttled as e:
            user, refused = None, e
        credential = issue(session, user) if user is not None else None
    if refused is not None:
        raise refused
    return credential
