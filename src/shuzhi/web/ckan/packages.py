"""CKAN's view of published open data: packages, resources, organizations, groups, tags, and their search.

Everything here is built from `shuzhi.opendata.published` alone, so nothing reaches the public that
is not a published release or the public metadata of its dataset: a dataset is a package, its
department an organization, its theme a group, its keywords tags, and each of its published releases
a resource (the release's Parquet file, and its rows through the datastore actions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy.orm import Session

from shuzhi.catalog import vocab
from shuzhi.catalog.search import fold, segment
from shuzhi.opendata import published
from shuzhi.opendata.published import MAX_PER_PAGE, published_releases

RESOURCE_ID = re.compile(r"^(?P<dataset>.+)-r(?P<release>[0-9]{1,18})$")
"""A resource id: the dataset's identifier and the release's number (`population-r12`)."""

FORMAT = "Parquet"
FACETABLE = ("organization", "groups", "tags", "res_format", "license_id")


class SearchQueryError(Exception):
    """A search parameter CKAN's search would refuse (fq, sort): answered as a Search Query Error."""


def release_of(resource: str) -> int | None:
    """The release number a resource id names, or None when it is not one of ours."""
    m = RESOURCE_ID.match(resource or "")
    return int(m["release"]) if m else None


@dataclass
class Portal:
    """Every package the public may see, as CKAN dicts, with what search needs of each."""

    packages: list[dict]
    """Most recently modified first."""
    by_name: dict[str, dict] = field(default_factory=dict)
    resources: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_name = {p["name"]: p for p in self.packages}
        self.resources = {r["id"]: r for p in self.packages for r in p["resources"]}

    def organizations(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for p in self.packages:
            org = out.setdefault(p["organization"]["name"], {**p["organization"], "package_count": 0})
            org["package_count"] += 1
        return dict(sorted(out.items()))

    def groups(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for p in self.packages:
            for g in p["groups"]:
                out.setdefault(g["name"], {**g, "package_count": 0})["package_count"] += 1
        return dict(sorted(out.items()))

    def tags(self) -> list[str]:
        return sorted({t["name"] for p in self.packages for t in p["tags"]})


def load(session: Session, site_url: str, dataset: str | None = None) -> Portal:
    """The portal as it stands (or one dataset of it): every published release, grouped by dataset
    (newest release first)."""
    releases: list[dict] = []
    page = 1
    while True:
        found = published_releases(
            session, page=page, per_page=MAX_PER_PAGE, latest_only=False, dataset=dataset
        )
        releases += found.items
        if page * MAX_PER_PAGE >= found.total:
            break
        page += 1
    by_dataset: dict[str, list[dict]] = {}
    for r in releases:
        by_dataset.setdefault(r["dataset"], []).append(r)
    packages = [package(rs, site_url) for rs in by_dataset.values()]
    packages.sort(key=lambda p: (p["metadata_modified"], p["name"]), reverse=True)
    return Portal(packages)


def organization(release: dict) -> dict:
    code = release["department"]
    return {
        "id": code,
        "name": code,
        "title": release["department_name"],
        "display_name": release["department_name"],
        "description": "",
        "type": "organization",
        "is_organization": True,
        "state": "active",
        "approval_status": "approved",
        "image_url": "",
    }


def group(theme: str) -> dict:
    title = vocab.label("theme", theme, "zh")
    return {
        "id": theme,
        "name": theme,
        "title": title,
        "display_name": title,
        "title_translated": {"zh": title, "en": vocab.label("theme", theme, "en")},
        "description": "",
        "type": "group",
        "is_organization": False,
        "state": "active",
        "approval_status": "approved",
        "image_display_url": "",
    }


def package(releases: list[dict], site_url: str) -> dict:
    """One dataset as a CKAN package: its metadata from the newest published release, one resource
    per published release (newest first)."""
    newest = releases[0]
    name = newest["dataset"]
    published = sorted(r["published_at"] or "" for r in releases)
    extras = {
        "open_type": newest["open_type"],
        "theme": newest["theme"],
        "update_frequency": newest["update_frequency"],
        "temporal_start": newest["temporal_start"],
        "temporal_end": newest["temporal_end"],
        "spatial": newest["spatial"],
    }
    tags = [
        {"id": t, "name": t, "display_name": t, "state": "active", "vocabulary_id": None}
        for t in dict.fromkeys(newest["keywords"])
    ]
    return {
        "id": name,
        "name": name,
        "title": newest["title_zh"],
        "title_en": newest["title_en"],
        "title_translated": {"zh": newest["title_zh"], "en": newest["title_en"] or ""},
        "notes": newest["description"] or "",
        "type": "dataset",
        "state": "active",
        "private": False,
        "isopen": newest["open_type"] == "unconditional",
        "license_id": newest["licence"] or "notspecified",
        "license_title": newest["licence"] or "License not specified",
        "author": newest["department_name"],
        "author_email": None,
        "maintainer": newest["contact_name"],
        "maintainer_email": newest["contact_email"],
        "version": str(newest["version"]),
        "url": "",
        "metadata_created": published[0],
        "metadata_modified": published[-1],
        "owner_org": newest["department"],
        "organization": organization(newest),
        "groups": [group(newest["theme"])] if newest["theme"] else [],
        "tags": tags,
        "num_tags": len(tags),
        "extras": [{"key": k, "value": str(v)} for k, v in extras.items() if v is not None],
        "resources": [resource(r, name, i, site_url) for i, r in enumerate(releases)],
        "num_resources": len(releases),
        "relationships_as_subject": [],
        "relationships_as_object": [],
    }


def resource(release: dict, package_name: str, position: int, site_url: str) -> dict:
    rid = published.resource_id(package_name, release["release_id"])
    # A conditional release's file is refused on the download route: point where one applies for
    # it (the portal's dataset page, as DCAT's accessURL does), not at a 403.
    if release["open_type"] == "unconditional":
        url, url_type = (
            published.download_path(package_name, release["release_id"], release["version"]),
            "upload",
        )
    else:
        url, url_type = published.portal_path(package_name), None
    return {
        "id": rid,
        "package_id": package_name,
        "name": f"{package_name} v{release['version']}",
        "description": release["title_zh"],
        "format": FORMAT,
        "mimetype": release["media_type"],
        "url": site_url + url,
        "url_type": url_type,
        "size": release["byte_size"],
        "hash": f"sha256:{release['sha256']}",
        "created": release["published_at"],
        "last_modified": release["published_at"],
        "metadata_modified": release["published_at"],
        "position": position,
        "state": "active",
        "datastore_active": True,
        "version": release["version"],
        "row_count": release["row_count"],
        "release_id": release["release_id"],
        "fields": [
            {"id": f["name"], "type": f["type"], "info": {"notes": f.get("description") or ""}}
            for f in release["fields"]
        ],
    }


# -- search ---------------------------------------------------------------------------------------

_CLAUSE = re.compile(r'\s*([+-]?)([a-z_]+):("(?:[^"\\]|\\.)*"|[^\s"()\\]+)\s*')
_SORT = re.compile(r"^\s*([a-z_]+)\s+(asc|desc)\s*$")
SORTABLE = {
    "score": lambda p: p["_score"],
    "name": lambda p: p["name"],
    "title": lambda p: p["title"],
    "title_string": lambda p: p["title"],
    "metadata_modified": lambda p: p["metadata_modified"],
    "metadata_created": lambda p: p["metadata_created"],
}
DEFAULT_SORT = "score desc, metadata_modified desc"


def field_values(p: dict, name: str) -> set[str]:
    """The values a package has in a filterable field."""
    return {
        "organization": {p["organization"]["name"]},
        "groups": {g["name"] for g in p["groups"]},
        "tags": {t["name"] for t in p["tags"]},
        "res_format": {r["format"] for r in p["resources"]},
        "license_id": {p["license_id"]},
        "name": {p["name"]},
        "id": {p["id"]},
        "dataset_type": {p["type"]},
        "capacity": {"public"},
    }[name]


FILTERABLE = (
    "organization",
    "groups",
    "tags",
    "res_format",
    "license_id",
    "name",
    "id",
    "dataset_type",
    "capacity",
)


def parse_fq(fq: str) -> list[tuple[bool, str, str]]:
    """CKAN's `field:value` filter clauses (`+`/`-` prefixes, quoted values, `AND` between them) as
    (wanted, field, value); anything else is refused rather than guessed at."""
    out, pos, text = [], 0, fq or ""
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        word = re.match(r"\s*AND\s+", text[pos:])
        if word and out:
            pos += word.end()
            continue
        m = _CLAUSE.match(text, pos)
        if m is None:
            raise SearchQueryError(f"Invalid fq at character {pos}: expected field:value")
        sign, name, value = m.groups()
        if name not in FILTERABLE:
            raise SearchQueryError(f"Cannot filter on field {name!r}; filterable: {', '.join(FILTERABLE)}")
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((sign != "-", name, value))
        pos = m.end()
    return out


def parse_sort(sort: str) -> list[tuple[str, bool]]:
    """`field asc|desc, …` as (field, descending)."""
    out = []
    for part in (sort or DEFAULT_SORT).split(","):
        m = _SORT.match(part)
        if m is None or m[1] not in SORTABLE:
            raise SearchQueryError(
                f"Invalid sort {part.strip()!r}: expected 'field asc|desc' with field one of {', '.join(SORTABLE)}"
            )
        out.append((m[1], m[2] == "desc"))
    return out


@lru_cache(maxsize=8192)
def _tokens(text: str) -> frozenset[str]:
    return frozenset(segment(text))


def _document(p: dict) -> str:
    parts = [p["name"], p["title"], p["title_en"] or "", p["notes"], p["organization"]["title"]]
    parts += [t["name"] for t in p["tags"]] + [g["title"] for g in p["groups"]]
    for r in p["resources"][:1]:
        parts += [f["id"] + " " + f["info"]["notes"] for f in r["fields"]]
    return "\n".join(parts)


def score(p: dict, words: list[str]) -> float | None:
    """How well a package matches every word of a query (None: a word is missing); title words count double."""
    if not words:
        return 1.0
    document = _document(p)
    tokens, raw = _tokens(document), fold(document).lower()
    title = _tokens(f"{p['title']} {p['title_en'] or ''}")
    total = 0.0
    for w in words:
        if w not in tokens and w not in raw:
            return None
        total += 2.0 if w in title else 1.0
    return total


def query_words(q: str) -> list[str]:
    q = (q or "").strip()
    return [] if q in ("", "*:*", "*") else list(dict.fromkeys(segment(q)))


def search(
    portal: Portal,
    q: str,
    fq: list[str],
    sort: str,
    rows: int,
    start: int,
    facets: list[str],
    facet_limit: int,
) -> dict:
    clauses = [c for f in fq for c in parse_fq(f)]
    order = parse_sort(sort)
    words = query_words(q)
    hits = []
    for p in portal.packages:
        if not all((value in field_values(p, name)) == wanted for wanted, name, value in clauses):
            continue
        s = score(p, words)
        if s is not None:
            hits.append({**p, "_score": s})
    for name, descending in reversed(order):
        hits.sort(key=SORTABLE[name], reverse=descending)
    counted = {f: facet_counts(hits, f, facet_limit) for f in facets}
    page = [{k: v for k, v in p.items() if k != "_score"} for p in hits[start : start + rows]]
    return {
        "count": len(hits),
        "results": page,
        "sort": sort or DEFAULT_SORT,
        "facets": {f: dict(items) for f, items in counted.items()},
        "search_facets": {
            f: {"title": f, "items": [{"name": n, "display_name": n, "count": c} for n, c in items]}
            for f, items in counted.items()
        },
    }


def facet_counts(hits: list[dict], name: str, limit: int) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for p in hits:
        for v in field_values(p, name):
            counts[v] = counts.get(v, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked if limit < 0 else ranked[:limit]
