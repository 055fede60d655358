"""Pages of the base registries: search in a registry, and an enterprise's or a person's profile."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from shuzhi.errors import ShuzhiError
from shuzhi.i18n import N_
from shuzhi.orgs.service import Principal
from shuzhi.registry import explanations, profiles, service
from shuzhi.store.db import Database
from shuzhi.textlimits import Name
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.templating import templates

router = APIRouter(prefix="/registry", include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]
PATHS = {"people": "persons", "enterprises": "enterprises"}
"""Profile kind → the path its pages live under."""
ATTRIBUTES = {
    "name": N_("Name"),
    "ric": N_("Resident ID number"),
    "birth_date": N_("Date of birth"),
    "sex": N_("Sex"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "uscc": N_("Unified social credit code"),
    "legal_rep": N_("Legal representative"),
    "registered_capital": N_("Registered capital"),
    "industry_code": N_("Industry code"),
    "established": N_("Date established"),
}
"""Labels of the registry attributes the settings schema names; another attribute shows its own name."""
RULES = {
    "most_recent": N_("most recent"),
    "most_trusted": N_("most trusted source"),
    "most_frequent": N_("most frequent"),
    "valid_identifier": N_("valid identifier first"),
    "steward": N_("chosen by a steward"),
}
"""How a golden value was chosen (`registry.golden`), in words."""


KINDS = {"person": N_("people"), "enterprise": N_("enterprises"), "generic": N_("records")}
KINDS |= {"people": KINDS["person"], "enterprises": KINDS["enterprise"]}


@router.get("")
def index_page(request: Request, principal: Viewer, db: Db):
    with db.read() as s:
        registries = service.overview(s)
    return templates.TemplateResponse(
        request, "registry_index.html", {"registries": registries, "kinds": KINDS}
    )


@router.get("/{registry}/search")
def search_page(
    registry: Name, request: Request, principal: Viewer, db: Db, q: Annotated[str, Query(max_length=200)] = ""
):
    hits, error = [], None
    with db.read() as s:
        reg = profiles.get_registry(s, registry)
        if q.strip():
            try:
                hits = profiles.readable_search(s, request.app.state.settings, principal, registry, q)
            except ShuzhiError as e:
                error = e
        kind = _profile_kind(reg)
        return templates.TemplateResponse(
            request,
            "registry_search.html",
            {
                "registry": reg,
                "q": q,
                "hits": hits,
                "error": error,
                "path": PATHS[kind],
                "kind": kind,
                "attributes": ATTRIBUTES,
            },
            status_code=error.status if error is not None else 200,
        )


def _profile_kind(reg) -> str:
    """Which profile pages a registry's entries open in: people's or enterprises'."""
    return "people" if reg.kind in profiles.PEOPLE else "enterprises"


def _profile(request: Request, principal: Principal, db: Database, kind: str, entry: str):
    profile = profiles.read_profile(db, request.app.state.settings, principal, kind, entry)
    with db.read() as s:
        explainable = explanations.may_explain(s, principal, profile.registry, profile.entry)
    context = {
        "explainable": explainable,
        "profile": profile,
        "kind": kind,
        "path": PATHS[kind],
        "attributes": ATTRIBUTES,
        "rules": RULES,
        "golden": {g.attribute: g for g in profile.golden},
    }
    return templates.TemplateResponse(request, "registry_profile.html", context)


@router.get("/enterprises/{entry}")
def enterprise_page(entry: Name, request: Request, principal: Viewer, db: Db):
    return _profile(request, principal, db, "enterprises", entry)


@router.get("/persons/{entry}")
def person_page(entry: Name, request: Request, principal: Viewer, db: Db):
    return _profile(request, principal, db, "people", entry)


COLUMNS = {
    "name_norm": "name",
    "name_pinyin": "name",
    "ric": "ric",
    "ric18": "ric",
    "birth_date_norm": "birth_date",
    "sex_norm": "sex",
    "phone_norm": "phone",
    "addr_street": "address",
    "addr_region_code": "address",
    "uscc": "uscc",
    "firm_name_norm": "name",
    "legal_rep_norm": "legal_rep",
}
"""A compared column → the attribute it is derived from (for its label)."""
LEVELS = [
    (r"is NULL$", N_("missing on either side")),
    (r"^Exact match", N_("the same")),
    (r"^All other comparisons", N_("different")),
    (r"^pinyin equal, hanzi differ", N_("same pinyin, different characters")),
    (r"^first (?P<n>\d+) characters equal", N_("the first %(n)s characters are the same")),
    (r"(?i)percentage difference .* (within|<=) (?P<n>[\d.]+)", N_("differ by at most %(n)s%%")),
    (
        r"(?i)damerau-levenshtein distance .* <= (?P<n>[\d.]+)",
        N_("at most %(n)s characters apart (transpositions count once)"),
    ),
    (r"(?i)levenshtein distance .* <= (?P<n>[\d.]+)", N_("at most %(n)s characters apart")),
    (r"(?i)jaro(-winkler)? (distance|similarity) .* >= (?P<n>[\d.]+)", N_("similar (score at least %(n)s)")),
    (
        r"(?i)abs(olute)? (date )?difference .* <= (?P<n>[\d.]+) (?P<unit>day|month|year)",
        N_("within %(n)s %(unit)s"),
    ),
]
"""Splink's level labels in words: (pattern, text with the pattern's named groups)."""
UNITS = {"day": N_("days"), "month": N_("months"), "year": N_("years")}


def level_words(label: str) -> tuple[str, dict] | None:
    """The words for one of Splink's level labels and their values, or None to show the label as is."""
    import re

    for pattern, words in LEVELS:
        found = re.search(pattern, label or "")
        if found:
            values = {k: v.removesuffix(".0") if k == "n" else v for k, v in found.groupdict().items()}
            return words, values
    return None


@router.get("/{registry}/entries/{entry}/explanation")
def explanation_page(registry: Name, entry: Name, request: Request, principal: Viewer, db: Db):
    with db.write() as s:
        found = explanations.explain_entry(s, request.app.state.settings, principal, registry, entry)
        reg = profiles.get_registry(s, registry)
    kind = _profile_kind(reg)
    return templates.TemplateResponse(
        request,
        "registry_explanation.html",
        {
            "found": found,
            "registry": reg,
            "path": PATHS[kind],
            "attributes": ATTRIBUTES,
            "columns": COLUMNS,
            "level_words": level_words,
            "units": UNITS,
        },
    )
