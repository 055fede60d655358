"""REST endpoints of the data resource catalog: datasets, versions, vocabularies, search."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from shuzhi.catalog import search as catalog_search
from shuzhi.catalog import service as catalog
from shuzhi.catalog import vocab
from shuzhi.catalog.schemas import DatasetIn, DatasetOut, DatasetPatch, VersionOut
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.textlimits import Count, Name, Small
from shuzhi.web.catalog_query import CatalogQuery, catalog_query
from shuzhi.web.deps import WRITE, current_principal, get_db, read_session

router = APIRouter(tags=["catalog 数据资源目录"])

"""Values per search filter: enough for any facet, and few enough that the URL stays within what the
HTTP server reads (a longer request line is refused by the server before the app, in plain text)."""


class SearchOut(BaseModel):
    total: int
    limit: int
    offset: int
    results: list[DatasetOut]
    facets: dict[str, dict[str, int]]
    by_reading: bool = False
    did_you_mean: str | None = None


def _out(session: Session, ds) -> DatasetOut:
    return catalog.to_out(ds, catalog.latest_numbers(session, [ds.id]).get(ds.id))


@router.get("/vocabularies")
def vocabularies(_: Principal = Depends(current_principal)) -> dict[str, list[dict]]:
    """The controlled vocabularies (share type, open type, grade, theme, frequency…), bilingual."""
    return vocab.shipped()


@router.get("/datasets", response_model=SearchOut)
def list_datasets(
    query: CatalogQuery = Depends(catalog_query),
    limit: int = Query(20, ge=1, le=200),
    offset: Count = 0,
    session: Session = Depends(read_session),
    _: Principal = Depends(current_principal),
):
    """Datasets matching the text and the facet filters. Words are matched in simplified script
    (醫療 finds 医疗); when they find nothing, their reading is tried (shebao, 营业只照), and
    `by_reading` says so; when nothing matches at all, `did_you_mean` offers the closest query that
    finds something (a typo: shebo → shebao)."""
    res = catalog_search.search(
        session, query.q, filters=query.filters, limit=limit, offset=offset, sort=query.sort
    )
    latest = catalog.latest_numbers(session, [d.id for d in res.datasets])
    return SearchOut(
        total=res.total,
        limit=limit,
        offset=offset,
        facets=res.facets,
        by_reading=res.by_reading,
        did_you_mean=res.did_you_mean,
        results=[catalog.to_out(d, latest.get(d.id)) for d in res.datasets],
    )


@router.post("/datasets", response_model=DatasetOut, status_code=201)
def create_dataset(
    body: DatasetIn,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
):
    """Register a data resource. Beyond the schema, refused with 422: temporal_start after
    temporal_end, and share_type 'none' without a share_basis."""
    return _out(session, catalog.create_dataset(session, principal, body))


@router.get("/datasets/{ref}", response_model=DatasetOut)
def read_dataset(
    ref: Name, session: Session = Depends(read_session), _: Principal = Depends(current_principal)
):
    return _out(session, catalog.get_dataset(session, ref))


@router.patch("/datasets/{ref}", response_model=DatasetOut)
def update_dataset(
    ref: Name,
    body: DatasetPatch,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
):
    """Change a resource's attributes; the rules of registration hold for the result (422)."""
    ds = catalog.update_dataset(session, principal, catalog.get_dataset(session, ref), body)
    return _out(session, ds)


@router.delete("/datasets/{ref}", status_code=204)
def delete_dataset(ref: Name, session: Session = WRITE, principal: Principal = Depends(current_principal)):
    catalog.delete_dataset(session, principal, catalog.get_dataset(session, ref))
    return Response(status_code=204)


def _version_out(principal: Principal, ds, v, values: catalog.ProfileValues) -> VersionOut:
    out = VersionOut.model_validate(v)
    out.profile = catalog.visible_profile(principal, ds, v.profile, values)
    return out


REVEAL = Query(
    False,
    description="Show the values of sensitive (L3/L4) fields in the profile too, to the owning "
    "department's stewards; recorded in the audit ledger with the fields revealed.",
)


@router.get("/datasets/{ref}/versions", response_model=list[VersionOut])
def list_versions(
    ref: Name,
    request: Request,
    reveal: bool = REVEAL,
    session: Session = Depends(read_session),
    principal: Principal = Depends(current_principal),
    db: Database = Depends(get_db),
):
    ds = catalog.get_dataset(session, ref)
    values = catalog.ProfileValues.for_viewer(
        session, request.app.state.settings, principal, ds, reveal=reveal
    )
    catalog.audit_profile_values(db, principal, ds, list(ds.versions), channel="api", values=values)
    return [_version_out(principal, ds, v, values) for v in ds.versions]


@router.get("/datasets/{ref}/versions/{number}", response_model=VersionOut)
def read_version(
    ref: Name,
    number: Small,
    request: Request,
    reveal: bool = REVEAL,
    session: Session = Depends(read_session),
    principal: Principal = Depends(current_principal),
    db: Database = Depends(get_db),
):
    ds = catalog.get_dataset(session, ref)
    version = catalog.get_version(session, ds, number)
    values = catalog.ProfileValues.for_viewer(
        session, request.app.state.settings, principal, ds, reveal=reveal
    )
    catalog.audit_profile_values(db, principal, ds, [version], channel="api", values=values)
    return _version_out(principal, ds, version, values)
