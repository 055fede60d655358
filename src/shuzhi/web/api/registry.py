"""REST API of the base registries: an enterprise's or a person's profile, and search in a registry."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from shuzhi.orgs.service import Principal
from shuzhi.registry import explanations, profiles
from shuzhi.store.db import Database
from shuzhi.textlimits import Name, Search
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import error_responses

router = APIRouter(prefix="/registry", tags=["registry 基础库"], responses=error_responses())

Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]


@router.get("/{registry}/search")
def search(
    registry: Name,
    principal: Caller,
    db: Db,
    request: Request,
    q: Annotated[Search, Query(description="名称（汉字或拼音）、统一社会信用代码、法定代表人")],
) -> dict:
    """Active entries by name (hanzi or toneless pinyin), credit code or legal representative. In a
    person registry only entries with a source the caller may read are listed, without values."""
    with db.read() as s:
        hits = profiles.readable_search(s, request.app.state.settings, principal, registry, q)
    return {"registry": registry, "q": q, "hits": [asdict(h) for h in hits]}


@router.get("/enterprises/{entry}")
def enterprise(entry: Name, principal: Caller, db: Db, request: Request) -> dict:
    """An enterprise (一企一档): a section per linked source dataset (its version, load date and
    rows), the golden attributes with provenance. Audited."""
    return profiles.read_profile(db, request.app.state.settings, principal, "enterprises", entry).to_dict()


@router.get("/persons/{entry}")
def person(entry: Name, principal: Caller, db: Db, request: Request) -> dict:
    """A person (一人一档), showing only the sources the caller's department owns, may read
    unconditionally or holds a grant for, masked as the grant says. 404 alike for an unknown entry
    and for one the caller may see nothing of. Audited, refusals too."""
    return profiles.read_profile(db, request.app.state.settings, principal, "people", entry).to_dict()


@router.get("/{registry}/entries/{entry}/explanation")
def explanation(registry: Name, entry: Name, principal: Caller, db: Db, request: Request) -> dict:
    """Why an entry's records are one entry: each member paired with the first (by record key),
    scored by the last build's model: the prior and, per comparison, the level that applied, its m,
    u and match weight (they sum to the pair's weight), and how the build decides such a pair. Only
    for those who may decide on the entry (an admin, a steward of a department whose records are in
    it); 404 alike for anyone else and for an unknown entry. No value is shown. Audited."""
    with db.write() as s:
        return explanations.explain_entry(s, request.app.state.settings, principal, registry, entry)
