"""Routes of the CKAN-compatible Action API (public, no login): /api/3/action/{name} and /api/action/{name}.

GET takes the action's data as query parameters (a repeated parameter is a list, JSON text where a
structure is expected); POST takes a JSON object (or a form). Every answer is CKAN's envelope:
`{"help", "success", "result"}` or `{"help", "success": false, "error": {"__type", "message", …}}`.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse

from shuzhi.errors import NotFound, ShuzhiError, in_language
from shuzhi.i18n import M_
from shuzhi.opendata import usage
from shuzhi.web.ckan import packages
from shuzhi.web.ckan.actions import ActionError, Context, RateLimited, call
from shuzhi.web.ckan.ratelimit import RateLimiter, client_key, public_limiter, throttle

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
PREFIXES = ("/api/3/action", "/api/action")


def _limiter(request: Request) -> RateLimiter:
    return public_limiter(request.app.state)


def _client(request: Request) -> str:
    return client_key(request)


def _site(request: Request) -> str:
    """The site's public address: `dcat.site_url` when set (behind a proxy), else the one asked."""
    dcat = getattr(request.app.state.settings, "dcat", None)
    configured = getattr(dcat, "site_url", None)
    return str(configured or request.base_url).rstrip("/")


def _envelope(
    request: Request, name: str, status: int = 200, headers: dict | None = None, **body
) -> JSONResponse:
    help_url = f"{_site(request)}/api/3/action/help_show?name={name}"
    if not getattr(getattr(request.app.state.settings, "dcat", None), "site_url", None):
        headers = {**(headers or {}), "Vary": "Host"}  # addresses in the answer follow the Host sent
    return JSONResponse({"help": help_url, **body}, status_code=status, headers=headers)


def _answer(request: Request, name: str, data: dict) -> JSONResponse:
    app, limiter, client = request.app, _limiter(request), _client(request)
    try:
        retry = limiter.take(client)
        if retry is not None:
            raise RateLimited(retry)
        if not limiter.start(client):
            raise RateLimited(1)
        try:
            ctx = Context(app.state.db, app.state.settings, _site(request), client)
            result = call(name, ctx, data)
        finally:
            limiter.finish(client)
        return _envelope(request, name, success=True, result=result)
    except ActionError as e:
        headers = {"Retry-After": str(e.retry_after)} if isinstance(e, RateLimited) else None
        return _envelope(request, name, e.status, headers, success=False, error=e.body())
    except ShuzhiError as e:
        # The server's own trouble (busy store, engine queue full, a damaged file): its status,
        # in CKAN's envelope, with Retry-After when retrying helps.
        if e.status >= 500:
            log.error("CKAN action %s failed: %s", name, e)
        retry = (
            getattr(e, "retry_after", None) or e.detail.get("retry_after") or e.detail.get("retry_after_s")
        )
        error = {
            "__type": "Internal Server Error" if e.status >= 500 else "Error",
            "message": in_language(e.message, "en"),
        }
        return _envelope(
            request,
            name,
            e.status,
            {"Retry-After": str(retry)} if retry else None,
            success=False,
            error=error,
        )


def _query_data(request: Request) -> dict:
    data: dict = {}
    for key, value in request.query_params.multi_items():
        if key in data:
            data[key] = (data[key] if isinstance(data[key], list) else [data[key]]) + [value]
        else:
            data[key] = value
    return data


def _bad_body(request: Request, name: str, message: str) -> JSONResponse:
    return _envelope(
        request,
        name,
        400,
        success=False,
        error={"__type": "Bad request", "message": f"Bad request - {message}"},
    )


async def _post(request: Request, name: str) -> JSONResponse:
    raw = await request.body()
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if kind.startswith("multipart"):
            return _bad_body(request, name, "uploads are not accepted")
        data = {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    elif raw.strip():
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):  # nesting deeper than the parser goes is no JSON we take
            return _bad_body(request, name, "JSON Error: the body is not valid JSON")
        if not isinstance(data, dict):
            return _bad_body(request, name, "JSON Error: the body must be a JSON object")
    else:
        data = {}
    return await run_in_threadpool(_answer, request, name, data)


@router.get("/api/3")
@router.get("/api")
def api_version() -> JSONResponse:
    """CKAN's API root: the API version."""
    return JSONResponse({"version": 3})


for _prefix in PREFIXES:

    @router.get(_prefix + "/{name}")
    def get_action(name: str, request: Request) -> JSONResponse:
        return _answer(request, name, _query_data(request))

    @router.post(_prefix + "/{name}")
    async def post_action(name: str, request: Request) -> JSONResponse:
        return await _post(request, name)


@router.get("/dataset/{package}/resource/{resource}/download/{filename}")
def download(package: str, resource: str, filename: str, request: Request) -> FileResponse:
    """A published release's Parquet file, as a CKAN resource's `url` points to it."""
    from shuzhi.opendata.published import release_table_path

    throttle(request)
    db, settings = request.app.state.db, request.app.state.settings
    with db.read() as s:
        portal = packages.load(s, _site(request), dataset=package)
        found = portal.resources.get(resource)
        if found is None or found["package_id"] != package:
            raise NotFound(M_("No published release %(id)s", id=resource), where="resource")
        path = release_table_path(s, settings, found["release_id"])
    with db.write() as s:
        usage.record_download(
            s,
            release_id=found["release_id"],
            format="parquet",
            via="ckan",
            client=_client(request),
            rows=found["row_count"],
        )
    return FileResponse(path, media_type=found["mimetype"], filename=filename)
