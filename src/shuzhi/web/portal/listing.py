"""What the portal lists: every published dataset with its counts, searched and faceted through the
CKAN face's search (`web.ckan.packages`), so the portal and the Action API find the same things."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from shuzhi.opendata import usage
from shuzhi.orgs import service as orgs
from shuzhi.web.ckan import packages

PER_PAGE = 10
XLSX_MAX_ROWS = 1_048_576 - 1
"""Rows of data an XLSX sheet holds under its header row (1,048,576 rows in all)."""

DOWNLOAD_FORMATS = ("csv", "xlsx", "json", "parquet")
SORTS = {
    "relevance": "score desc, metadata_modified desc",
    "newest": "metadata_modified desc, name asc",
    "downloads": "score desc, metadata_modified desc",
}
"""The portal's sort orders as CKAN sorts (most downloaded is applied on top of relevance)."""
FACETS = ("theme", "organization", "format", "open_type", "update_frequency")


@dataclass
class Entry:
    """One published dataset as the portal shows it."""

    package: dict
    extras: dict
    org_name_en: str | None
    downloads: int = 0
    views: int = 0

    @property
    def name(self) -> str:
        return self.package["name"]

    @property
    def newest(self) -> dict:
        return self.package["resources"][0]

    @property
    def open_type(self) -> str:
        return self.extras.get("open_type", "")

    @property
    def downloadable(self) -> bool:
        """Whether anyone may download it here: 无条件开放 only (有条件开放 is applied for)."""
        return self.open_type == "unconditional"

    def formats(self, granted: bool = False) -> list[str]:
        """The formats it can be downloaded in from the portal (by anyone, or, `granted`, by an
        applicant approved for its conditional data)."""
        if not (self.downloadable or granted):
            return []
        fits = (self.newest.get("row_count") or 0) <= XLSX_MAX_ROWS
        return [f for f in DOWNLOAD_FORMATS if f != "xlsx" or fits]

    def values(self, facet: str) -> set[str]:
        if facet == "theme":
            return packages.field_values(self.package, "groups")
        if facet == "organization":
            return packages.field_values(self.package, "organization")
        if facet == "format":
            return set(self.formats())
        return {self.extras[facet]} if self.extras.get(facet) else set()


@dataclass
class Catalog:
    entries: list[Entry]
    """Most recently updated first."""
    by_name: dict[str, Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {e.name: e for e in self.entries}

    def latest(self, n: int) -> list[Entry]:
        return self.entries[:n]

    def most_downloaded(self, n: int) -> list[Entry]:
        return [e for e in sorted(self.entries, key=lambda e: -e.downloads) if e.downloads][:n]

    def counted(self, facet: str) -> list[tuple[str, int]]:
        return facet_counts(self.entries, facet)

    def org_names(self) -> dict[str, tuple[str, str | None]]:
        """Each publishing department's names (Chinese, English) by code."""
        return {
            e.package["organization"]["name"]: (e.package["organization"]["title"], e.org_name_en)
            for e in self.entries
        }

    @property
    def downloads(self) -> int:
        return sum(e.downloads for e in self.entries)


def load(session: Session, site_url: str) -> Catalog:
    """The portal as it stands: the published datasets (the CKAN face's packages) with their counts."""
    portal = packages.load(session, site_url)
    counts = usage.counts(session)
    english = {d.code: d.name_en for d in orgs.list_departments(session)}
    entries = []
    for p in portal.packages:
        c = counts.get(p["name"], usage.Counts())
        extras = {x["key"]: x["value"] for x in p["extras"]}
        entries.append(Entry(p, extras, english.get(p["organization"]["name"]), c.downloads, c.views))
    return Catalog(entries)


@dataclass
class Query:
    """A portal search as the visitor asked it; anything unknown or malformed is dropped, never refused."""

    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "relevance"
    page: int = 1

    @classmethod
    def of(cls, params) -> Query:
        filters = {f: params.get(f).strip()[:200] for f in FACETS if (params.get(f) or "").strip()}
        sort = params.get("sort") if params.get("sort") in SORTS else "relevance"
        page = params.get("page") or "1"
        number = int(page) if page.isdigit() and len(page) < 7 else 1
        return cls((params.get("q") or "").strip()[:200], filters, sort, max(number, 1))

    def link(self, **change) -> str:
        """This search's query string with some parameters changed (None removes one); a change
        of search or filter starts again at page 1."""
        params = {"q": self.q, **self.filters, "sort": self.sort, "page": str(self.page)}
        if "page" not in change:
            params["page"] = "1"
        params.update({k: v for k, v in change.items()})
        kept = {k: v for k, v in params.items() if v not in (None, "") and not (k == "page" and v == "1")}
        if kept.get("sort") == "relevance":
            kept.pop("sort")
        return urlencode(kept)


@dataclass
class Results:
    entries: list[Entry]
    total: int
    page: int
    pages: int
    facets: dict[str, list[tuple[str, int]]]


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def search(catalog: Catalog, query: Query, per_page: int = PER_PAGE) -> Results:
    """Datasets matching the words (Chinese too: the CKAN face's segmentation and scoring) and
    every filter, in the order asked, one page of them; facet counts over all the matches."""
    fq = []
    if "theme" in query.filters:
        fq.append(f"groups:{_quoted(query.filters['theme'])}")
    if "organization" in query.filters:
        fq.append(f"organization:{_quoted(query.filters['organization'])}")
    portal = packages.Portal([e.package for e in catalog.entries])
    try:
        found = packages.search(
            portal, query.q, fq, SORTS[query.sort], max(len(portal.packages), 1), 0, [], 0
        )
    except packages.SearchQueryError:
        found = {"results": []}
    hits = [catalog.by_name[p["name"]] for p in found["results"]]
    for facet in ("format", "open_type", "update_frequency"):
        if facet in query.filters:
            hits = [e for e in hits if query.filters[facet] in e.values(facet)]
    if query.sort == "downloads":
        hits.sort(key=lambda e: -e.downloads)  # stable: relevance among equals
    pages = max(1, ceil(len(hits) / per_page))
    start = (query.page - 1) * per_page
    return Results(
        hits[start : start + per_page],
        len(hits),
        query.page,
        pages,
        {f: facet_counts(hits, f) for f in FACETS},
    )


def facet_counts(entries: list[Entry], facet: str) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for e in entries:
        for v in e.values(facet):
            counts[v] = counts.get(v, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
