"""Departments, users, passwords, API tokens and login sessions: who someone is and what they may do."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from shuzhi.i18n import M_
from shuzhi.ledger.reconcile import digest
from shuzhi.orgs import events, throttle
from shuzhi.orgs.models import ROLES, ApiToken, Department, LoginSession, User, UserRole
from shuzhi.orgs.settings import AuthSettings
from shuzhi.store.base import utcnow

_hasher = PasswordHasher()
TOKEN_PREFIX = "szt_"
DEPT_LEVELS = ("province", "city", "district")
_CODE_RE = re.compile(limits.CODE_PATTERN)


@cache
def _dummy_hash() -> str:
    """A fixed hash so that an unknown user costs as much time as a wrong password.

    Made on the first login attempt, not at import: hashing costs ~0.3 s that no other command needs.
    """
    return _hasher.hash("shuzhi-timing-equaliser")


@dataclass(frozen=True)
class Principal:
    """An authenticated user as the policy code sees them."""

    user_id: int | None
    username: str
    display_name: str
    department_id: int | None
    department_code: str
    roles: frozenset[str]
    face: str | None = None
    """How they came in, as the audit records it: 'api' (a Bearer token), 'web' (a login session
    in the browser), 'cli' (the command line); None for the platform's own work."""
    os_user: str | None = None
    """The operating-system account that ran the command, for the command line."""

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @classmethod
    def of(cls, user: User, *, face: str | None = None, os_user: str | None = None) -> Principal:
        return cls(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            department_id=user.department_id,
            department_code=user.department.code,
            roles=frozenset(user.roles),
            face=face,
            os_user=os_user,
        )

    @property
    def signature(self) -> str:
        """Who acted, as a record names them: the user name, and for a command the operating-system
        account that ran it (the platform's own 'system' user at a console is somebody)."""
        return (
            f"{self.username} (cli: {self.os_user})" if self.face == "cli" and self.os_user else self.username
        )

    def entering(self, face: str, os_user: str | None = None) -> Principal:
        """The same user, marked with how they came in."""
        return dataclasses.replace(self, face=face, os_user=os_user)


def system_principal(username: str = "system", display_name: str = "system") -> Principal:
    """The platform itself acting as admin (console operator, demo builder): audited without a user id."""
    return Principal(
        user_id=None,
        username=username,
        display_name=display_name,
        department_id=None,
        department_code="",
        roles=frozenset({"admin"}),
    )


def require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(M_("platform admin only"))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# -- departments ------------------------------------------------------------
def get_department(session: Session, code: str) -> Department:
    dept = session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise NotFound(M_("no department with code %(code)r", code=code), where="dept")
    return dept


def create_department(
    session: Session,
    *,
    code: str,
    name_zh: str,
    name_en: str | None = None,
    level: str = "city",
    parent_code: str | None = None,
    region_code: str | None = None,
    actor: Principal | None = None,
) -> Department:
    if not _CODE_RE.fullmatch(code or ""):
        raise InvalidInput(M_("department code: letters, digits, . _ -"), where="code")
    if not (name_zh or "").strip():
        raise InvalidInput(M_("Chinese name is required"), where="name_zh")
    limits.check(name_zh, limits.NAME, "name_zh")
    limits.check(name_en, limits.NAME, "name_en")
    if level not in DEPT_LEVELS:
        raise InvalidInput(
            M_("level must be one of %(names)s", names="/".join(DEPT_LEVELS), DEPT_LEVELS=DEPT_LEVELS),
            where="level",
        )
    if region_code is not None and not re.fullmatch(limits.REGION_PATTERN, region_code):
        raise InvalidInput(M_("GB/T 2260 region code: 6 digits"), where="region_code")
    if session.scalar(select(Department.id).where(Department.code == code)):
        raise Conflict(M_("department %(code)r exists", code=code), where="code")
    parent = get_department(session, parent_code) if parent_code else None
    dept = Department(
        code=code,
        name_zh=name_zh.strip(),
        name_en=name_en,
        level=level,
        parent=parent,
        region_code=region_code,
    )
    session.add(dept)
    session.flush()
    ledger.append(
        session,
        events.DeptCreated(code=code, name_zh=dept.name_zh, parent=parent_code),
        user_id=actor and actor.user_id,
        department_id=dept.id,
    )
    return dept


def update_department(
    session: Session,
    dept: Department,
    *,
    name_zh: str,
    name_en: str | None = None,
    parent_code: str | None = None,
    actor: Principal | None = None,
) -> Department:
    """Rename a department or move it under another parent (or to the top); audited with the values
    before and after. The code stays: other records and the ledger name departments by it."""
    if not (name_zh or "").strip():
        raise InvalidInput(M_("Chinese name is required"), where="name_zh")
    limits.check(name_zh, limits.NAME, "name_zh")
    limits.check(name_en, limits.NAME, "name_en")
    name_zh, name_en = name_zh.strip(), (name_en or "").strip() or None
    parent = get_department(session, parent_code) if parent_code else None
    if parent is not None and dept in department_path(parent):
        raise InvalidInput(
            M_("the parent cannot be the department itself or one below it"),
            where="parent",
        )
    before_parent = dept.parent.code if dept.parent else None
    change: dict = {}
    if name_zh != dept.name_zh:
        change.update(name_zh=name_zh, name_zh_before=dept.name_zh)
    if name_en != dept.name_en:
        change.update(name_en=name_en, name_en_before=dept.name_en)
    if (parent.code if parent else None) != before_parent:
        change.update(parent=parent.code if parent else None, parent_before=before_parent)
    if not change:
        return dept
    dept.name_zh, dept.name_en, dept.parent = name_zh, name_en, parent
    session.flush()
    ledger.append(
        session,
        events.DeptUpdated(code=dept.code, **change),
        user_id=actor and actor.user_id,
        department_id=dept.id,
    )
    return dept


def list_departments(session: Session) -> list[Department]:
    return list(session.scalars(select(Department).order_by(Department.code)))


def department_path(dept: Department) -> list[Department]:
    """The chain from the top of the hierarchy down to this department."""
    chain = []
    node: Department | None = dept
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


# -- users ------------------------------------------------------------------
def _check_roles(roles: list[str] | set[str]) -> list[str]:
    bad = sorted(set(roles) - set(ROLES))
    if bad or not roles:
        raise InvalidInput(
            M_(
                "unknown roles: %(value)s (roles are %(names)s)",
                names=", ".join(ROLES),
                value=bad or "none given",
            ),
            where="roles",
        )
    return sorted(set(roles))


def _check_password(password: str) -> None:
    if len(password or "") < 8:
        raise InvalidInput(M_("password must have at least 8 characters"), where="password")
    limits.check(password, limits.PASSWORD, "password")


def hash_password(password: str) -> str:
    """A new password's hash (argon2), after the platform's rules on passwords: for any account
    kept outside `users` (the open-data portal's) that must be as hard to guess as a staff one."""
    _check_password(password)
    return _hasher.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether `password` is the one `stored_hash` was made from; with no hash (an unknown account)
    it costs the same time and is False."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    department_code: str,
    roles: list[str],
    display_name: str | None = None,
    email: str | None = None,
    actor: Principal | None = None,
) -> User:
    if not re.fullmatch(limits.USERNAME_PATTERN, username or ""):
        raise InvalidInput(M_("username: 2–64 of letters, digits, _.@-"), where="username")
    _check_password(password)
    limits.check(display_name, limits.LABEL, "display_name")
    limits.check(email, limits.EMAIL, "email")
    roles = _check_roles(roles)
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(M_("user %(username)r exists", username=username), where="username")
    dept = get_department(session, department_code)
    user = User(
        username=username,
        display_name=display_name or username,
        email=email,
        password_hash=_hasher.hash(password),
        department=dept,
        active=True,
        role_rows=[UserRole(role=r) for r in roles],
    )
    session.add(user)
    session.flush()
    ledger.append(
        session,
        events.UserCreated(
            username=username,
            id=user.id,
            department=dept.code,
            roles=roles,
            active=user.active,
            password_digest=digest(user.password_hash),
        ),
        user_id=actor and actor.user_id,
        department_id=dept.id,
    )
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(M_("no user %(username)r", username=username), where="username")
    return user


def set_roles(session: Session, user: User, roles: list[str], *, actor: Principal | None = None) -> User:
    roles = _check_roles(roles)
    # The user's row locked and its roles read again: two changes of one user at once take turns
    # (PostgreSQL), the second starting from what the first left rather than colliding with it.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    session.expire(user, ["role_rows"])
    before = sorted(user.roles)
    # The old rows go first: a flush inserts before it deletes, and a role kept would collide with itself.
    user.role_rows = []
    session.flush()
    user.role_rows = [UserRole(role=r) for r in roles]
    session.flush()
    ledger.append(
        session,
        events.UserUpdated(username=user.username, roles_before=before, roles=roles),
        user_id=actor and actor.user_id,
        department_id=user.department_id,
    )
    return user


def set_active(session: Session, user: User, active: bool, *, actor: Principal | None = None) -> User:
    """Deactivate (or reactivate) a user: their tokens and login sessions stop working at once."""
    if user.active != active:
        user.active = active
        ledger.append(
            session,
            events.UserUpdated(username=user.username, active=active),
            user_id=actor and actor.user_id,
            department_id=user.department_id,
        )
    return user


GENERATED_PASSWORD_BYTES = 12
"""A one-time password the platform makes up: 16 URL-safe characters (96 random bits)."""


def reset_password(
    session: Session, user: User, password: str | None = None, *, actor: Principal | None = None
) -> str | None:
    """Set a user's password (admin only): the one given, or, when None, a one-time one made up here
    and returned so that it can be shown once (it is stored only hashed). Audited with the new hash's
    digest, so that the ledger vouches for it like any other. The user's open login sessions end
    (a reset is often because someone else knew the old one); their API tokens stay."""
    if actor is not None:
        require_admin(actor)
    generated = password is None
    if generated:
        password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    _check_password(password)
    user.password_hash = _hasher.hash(password)
    session.flush()
    ledger.append(
        session,
        events.PasswordReset(
            username=user.username, password_digest=digest(user.password_hash), generated=generated
        ),
        user_id=actor and actor.user_id,
        department_id=user.department_id,
    )
    now = utcnow()
    for login in session.scalars(
        select(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.ended_at.is_(None), LoginSession.expires_at > now
        )
    ):
        end_login_session(session, login)
    return password if generated else None


def list_users(session: Session, department_code: str | None = None) -> list[User]:
    q = select(User).order_by(User.username)
    if department_code:
        q = q.join(Department).where(Department.code == department_code)
    return list(session.scalars(q))


def users_with_role(session: Session, department_id: int, role: str) -> list[User]:
    """The active users of a department who hold a role (e.g. its stewards), by id."""
    q = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.department_id == department_id, UserRole.role == role, User.active.is_(True))
    )
    return list(session.scalars(q.order_by(User.id)).unique())


def users_by_id(session: Session, ids: list[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(set(ids)))).unique()}


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    address: str | None = None,
    auth: AuthSettings | None = None,
) -> User | None:
    """The user when the password is right; None otherwise, with the failure written to the ledger.

    A failure returns rather than raises so that the caller commits the ledger entry. While the
    username or the client `address` is locked out after too many failures, raises `Throttled`
    before the password is looked at: the caller commits that refusal's ledger entry too."""
    auth = auth or AuthSettings()
    now = utcnow()
    guard = throttle.LoginGuard.take(session, auth, username, address, now)
    user = session.scalar(select(User).where(User.username == username))
    lock = guard.locked(now)
    if lock is not None:
        raise guard.refuse(lock, user, now)
    ok = False
    try:
        ok = _hasher.verify(user.password_hash if user else _dummy_hash(), password) and user is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or not user.active:
        ledger.append(
            session,
            events.LoginFailed(username=username, address=address),
            user_id=user.id if user else None,
            department_id=user.department_id if user else None,
            outcome="denied",
        )
        guard.failed(user, now)
        return None
    guard.succeeded()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        ledger.append(
            session,
            events.PasswordRehashed(username=user.username, password_digest=digest(user.password_hash)),
            user_id=user.id,
            department_id=user.department_id,
        )
    return user


# -- API tokens -------------------------------------------------------------
def create_token(
    session: Session, user: User, *, name: str = "api", days: int = 90, actor: Principal | None = None
) -> tuple[ApiToken, str]:
    """Create a token; the clear value is returned once and never stored."""
    if days < 1 or days > 3650:
        raise InvalidInput(M_("expiry must be 1–3650 days"), where="days")
    limits.check(name, limits.LABEL, "name")
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=clear[:12],
        token_hash=_sha256(clear),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    ledger.append(
        session,
        events.TokenCreated(
            token_id=token.id,
            owner=user.username,
            name=name,
            prefix=token.prefix,
            expires_at=token.expires_at.isoformat(),
            hash_digest=digest(token.token_hash),
        ),
        user_id=(actor.user_id if actor else user.id),
        department_id=user.department_id,
    )
    return token, clear


def revoke_token(session: Session, token_id: int, *, actor: Principal | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(M_("no token %(token_id)s", token_id=token_id), where="token_id")
    if actor and not actor.is_admin and actor.user_id != token.user_id:
        raise Forbidden(M_("you may revoke only your own tokens"))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        ledger.append(
            session,
            events.TokenRevoked(token_id=token.id, owner=token.user.username, prefix=token.prefix),
            user_id=(actor.user_id if actor else token.user_id),
            department_id=token.user.department_id,
        )
    return token


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    q = select(ApiToken).order_by(ApiToken.id)
    if user is not None:
        q = q.where(ApiToken.user_id == user.id)
    return list(session.scalars(q))


def principal_from_token(session: Session, clear: str, *, now: datetime | None = None) -> Principal:
    now = now or utcnow()
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(clear)))
    if token is None or token.revoked_at is not None or token.expires_at <= now or not token.user.active:
        raise Unauthenticated(M_("token invalid, expired or revoked"))
    return Principal.of(token.user)


# -- login sessions ---------------------------------------------------------
def new_login_secrets(hours: int) -> tuple[str, dict]:
    """A login cookie's clear value and what a session row keeps of it (its hash, a CSRF token,
    when it ends): staff logins and the open-data portal's are made the same way."""
    clear = secrets.token_urlsafe(32)
    kept = {
        "session_hash": session_hash(clear),
        "csrf_token": secrets.token_urlsafe(24),
        "expires_at": utcnow() + timedelta(hours=hours),
    }
    return clear, kept


def session_hash(clear: str) -> str:
    """What is stored of a login cookie's value, to find its session by."""
    return _sha256(clear)


def start_login_session(session: Session, user: User, *, hours: int = 12) -> tuple[LoginSession, str]:
    clear, kept = new_login_secrets(hours)
    login = LoginSession(user=user, **kept)
    session.add(login)
    session.flush()
    ledger.append(
        session,
        events.Login(
            username=user.username,
            login_session=login.id,
            expires_at=login.expires_at.isoformat(),
            hash_digest=digest(login.session_hash),
        ),
        user_id=user.id,
        department_id=user.department_id,
    )
    return login, clear


def find_login_session(session: Session, clear: str) -> LoginSession | None:
    login = session.scalar(select(LoginSession).where(LoginSession.session_hash == _sha256(clear)))
    if login is None or login.ended_at is not None or login.expires_at <= utcnow() or not login.user.active:
        return None
    return login


def end_login_session(session: Session, login: LoginSession) -> None:
    login.ended_at = utcnow()
    ledger.append(
        session,
        events.Logout(login_session=login.id),
        user_id=login.user_id,
        department_id=login.user.department_id,
    )
