"""The audit events of departments, users, tokens, logins and login throttling."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event


@event("dept.created", "部门创建", "department created")
class DeptCreated(Event):
    code: str
    name_zh: str
    parent: str | None


@event("dept.updated", "部门修改", "department updated")
class DeptUpdated(Event):
    """Names or place in the hierarchy changed: the values before and after of what changed."""

    code: str
    name_zh: str = ABSENT
    name_zh_before: str = ABSENT
    name_en: str | None = ABSENT
    name_en_before: str | None = ABSENT
    parent: str | None = ABSENT
    parent_before: str | None = ABSENT


@event("user.created", "用户创建", "user created")
class UserCreated(Event):
    username: str
    id: int
    department: str
    roles: list[str]
    active: bool
    password_digest: str


@event("user.updated", "用户修改", "user updated")
class UserUpdated(Event):
    """Roles changed (`roles_before`, `roles`) or the user (de)activated (`active`)."""

    username: str
    roles_before: list[str] = ABSENT
    roles: list[str] = ABSENT
    active: bool = ABSENT


@event("user.password_rehashed", "密码重新散列", "password rehashed")
class PasswordRehashed(Event):
    username: str
    password_digest: str


@event("user.password_reset", "密码重置", "password reset")
class PasswordReset(Event):
    """An admin set a user's password (`generated`: a one-time one the platform made up)."""

    username: str
    password_digest: str
    generated: bool


@event("token.created", "令牌创建", "token created")
class TokenCreated(Event):
    token_id: int
    owner: str
    name: str
    prefix: str
    expires_at: str
    hash_digest: str


@event("token.revoked", "令牌撤销", "token revoked")
class TokenRevoked(Event):
    token_id: int
    owner: str
    prefix: str


@event("auth.login", "登录", "login")
class Login(Event):
    username: str
    login_session: int
    expires_at: str
    hash_digest: str


@event("auth.logout", "退出登录", "logout")
class Logout(Event):
    login_session: int


@event("auth.login_failed", "登录失败", "login failed")
class LoginFailed(Event):
    username: str
    address: str | None


@event("auth.login_throttled", "登录被限制", "login throttled")
class LoginThrottled(Event):
    username: str
    address: str | None
    locked: str
    locked_until: datetime | None
    retry_after_s: int


@event("auth.locked", "登录锁定", "login locked")
class Locked(Event):
    kind: str
    username: str | None
    address: str | None
    failures: int
    lockout: int
    seconds: int
    locked_until: datetime | None


@event("auth.unlocked", "解除登录锁定", "login unlocked")
class Unlocked(Event):
    """An account (`username`) or a client address (`address`), with the state it was in."""

    kind: str
    username: str = ABSENT
    address: str = ABSENT
    locked_until: Any
    failures: int
    lockouts: int
    refused: int


EVENTS = (
    DeptCreated,
    DeptUpdated,
    UserCreated,
    UserUpdated,
    PasswordRehashed,
    PasswordReset,
    TokenCreated,
    TokenRevoked,
    Login,
    Logout,
    LoginFailed,
    LoginThrottled,
    Locked,
    Unlocked,
)
