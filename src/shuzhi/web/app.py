"""FastAPI application factory: settings in, app out; nothing connects at import time."""

from __future__ import annotations

import asyncio
import html
import logging
from contextlib import asynccontextmanager
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError

from shuzhi import __version__
from shuzhi.config import Settings, load_settings
from shuzhi.errors import Busy, InvalidInput, ServerFailure, ShuzhiError, StoreUnavailable, in_language
from shuzhi.i18n import M_, N_
from shuzhi.store.db import Database, is_busy
from shuzhi.web import flash
from shuzhi.web.apidocs import mount_api_docs
from shuzhi.web.body import BodyGate
from shuzhi.web.deps import LoginRequired, late_commits
from shuzhi.web.flash import FlashSweeper
from shuzhi.web.guard import NulGuard, install_http_error_handler
from shuzhi.web.openapi import COMMON, build_openapi, error_responses
from shuzhi.web.templating import TEMPLATES_DIR, LanguagePin, is_page, templates

log = logging.getLogger(__name__)

STATIC_DIR = TEMPLATES_DIR.parent / "static"


def _routers() -> list[tuple[str, APIRouter]]:
    """(prefix, router) of every router: the face's own health checks, then what each domain
    registers through `register_api_routes` and `register_page_routes`."""
    from shuzhi.hooks import collect
    from shuzhi.web import health

    api = [("/api/v1", r) for r in collect("register_api_routes")]
    return api + [("", health.router)] + [("", r) for r in collect("register_page_routes")]


def asked_language(request: Request) -> str | None:
    """The language a program asked for (`Accept-Language`, first zh or en by preference), else None:
    errors then stay bilingual, as they always were."""
    ranked = []
    for i, part in enumerate(request.headers.get("accept-language", "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                continue
        lang = tag.strip().lower()[:2]
        if lang in ("zh", "en") and q > 0:
            ranked.append((-q, i, lang))
    return min(ranked)[2] if ranked else None


def _wants_html(request: Request) -> bool:
    return is_page(request.url.path)


def _field_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        msg = err.get("msg", "")
        msg = msg.removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "message": msg, "type": err.get("type")})
    return out


def _page_input_error(request: Request, exc: RequestValidationError, fields: list[dict]):
    """A page asked with input its route cannot take. A GET whose query parameters are off (a page
    number of 0, a word where a number belongs) goes to the same page with them corrected or dropped;
    anything else (a missing parameter, a form) is a page, never JSON, naming each field in words."""
    if request.method == "GET" and all(_in_query(e) and e.get("type") != "missing" for e in exc.errors()):
        bad = {str(e["loc"][1]) for e in exc.errors() if len(e.get("loc", ())) > 1}
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in bad]
        if "page" in bad:
            kept.append(("page", "1"))
        target = request.url.path + ("?" + urlencode(kept) if kept else "")
        return flash.redirect(
            target,
            N_("Parameters in the link were off and have been corrected: %(names)s"),
            kind="info",
            names=", ".join(sorted(bad)),
        )
    error = InvalidInput(M_("invalid input"), where=", ".join(f["field"] for f in fields))
    return templates.TemplateResponse(
        request,
        "error.html",
        {"error": error, "fields": fields, "back": _same_site_referer(request)},
        status_code=422,
    )


def _in_query(error: dict) -> bool:
    loc = error.get("loc", ())
    return bool(loc) and loc[0] == "query"


def _same_site_referer(request: Request) -> str | None:
    """The page the reader came from, if it is one of ours (a path on this host), for a back link."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.url.netloc:
        return None
    path = referer.path + (f"?{referer.query}" if referer.query else "")
    return path if path.startswith("/") and not path.startswith("//") else None


async def _http_error_page(request: Request, status: int, message: str, headers: dict | None):
    """A framework error (an unknown path, a wrong method) met by a reader: a page, not JSON."""
    if not _wants_html(request):
        return None
    error = ShuzhiError(message)
    error.status = status
    return await run_in_threadpool(_failure_response, request, error, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ShuzhiError)
    async def _domain_error(request: Request, exc: ShuzhiError):
        if exc.status >= 500:
            log.error("%s %s failed: %s", request.method, request.url.path, exc, exc_info=exc)
        retry = (
            getattr(exc, "retry_after", None)
            or exc.detail.get("retry_after")
            or exc.detail.get("retry_after_s")
        )
        headers = {"Retry-After": str(retry)} if retry else None
        if _wants_html(request):
            # Rendering may load the template from disk: not on the event loop.
            return await run_in_threadpool(
                templates.TemplateResponse,
                request,
                "error.html",
                {"error": exc},
                status_code=exc.status,
                headers=headers,
            )
        return JSONResponse(exc.to_dict(asked_language(request)), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        fields = _field_errors(exc)
        if _wants_html(request):
            return await run_in_threadpool(_page_input_error, request, exc, fields)
        message = in_language(M_("invalid input"), asked_language(request) or "")
        return JSONResponse({"error": "invalid_input", "message": message, "fields": fields}, status_code=422)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)


STORE_UNAVAILABLE = N_("the metadata store is unavailable; logged for the operators; retry later")
INTERNAL = N_("internal server error; logged for the operators")
RETRY_AFTER_S = 5
"""Retry-After of a 503 for an unavailable store."""

# SQLSTATE classes that mean the store itself is gone or unusable rather than a statement being
# wrong: connection exceptions, insufficient resources, operator intervention, system errors, and
# a missing database, schema or table (a store dropped under the running server).
_STORE_GONE_SQLSTATES = ("08", "53", "57", "58", "3D", "3F", "42P01")


def _store_unavailable(exc: Exception) -> bool:
    from sqlalchemy import exc as sa

    if isinstance(exc, sa.TimeoutError | sa.DisconnectionError):
        return True
    if not isinstance(exc, sa.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.OperationalError | sa.InterfaceError):
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
    return any(state.startswith(prefix) for prefix in _STORE_GONE_SQLSTATES)


def _failure_response(request: Request, error: ShuzhiError, headers: dict | None = None):
    if _wants_html(request):
        try:
            return templates.TemplateResponse(
                request, "error.html", {"error": error}, status_code=error.status, headers=headers
            )
        except Exception:  # noqa: BLE001 - the page itself may need what failed (the store)
            body = f"<!doctype html><title>Error</title><p>{html.escape(error.message)}</p>"
            return HTMLResponse(body, status_code=error.status, headers=headers)
    return JSONResponse(error.to_dict(asked_language(request)), status_code=error.status, headers=headers)


def install_failure_handlers(app: FastAPI) -> None:
    """Failures nobody caught become the app's JSON error shape: 503 when the store is unavailable
    (retrying may help), 500 otherwise; the traceback goes to the server's log, never to the caller
    (exception texts name server paths, SQL and values)."""
    from sqlalchemy.exc import SQLAlchemyError

    @app.exception_handler(SQLAlchemyError)
    async def _store_error(request: Request, exc: SQLAlchemyError):
        if isinstance(exc, DBAPIError) and is_busy(exc):
            # Work outside Database.read()/write() meets a busy store as a raw driver error.
            busy = Busy(M_("the database is busy: retry shortly"))
            return _failure_response(request, busy, {"Retry-After": str(busy.retry_after)})
        log.error("%s %s: store failure", request.method, request.url.path, exc_info=exc)
        if _store_unavailable(exc):
            error = StoreUnavailable(M_(STORE_UNAVAILABLE), retry_after=RETRY_AFTER_S)
            return _failure_response(request, error, {"Retry-After": str(RETRY_AFTER_S)})
        return _failure_response(request, ServerFailure(M_(INTERNAL)))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("%s %s: unexpected failure", request.method, request.url.path, exc_info=exc)
        if _store_unavailable(exc):
            return await _store_error(request, exc)
        return _failure_response(request, ServerFailure(M_(INTERNAL)))


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves from its routers."""
    out = []
    for prefix, router in app.state.routers:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", ()) or ()):
                if method not in ("HEAD", "OPTIONS"):
                    out.append((method, prefix + route.path))
    return out


def _start_jobs(db: Database, settings: Settings):
    """The process's job runner: start-up jobs now, periodic ones on its timer (see docs/jobs.md)."""
    from shuzhi.jobs.runner import Runner

    return Runner(db, settings, serving=True).start()


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # This lifespan's own runner is the one it stops, however many times the app is started.
        runner = app.state.jobs = await asyncio.to_thread(_start_jobs, app.state.db, settings)
        yield
        # Runs in progress finish (and commit) before the store is closed.
        await asyncio.to_thread(runner.stop)
        if owns_db:
            app.state.db.dispose()

    owns_db = db is None
    if db is None:
        from shuzhi import preflight

        preflight.check_data_dir(settings)  # first: the default SQLite store lives in it
        db = Database(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s)
        preflight.check_store(db)
        db.upgrade()  # always: also refreshes the controlled vocabularies shipped with this release
    else:
        settings.ensure_dirs()
    app = FastAPI(
        title="Shuzhi 数治",
        version=__version__,
        description="政务数据治理平台 API — catalog, grading, sharing, audit. Authenticate with a Bearer token.",
        lifespan=lifespan,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # served by mount_api_docs, without a CDN
        redoc_url=None,
        default_response_class=JSONResponse,
    )
    app.state.settings = settings
    app.state.db = db
    install_error_handlers(app)
    install_failure_handlers(app)
    install_http_error_handler(app, page=_http_error_page)
    app.add_middleware(FlashSweeper)
    app.add_middleware(LanguagePin)
    app.add_middleware(BodyGate)
    app.add_middleware(NulGuard)
    app.openapi = lambda: build_openapi(app)
    app.state.routers = _routers()
    for prefix, router in app.state.routers:
        if prefix:
            app.include_router(router, prefix=prefix, responses=error_responses(*COMMON))
        else:
            app.include_router(router, default_response_class=HTMLResponse)
    late = late_commits(app.routes)
    if late:
        raise ValueError(
            "these routes take write_session so that it commits after their answer is sent;"
            f" take shuzhi.web.deps.WRITE instead: {'; '.join(late)}"
        )
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    mount_api_docs(app)
    return app


def worker_app() -> FastAPI:
    """The app of one process of `shuzhi serve --workers N`: settings from the environment, the
    store already checked and migrated by the command before the processes started."""
    settings = load_settings()
    return create_app(settings, db=Database(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s))
