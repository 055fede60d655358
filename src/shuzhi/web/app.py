"""FastAPI application factory: settings in, app out; nothing connects at import time."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError

from shuzhi import __version__
from shuzhi.config import Settings, load_settings
from shuzhi.errors import Busy, ServerFailure, ShuzhiError, StoreUnavailable
from shuzhi.store.db import Database, is_busy
from shuzhi.web.body import BodyGate
from shuzhi.web.deps import LoginRequired
from shuzhi.web.guard import NulGuard, install_http_error_handler
from shuzhi.web.openapi import COMMON, build_openapi, error_responses
from shuzhi.web.templating import TEMPLATES_DIR, templates

log = logging.getLogger(__name__)

STATIC_DIR = TEMPLATES_DIR.parent / "static"


def _api_routers():
    from shuzhi.web.api import audit, catalog, classify, exchange, ingest, orgs

    return [orgs.router, catalog.router, ingest.router, audit.router, classify.router, exchange.router]


def _page_routers():
    from shuzhi.web import health
    from shuzhi.web.pages import audit, classify, core
    from shuzhi.web.pages import exchange as exchange_pages

    return [health.router, core.router, audit.router, classify.router, exchange_pages.router]


def _register_page_plugins() -> None:
    """Pages that add sections to other pages take part through hooks, as a plugin would."""
    from shuzhi.hooks import plugin_manager
    from shuzhi.web.pages import classify

    pm = plugin_manager()
    if not pm.is_registered(classify):
        pm.register(classify, name="shuzhi.web.pages.classify")


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _field_errors(exc: RequestValidationError) -> list[dict]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        msg = err.get("msg", "")
        msg = msg.removeprefix("Value error, ")
        out.append({"field": ".".join(loc) or "body", "message": msg, "type": err.get("type")})
    return out


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
        return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        fields = _field_errors(exc)
        return JSONResponse(
            {"error": "invalid_input", "message": "输入有误 (invalid input)", "fields": fields},
            status_code=422,
        )

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={target}", status_code=303)


STORE_UNAVAILABLE = "元数据库暂时不可用，已记录供管理员处理，请稍后重试 (the metadata store is unavailable; logged for the operators; retry later)"
INTERNAL = "服务器内部错误，已记录供管理员处理 (internal server error; logged for the operators)"
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
    return JSONResponse(error.to_dict(), status_code=error.status, headers=headers)


def install_failure_handlers(app: FastAPI) -> None:
    """Failures nobody caught become the app's JSON error shape: 503 when the store is unavailable
    (retrying may help), 500 otherwise; the traceback goes to the server's log, never to the caller
    (exception texts name server paths, SQL and values)."""
    from sqlalchemy.exc import SQLAlchemyError

    @app.exception_handler(SQLAlchemyError)
    async def _store_error(request: Request, exc: SQLAlchemyError):
        if isinstance(exc, DBAPIError) and is_busy(exc):
            # Work outside Database.read()/write() meets a busy store as a raw driver error.
            busy = Busy("数据库繁忙，请稍后重试 (the database is busy: retry shortly)")
            return _failure_response(request, busy, {"Retry-After": str(busy.retry_after)})
        log.error("%s %s: store failure", request.method, request.url.path, exc_info=exc)
        if _store_unavailable(exc):
            error = StoreUnavailable(STORE_UNAVAILABLE, retry_after=RETRY_AFTER_S)
            return _failure_response(request, error, {"Retry-After": str(RETRY_AFTER_S)})
        return _failure_response(request, ServerFailure(INTERNAL))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("%s %s: unexpected failure", request.method, request.url.path, exc_info=exc)
        if _store_unavailable(exc):
            return await _store_error(request, exc)
        return _failure_response(request, ServerFailure(INTERNAL))


def route_table(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app serves from its routers."""
    out = []
    for prefix, router in app.state.routers:
        for route in router.routes:
            for method in sorted(getattr(route, "methods", ()) or ()):
                if method not in ("HEAD", "OPTIONS"):
                    out.append((method, prefix + route.path))
    return out


def _warm_query_workers(settings: Settings) -> None:
    from shuzhi.engine.interface import engine_for

    try:
        engine_for(settings).warm()
    except Exception:  # noqa: BLE001 - a query will start its own worker and report why it cannot
        log.warning("query worker did not start ahead of time", exc_info=True)


def _verify_schedule(db: Database, settings: Settings):
    """Re-hash the version files every `ingest.verify_interval_s` (a job, until there is a job runner)."""
    if not settings.ingest.verify_interval_s:
        return None
    from shuzhi.ingest.integrity import Schedule

    return Schedule(db, settings, settings.ingest.verify_interval_s).start()


def _sweep(settings: Settings, db: Database) -> None:
    from shuzhi.ingest.service import sweep_leftovers

    try:
        with db.read() as session:  # the store is only read; files are removed
            removed = sweep_leftovers(session, settings)
    except Exception:  # noqa: BLE001 - the next round tries again; a sweep never stops the server
        log.warning("sweeping ingest leftovers failed", exc_info=True)
        return
    if removed:
        log.info("removed %d ingest leftovers (staging areas, orphan version files)", len(removed))


async def _sweep_leftovers(settings: Settings, db: Database) -> None:
    """At start, then every `ingest.sweep_interval_s`: what killed ingests left behind goes."""
    while True:
        await asyncio.to_thread(_sweep, settings, db)
        if settings.ingest.sweep_interval_s <= 0:
            return
        await asyncio.sleep(settings.ingest.sweep_interval_s)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The first governed query should not wait for a worker process to start.
        threading.Thread(target=_warm_query_workers, args=(settings,), daemon=True).start()
        verifier = _verify_schedule(app.state.db, settings)
        sweeper = asyncio.create_task(_sweep_leftovers(settings, app.state.db))
        yield
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        if verifier is not None:
            verifier.stop()
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
        docs_url="/api/v1/docs",
        redoc_url=None,
        default_response_class=JSONResponse,
    )
    app.state.settings = settings
    app.state.db = db
    install_error_handlers(app)
    install_failure_handlers(app)
    install_http_error_handler(app)
    app.add_middleware(BodyGate)
    app.add_middleware(NulGuard)
    app.openapi = lambda: build_openapi(app)
    _register_page_plugins()
    app.state.routers = [("/api/v1", r) for r in _api_routers()] + [("", r) for r in _page_routers()]
    for prefix, router in app.state.routers:
        if prefix:
            app.include_router(router, prefix=prefix, responses=error_responses(*COMMON))
        else:
            app.include_router(router, default_response_class=HTMLResponse)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app


def worker_app() -> FastAPI:
    """The app of one process of `shuzhi serve --workers N`: settings from the environment, the
    store already checked and migrated by the command before the processes started."""
    settings = load_settings()
    return create_app(settings, db=Database(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s))
