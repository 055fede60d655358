"""Liveness and readiness probes: public, JSON, and naming no server path."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from shuzhi import __version__

# Probes for the orchestrator, outside the API (and its OpenAPI document, which describes /api/v1 only).
router = APIRouter(tags=["health"], include_in_schema=False)


@router.get("/healthz", response_class=JSONResponse, summary="Liveness: the process is up and answering")
async def healthz() -> dict:
    return {"status": "ok", "version": __version__}


@router.get(
    "/readyz",
    response_class=JSONResponse,
    summary="Readiness: store reachable and migrated, data directory writable, query workers can start",
    responses={503: {"description": "A check failed; `checks` says which"}},
)
def readyz(request: Request) -> JSONResponse:
    # A plain `def`: the checks touch the database, the disk and a child process, off the event loop.
    from shuzhi.preflight import readiness

    checks = readiness(request.app.state.settings, request.app.state.db)
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
