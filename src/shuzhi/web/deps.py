"""Request dependencies: database sessions, who is calling, and what they may do."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shuzhi.errors import Forbidden, Unauthenticated
from shuzhi.orgs import service as orgs
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database

SESSION_COOKIE = "shuzhi_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_session(db: Database = Depends(get_db)) -> Iterator[Session]:
    """A session whose work commits when the request succeeds and rolls back on error."""
    with db.transaction() as session:
        yield session


async def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get("csrf_token")
    return bool(sent) and hmac.compare_digest(str(sent), expected)


async def _resolve(request: Request, session: Session) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return orgs.principal_from_token(session, auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    login = orgs.find_login_session(session, cookie)
    if login is None:
        return None
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, login.csrf_token):
        raise Forbidden("CSRF 校验失败，请刷新页面后重试 (CSRF check failed: reload the page and retry)")
    request.state.login = login
    # Kept as a string too: a request that fails rolls back, leaving `login` expired and detached,
    # and the error page still renders the token.
    request.state.csrf_token = login.csrf_token
    return Principal.of(login.user)


async def current_principal(request: Request, session: Session = Depends(get_session)) -> Principal:
    """The caller, from a Bearer token or a login cookie; 401 when neither is valid."""
    principal = await _resolve(request, session)
    if principal is None:
        raise Unauthenticated("需要登录或 API 令牌 (authentication required: log in or send a Bearer token)")
    request.state.principal = principal
    return principal


async def optional_principal(request: Request, session: Session = Depends(get_session)) -> Principal | None:
    try:
        principal = await _resolve(request, session)
    except Unauthenticated:
        principal = None
    request.state.principal = principal
    return principal


async def page_principal(request: Request, session: Session = Depends(get_session)) -> Principal:
    """Like current_principal, for pages: sends the browser to the login page instead of a 401."""
    principal = await _resolve(request, session)
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal
    return principal


def require_role(*roles: str):
    """A dependency admitting only callers with one of the roles."""

    def _check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has(*roles):
            raise Forbidden(f"需要角色 {'/'.join(roles)} (requires role: {', '.join(roles)})")
        return principal

    return _check
