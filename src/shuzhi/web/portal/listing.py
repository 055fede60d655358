"""What the portal lists: the published datasets with their counts, searched and faceted through the
CKAN face's index of the listing (`web.ckan.packages`), so the portal and the Action API find the same
things and a page reads only the datasets it shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from math import ceil
from urllib.parse import urlencode

import numpy as np
from sqlalchemy.orm import Session

from shuzhi.opendata import usage
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


@dataclass
class Catalog:
    """The published listing as the portal shows it: counts over the CKAN face's index of the listing,
    entries made only for the datasets a page shows (read in one query, with their counts)."""

    session: Session
    site_url: str
    index: packages.Index
    cache: packages.ListingCache

    @cached_property
    def downloaded(self) -> dict[str, int]:
        """Published datasets downloaded at least once: their downloads, by identifier (read only by
        the pages that rank or total them, not by a dataset page or a download)."""
        position = self.index.position
        return {k: n for k, n in usage.downloaded(self.session).items() if k in position}

    @property
    def size(self) -> int:
        return len(self.index)

    @property
    def downloads(self) -> int:
        return sum(self.downloaded.values())

    def entries(self, names: list[str]) -> list[Entry]:
        found = self.cache.packages(self.session, self.index, names, self.site_url)
        counts = usage.counts(self.session, [p["name"] for p in found])
        out = []
        for p in found:
            c = counts.get(p["name"], usage.Counts())
            extras = {x["key"]: x["value"] for x in p["extras"]}
            english = self.index.org_names.get(p["organization"]["name"], ("", None))[1]
            out.append(Entry(p, extras, english, c.downloads, c.views))
        return out

    def entry(self, name: str) -> Entry | None:
        found = self.entries([name]) if name in self.index.position else []
        return found[0] if found else None

    def latest(self, n: int) -> list[Entry]:
        return self.entries(self.index.names[:n])

    def most_downloaded(self, n: int) -> list[Entry]:
        position = self.index.position
        ranked = sorted(self.downloaded, key=lambda name: (-self.downloaded[name], position[name]))
        return self.entries(ranked[:n])

    def counted(self, facet: str) -> list[tuple[str, int]]:
        return facet_counts(self.index, np.ones(len(self.index), bool), facet)

    def org_names(self) -> dict[str, tuple[str, str | None]]:
        """Each publishing department's names (Chinese, English) by code."""
        return self.index.org_names

    def download_counts(self) -> np.ndarray:
        """Each listed dataset's downloads, in the index's order."""
        out = np.zeros(len(self.index), np.int64)
        for name, n in self.downloaded.items():
            out[self.index.position[name]] = n
        return out


def load(session: Session, site_url: str, cache: packages.ListingCache | None = None) -> Catalog:
    """The portal as it stands, for pages read in `session`."""
    cache = cache or packages.LISTING
    return Catalog(session, site_url, cache.current(session), cache)


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


FILTERED = {"theme": "groups", "organization": "organization", "open_type": "open_type"}
FILTERED |= {"update_frequency": "update_frequency"}
"""The portal's filters that are fields of the index, and the field each is."""


def _formats_mask(index: packages.Index, fmt: str) -> np.ndarray:
    """Which listed datasets anyone may download in `fmt` here (see `Entry.formats`)."""
    values, codes = index.facets["open_type"]
    free = codes == values.index("unconditional") if "unconditional" in values else np.zeros(len(index), bool)
    if fmt == "xlsx":
        return free & (index.row_counts <= XLSX_MAX_ROWS)
    return free if fmt in DOWNLOAD_FORMATS else np.zeros(len(index), bool)


def search(catalog: Catalog, query: Query, per_page: int | None = None) -> Results:
    """Datasets matching the words (Chinese too: the CKAN face's segmentation and scoring) and
    every filter, in the order asked, one page of them; facet counts over all the matches."""
    index, per_page = catalog.index, per_page or PER_PAGE
    clauses = [(True, FILTERED[f], v) for f, v in query.filters.items() if f in FILTERED]
    hits, scores = packages.matching(index, packages.query_words(query.q), clauses)
    if "format" in query.filters:
        hits &= _formats_mask(index, query.filters["format"])
    ranked = packages.ranking(index, hits, scores, packages.parse_sort(SORTS[query.sort]))
    if query.sort == "downloads":  # stable: relevance among equals
        ranked = ranked[np.argsort(-catalog.download_counts()[ranked], kind="stable")]
    pages = max(1, ceil(len(ranked) / per_page))
    start = (query.page - 1) * per_page
    names = [index.names[i] for i in ranked[start : start + per_page]]
    return Results(
        catalog.entries(names),
        len(ranked),
        query.page,
        pages,
        {f: facet_counts(index, hits, f) for f in FACETS},
    )


def facet_counts(index: packages.Index, hits: np.ndarray, facet: str) -> list[tuple[str, int]]:
    """How many of the `hits` have each value of a portal facet, most first."""
    if facet == "format":
        counts = {f: int((hits & _formats_mask(index, f)).sum()) for f in DOWNLOAD_FORMATS}
        return sorted(((f, n) for f, n in counts.items() if n), key=lambda kv: (-kv[1], kv[0]))
    return packages.indexed_facets(index, hits, FILTERED[facet], -1)
