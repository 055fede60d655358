"""Request dependencies: read and write transactions, who is calling, and what they may do."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from shuzhi.errors import Forbidden, Unauthenticated
from shuzhi.i18n import M_
from shuzhi.orgs import service as orgs
from shuzhi.orgs.models import LoginSession
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database

SESSION_COOKIE = "shuzhi_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """Raised by page dependencies; the app turns it into a redirect to the login page."""


def get_db(request: Request) -> Database:
    return request.app.state.db


def read_session(db: Database = Depends(get_db)) -> Iterator[Session]:
    """A read transaction for the request: never takes the write lock, and cannot write."""
    with db.read() as session:
        yield session


def write_session(db: Database = Depends(get_db)) -> Iterator[Session]:
    """A write transaction for the request: commits when it succeeds, rolls back on error.
    Routes take it as `WRITE`."""
    with db.write() as session:
        yield session


WRITE = Depends(write_session, scope="function")
"""A route's write transaction, committed before its answer is sent. FastAPI ends a dependency with
`yield` after the response by default: the client was told 200 before the commit, a commit that
failed could no longer change that answer, and on PostgreSQL the client's next request could start
before its last one had committed (two role changes then collided)."""


def _routes(routes):
    """Every route with dependencies, through included routers (which FastAPI keeps whole, their
    paths without the prefix they were included under)."""
    for route in routes:
        if getattr(route, "dependant", None) is not None:
            yield route
        inner = getattr(route, "original_router", route)
        yield from _routes(getattr(inner, "routes", None) or [])


def _dependencies(dependant):
    for sub in dependant.dependencies:
        yield sub
        yield from _dependencies(sub)


def late_commits(routes) -> list[str]:
    """Method and path of each route that takes the request's write transaction other than as
    `WRITE` (it would commit after its answer): `create_app` refuses to start with one, a
    plugin's included."""
    return [
        f"{','.join(sorted(getattr(route, 'methods', None) or []))} {route.path}"
        for route in _routes(routes)
        if any(d.call is write_session and d.scope != "function" for d in _dependencies(route.dependant))
    ]


async def _csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = (await request.form()).get("csrf_token")
    return bool(sent) and hmac.compare_digest(str(sent), expected)


def _lookup(
    db: Database, bearer: str | None, cookie: str | None
) -> tuple[Principal | None, LoginSession | None]:
    """Who sends this token or login cookie, in a read transaction of its own (run off the event loop)."""
    with db.read() as session:
        if bearer is not None:
            return orgs.principal_from_token(session, bearer).entering("api"), None
        login = orgs.find_login_session(session, cookie) if cookie else None
        return (Principal.of(login.user, face="web"), login) if login is not None else (None, None)


async def _resolve(request: Request) -> Principal | None:
    # The caller is resolved in a short read transaction of its own rather than in the request's
    # session: the route's session then begins in the route, off the event loop, and a route that
    # writes never holds its write lock while the caller is looked up.
    auth = request.headers.get("authorization", "")
    bearer = auth[7:].strip() if auth.lower().startswith("bearer ") else None
    cookie = None if bearer is not None else request.cookies.get(SESSION_COOKIE)
    if bearer is None and not cookie:
        return None
    principal, login = await run_in_threadpool(_lookup, request.app.state.db, bearer, cookie)
    if login is None:
        return principal
    if request.method not in SAFE_METHODS and not await _csrf_ok(request, login.csrf_token):
        raise Forbidden(M_("CSRF check failed: reload the page and retry"))
    # Detached from its (finished) transaction: a route that ends the login loads it again by id.
    request.state.login = login
    request.state.csrf_token = login.csrf_token
    return principal


async def current_principal(request: Request) -> Principal:
    """The caller, from a Bearer token or a login cookie; 401 when neither is valid."""
    principal = await _resolve(request)
    if principal is None:
        raise Unauthenticated(M_("authentication required: log in or send a Bearer token"))
    request.state.principal = principal
    return principal


async def optional_principal(request: Request) -> Principal | None:
    try:
        principal = await _resolve(request)
    except Unauthenticated:
        principal = None
    request.state.principal = principal
    return principal


async def page_principal(request: Request) -> Principal:
    """Like current_principal, for pages: sends the browser to the login page instead of a 401."""
    principal = await _resolve(request)
    if principal is None:
        raise LoginRequired()
    request.state.principal = principal
    return principal


async def uploader_principal(request: Request) -> Principal:
    """For a page form that sends a large body (an upload): the caller from the login cookie alone,
    without reading the body, so that the route refuses a caller who may not upload before a byte
    of the file is received; the route then calls `check_csrf`, which reads the form."""
    cookie = request.cookies.get(SESSION_COOKIE)
    principal, login = (None, None)
    if cookie:
        principal, login = await run_in_threadpool(_lookup, request.app.state.db, None, cookie)
    if principal is None or login is None:
        raise LoginRequired()
    request.state.login, request.state.csrf_token, request.state.principal = (
        login,
        login.csrf_token,
        principal,
    )
    return principal


async def check_csrf(request: Request) -> None:
    """The CSRF check `uploader_principal` leaves to its route (403 when it fails)."""
    if not await _csrf_ok(request, request.state.login.csrf_token):
        raise Forbidden(M_("CSRF check failed: reload the page and retry"))


def require_role(*roles: str):
    """A dependency admitting only callers with one of the roles."""

    def _check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.has(*roles):
            raise Forbidden(M_("requires role: %(names)s", names=", ".join(roles)))
        return principal

    return _check
