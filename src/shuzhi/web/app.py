"""FastAPI application factory: settings in, app out; nothing connects at import time."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from shuzhi import __version__
from shuzhi.config import Settings, load_settings
from shuzhi.errors import ShuzhiError
from shuzhi.store.db import Database
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
    from shuzhi.web.pages import audit, classify, core
    from shuzhi.web.pages import exchange as exchange_pages

    return [core.router, audit.router, classify.router, exchange_pages.router]


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
        retry = exc.detail.get("retry_after") or exc.detail.get("retry_after_s")
        headers = {"Retry-After": str(retry)} if retry else None
        if _wants_html(request):
            return templates.TemplateResponse(
                request, "error.html", {"error": exc}, status_code=exc.status, headers=headers
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
    from shuzhi.exchange.access import sandbox_for

    try:
        sandbox_for(settings).warm()
    except Exception:  # noqa: BLE001 - a query will start its own worker and report why it cannot
        log.warning("query worker did not start ahead of time", exc_info=True)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # The first governed query should not wait for a worker process to start.
        threading.Thread(target=_warm_query_workers, args=(settings,), daemon=True).start()
        yield
        if owns_db:
            app.state.db.dispose()

    owns_db = db is None
    settings.ensure_dirs()
    if db is None:
        db = Database(settings.db_url)
        db.upgrade()
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
