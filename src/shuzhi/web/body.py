"""Request bodies: refused by size before they are read, and on the API not read for strangers.

FastAPI reads and parses a JSON body before any dependency runs, so neither the caller check nor
a field's length limit can stop a large body from being held in memory whole (200 MB sent with
no account cost 600 MB before the 401). This gate sits in front of the app: a declared length
past the limit is refused at once, a body without one is counted as it arrives, and an API
request that carries a body must present a valid token or login session before a byte of it
is received — except the few routes that take credentials in their body.
"""

from __future__ import annotations

import re

import anyio
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shuzhi.errors import ShuzhiError, TooLarge, Unauthenticated
from shuzhi.i18n import M_
from shuzhi.orgs import service as orgs
from shuzhi.web.deps import SESSION_COOKIE
from shuzhi.web.templating import is_page, templates

OPEN_BODY_ROUTES = {("POST", "/api/v1/tokens")}
"""API routes that take a body from a caller with no credentials yet (logging in)."""

_UPLOAD_ROUTE = re.compile(r"^(/api/v1/datasets/[^/]+/versions|/admin/datasets/[^/]+/upload)$")
"""Dataset version uploads (the API's, and the upload form's): under `ingest.max_upload_bytes`."""

_UPLOAD_FORM_ALLOWANCE = 2**20
"""Room for the multipart framing and form fields of an upload besides the file itself."""


class _Overflow(Exception):
    pass


def _error(exc: ShuzhiError, scope=None):
    """The refusal: JSON for programs; for a page (a form posted from the browser) the site's error
    page, in the reader's language."""
    headers = {"Connection": "close"}
    if scope is not None and is_page(scope.get("path", "")):
        from starlette.requests import Request

        request = Request(scope)
        return templates.TemplateResponse(request, "error.html", {"error": exc}, exc.status, headers)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(M_("request body larger than %(limit)s bytes", limit=limit), where="body", limit=limit)


def _credentialed(db, headers: dict[bytes, bytes]) -> bool:
    """Whether the request presents a valid token or login session (what it may do is decided
    later, by the route's own dependencies)."""
    auth = headers.get(b"authorization", b"").decode("latin-1")
    cookie = _cookie(headers.get(b"cookie", b"").decode("latin-1"), SESSION_COOKIE)
    with db.read() as s:
        if auth.lower().startswith("bearer "):
            try:
                orgs.principal_from_token(s, auth[7:].strip())
                return True
            except Unauthenticated:
                return False
        return bool(cookie) and orgs.find_login_session(s, cookie) is not None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key == name:
            return value
    return None


class BodyGate:
    """ASGI middleware: the request-body limit (`max_request_bytes`) and, for the API,
    authentication before the body is received."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        settings = state.settings
        path, method = scope["path"], scope["method"]
        root = scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :]  # served under a prefix: the routes are matched without it
        headers = dict(scope["headers"])
        limit = int(settings.max_request_bytes)
        if method == "POST" and _UPLOAD_ROUTE.match(path):
            limit = settings.ingest.max_upload_bytes + _UPLOAD_FORM_ALLOWANCE
        declared = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        try:
            length = int(declared) if declared is not None else 0
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            await _error(_too_large(limit), scope)(scope, receive, send)
            return
        if (
            (length or chunked)
            and path.startswith("/api/")
            and (method, path) not in OPEN_BODY_ROUTES
            and not await anyio.to_thread.run_sync(_credentialed, state.db, headers)
        ):
            refusal = Unauthenticated(M_("authentication required: log in or send a Bearer token"))
            await _error(refusal, scope)(scope, receive, send)
            return

        received = 0
        overflowed = False
        started = False

        async def counted() -> Message:
            nonlocal received, overflowed
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflowed = True
                    raise _Overflow
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if overflowed:
                return  # the app's answer to the cut body gives way to the 413 below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except Exception:
            if not overflowed:
                raise  # whatever the app made of the cut body, the answer is the 413 below
        if overflowed and not started:
            await _error(_too_large(limit), scope)(scope, receive, send)
