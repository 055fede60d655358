"""REST API of open data: preparing, approving and withdrawing releases, and the published ones."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict

from shuzhi.opendata import access, published, releases, usage
from shuzhi.opendata.plans import PlanIn
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import INT32_MAX, Id, Name, Reason
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import error_responses

router = APIRouter(prefix="/opendata", tags=["opendata 开放数据"], responses=error_responses())

Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: Name
    version: Id | None = None
    """The newest version when none is named."""
    plan: dict[str, Any] | None = None
    """The de-identification plan (see shuzhi.opendata.plans.PlanIn)."""
    reuse_plan: bool = False
    """Reuse the dataset's last plan instead of giving one."""


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None


@router.post("/releases", status_code=201)
def prepare(body: ReleaseBody, principal: Caller, db: Db, request: Request) -> dict:
    """Build and check a release of a version; it waits for a second person's approval."""
    with db.write() as s:
        release = releases.prepare_release(
            s,
            request.app.state.settings,
            principal,
            body.dataset,
            version=body.version,
            plan=PlanIn.of(body.plan) if body.plan is not None else None,
            reuse_plan=body.reuse_plan,
        )
        return releases.release_out(release)


@router.get("/releases")
def list_releases(
    principal: Caller,
    db: Db,
    dataset: Name | None = None,
    state: Literal["pending", "published", "rejected", "withdrawn"] | None = None,
) -> dict:
    """Releases the caller may see (all published ones; others to their department's stewards)."""
    with db.read() as s:
        rows = releases.list_releases(s, principal, dataset=dataset, state=state)
        return {"releases": [releases.release_out(r) for r in rows]}


@router.get("/releases/{release_id}")
def show_release(release_id: Id, principal: Caller, db: Db) -> dict:
    with db.read() as s:
        return releases.release_out(releases.get_release(s, principal, release_id))


@router.post("/releases/{release_id}/{action}")
def act_on_release(
    release_id: Id,
    action: Literal["approve", "reject", "withdraw"],
    principal: Caller,
    db: Db,
    request: Request,
    body: Decision = Body(default_factory=Decision),
) -> dict:
    """approve (a second person: another steward of the department or an admin), reject, withdraw
    (reject and withdraw need a reason)."""
    with db.write() as s:
        release = releases.get_release(s, principal, release_id)
        if action == "approve":
            releases.approve_release(s, request.app.state.settings, principal, release, body.reason)
        elif action == "reject":
            releases.reject_release(s, principal, release, body.reason or "")
        else:
            releases.withdraw_release(s, principal, release, body.reason or "")
        return releases.release_out(release)


@router.get("/published")
def list_published(
    principal: Caller,
    db: Db,
    page: int = Query(1, ge=1, le=INT32_MAX),
    per_page: int = Query(20, ge=1, le=published.MAX_PER_PAGE),
    dataset: Name | None = None,
    department: Name | None = None,
    all_versions: bool = False,
) -> dict:
    """Published releases with their datasets' metadata, newest first (the newest of each dataset
    unless all_versions)."""
    with db.read() as s:
        found = published.published_releases(
            s,
            page=page,
            per_page=per_page,
            dataset=dataset,
            department=department,
            latest_only=not all_versions,
        )
        return {"releases": found.items, "total": found.total, "page": found.page, "per_page": found.per_page}


@router.get("/published/{release_id}/fields")
def published_fields(release_id: Id, principal: Caller, db: Db) -> dict:
    with db.read() as s:
        return {"fields": published.public_fields(s, release_id)}


@router.get("/published/{release_id}/table")
def download(release_id: Id, principal: Caller, db: Db, request: Request) -> FileResponse:
    """The released table as Parquet; refused once the release is withdrawn, and for a conditional
    dataset to staff outside its department (a read of one is written to the ledger)."""
    with db.write() as s:
        reader = access.Reader(staff=principal)
        path = published.release_table_path(
            s, request.app.state.settings, release_id, reader=reader, face="api"
        )
        release = s.get(releases.Release, release_id)
        name, rows = f"{release.dataset.identifier}-release-{release_id}.parquet", release.row_count
    with db.write() as s:
        usage.record_download(
            s,
            release_id=release_id,
            format="parquet",
            via="api",
            client=request.client.host if request.client else "unknown",
            rows=rows,
            principal=principal,
        )
    return FileResponse(path, media_type="application/vnd.apache.parquet", filename=name)
