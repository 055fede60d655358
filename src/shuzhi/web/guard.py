"""The app's one error shape at the HTTP edge: NUL refused in paths and queries, framework errors
(unknown route, wrong method, unreadable body) answered as the domain errors are."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, N_

_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "throttled",
}

_MESSAGES = {
    400: N_("the request could not be read"),
    404: N_("not found"),
    405: N_("method not allowed"),
}


class NulGuard:
    """ASGI middleware: a path or query string carrying a NUL byte (raw or %00) is refused with 422
    before any route sees it — no store can keep one, and PostgreSQL fails on it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _nul_in(scope)
            if where:
                exc = InvalidInput(M_("NUL characters are not allowed"), where=where)
                await JSONResponse(exc.to_dict(), status_code=exc.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _nul_in(scope: Scope) -> str | None:
    raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
    if "\x00" in scope["path"] or b"\x00" in unquote_to_bytes(raw_path):
        return "path"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" ")):
        return "query"
    return None


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves at this path (Starlette's own 405 names only the first route's)."""
    methods: set[str] = set()
    for prefix, router in app.state.routers:
        if not path.startswith(prefix):
            continue
        for route in router.routes:
            regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
            if regex is not None and route_methods and regex.match(path[len(prefix) :]):
                methods |= set(route_methods)
    return sorted(methods)


def install_http_error_handler(app: FastAPI, page=None) -> None:
    """Framework HTTP errors in the app's JSON shape, with the right `Allow` on a 405; `page(request,
    status, message, headers)` may answer instead with a page (None: not a page path)."""

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request.app, request.url.path))
        known = _MESSAGES.get(exc.status_code)
        message = M_(known) if known else str(exc.detail)
        shown = page and await page(request, exc.status_code, message, headers or None)
        if shown is not None:
            return shown
        body = {"error": _CODES.get(exc.status_code, "error"), "message": message}
        return JSONResponse(body, status_code=exc.status_code, headers=headers or None)
