"""Public DCAT exports of the published open-data catalog: /catalog.ttl, /catalog.jsonld, /data.json."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from shuzhi.opendata.dcat import dcat_ap, dcat_us
from shuzhi.opendata.dcat.builder import CatalogPage, catalog_page
from shuzhi.web.ckan.ratelimit import throttle

# Machine paths outside /api/v1 (see templating.MACHINE_PATHS): no login, errors as JSON.
router = APIRouter(include_in_schema=False)

PATHS = ("/catalog.ttl", "/catalog.jsonld", "/data.json")
Page = Query(1, ge=1, le=1_000_000, description="Page of the catalog, from 1")


@router.get("/catalog.ttl")
async def catalog_turtle(request: Request, page: int = Page) -> Response:
    """The catalog in DCAT-AP 3.0.1, Turtle."""
    return await _export(request, page, "text/turtle", lambda p: dcat_ap.serialise(p, "turtle"))


@router.get("/catalog.jsonld")
async def catalog_jsonld(request: Request, page: int = Page) -> Response:
    """The catalog in DCAT-AP 3.0.1, JSON-LD."""
    return await _export(request, page, "application/ld+json", lambda p: dcat_ap.serialise(p, "json-ld"))


@router.get("/data.json")
async def catalog_data_json(request: Request, page: int = Page) -> Response:
    """The catalog in DCAT-US 1.1 (Project Open Data data.json)."""
    return await _export(
        request,
        page,
        "application/json",
        lambda p: json.dumps(dcat_us.catalog_json(p), ensure_ascii=False).encode(),
    )


async def _export(request: Request, page: int, media_type: str, render) -> Response:
    # Rate-limited per client like every public face: a page of the catalog is costly to build.
    throttle(request)
    # Reading the store and building the graph are blocking work: off the event loop.
    return await run_in_threadpool(_render, request, page, media_type, render)


def _render(request: Request, page: int, media_type: str, render) -> Response:
    settings = request.app.state.settings.dcat
    base = settings.site_url or str(request.base_url)
    with request.app.state.db.read() as session:
        found = catalog_page(session, settings, base, request.url.path, page)
        body = render(found)
    headers = {"Cache-Control": f"public, max-age={settings.max_age_s}", "Link": _links(found)}
    if not settings.site_url:
        # The addresses inside are the Host the client sent: a shared cache must not hand one
        # client's Host to another (set dcat.site_url in production, and they are fixed).
        headers["Vary"] = "Host"
    return Response(body, media_type=media_type, headers=headers)


def _links(page: CatalogPage) -> str:
    """RFC 8288 links to the other pages, for clients that page by headers (and data.json, whose
    format has no place for them)."""
    rels = {"first": 1, "last": page.last_page, "prev": page.previous_page, "next": page.next_page}
    return ", ".join(f'<{page.page_url(n)}>; rel="{rel}"' for rel, n in rels.items() if n)
