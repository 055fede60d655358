"""CKAN's view of published open data: packages, resources, organizations, groups, tags, and their search.

Everything here is built from `shuzhi.opendata.published` alone, so nothing reaches the public that
is not a published release or the public metadata of its dataset: a dataset is a package, its
department an organization, its theme a group, its keywords tags, and each of its published releases
a resource (the release's Parquet file, and its rows through the datastore actions).
"""

from __future__ import annotations

import bisect
import hashlib
import re
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from sqlalchemy.orm import Session

from shuzhi.catalog import grams, vocab
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


# -- the cached index of the published listing ----------------------------------------------------
#
# `search` above works on a whole Portal, built from the database per call: fine for a few hundred
# datasets, seconds at hundreds of thousands. `search_published` answers the same from an index of
# the listing kept per process: a few columns per package (names, ranks, facet codes, the folded text
# a query word is looked for in), rebuilt when the database's listing version moves (a release
# published or withdrawn, public metadata edited: see `published.listing_version`), and full CKAN
# dicts made only for the page asked, from a small bounded cache.

PAGE_CACHE = 2048
"""Full package dicts kept per process (those of recent result pages)."""


@dataclass
class Index:
    """The published packages, most recently modified first, as columns."""

    version: tuple[str, int]
    names: list[str]
    position: dict[str, int]
    ranks: dict[str, np.ndarray]
    """Per sortable field, each package's dense rank (equal values, equal ranks)."""
    facets: dict[str, tuple[list[str], np.ndarray]]
    """organization, groups, license_id (and, for the portal, open_type and update_frequency): the
    values, and each package's value's number (-1: none)."""
    modified: list[str]
    """When each package's newest release was published (ISO 8601)."""
    row_counts: np.ndarray
    """Rows of each package's newest release."""
    org_names: dict[str, tuple[str, str | None]]
    """Each publishing department's names (Chinese, English) by code."""
    tag_names: list[str]
    tag_doc: np.ndarray
    tag_id: np.ndarray
    documents: str
    """What `score` looks a query word up in: each package's text folded to simplified script,
    lower-cased, one after the other (a query word holds no NUL, so none is found across two)."""
    starts: list[int]
    """Where each package's text starts in `documents` (and where the end is, last)."""
    title_tokens: str
    """Each package's title tokens, space-separated with a space at each end, one after the other."""
    title_starts: list[int]
    pairs: grams.PairIndex | None
    """Which packages' texts hold each pair of adjacent characters: a query word is looked for only in
    the packages holding all of its pairs (None past `grams.MAX_TEXTS` packages: every text is scanned)."""
    title_words: dict[str, np.ndarray]
    """Each title token -> the packages whose title has it (what scores a word double)."""
    keys: dict[bytes, int]
    """A digest of each package's text -> its position: a rebuild reuses the folding and segmenting
    of every package whose text did not change (the costly part)."""

    def __len__(self) -> int:
        return len(self.names)

    def nbytes(self) -> int:
        """About how much memory the index holds."""
        strings = sum(sys.getsizeof(n) for n in self.names) + sum(sys.getsizeof(t) for t in self.tag_names)
        arrays = sum(a.nbytes for a in self.ranks.values()) + sum(a.nbytes for _, a in self.facets.values())
        arrays += self.tag_doc.nbytes + self.tag_id.nbytes
        text = sys.getsizeof(self.documents) + sys.getsizeof(self.title_tokens)
        text += 40 * (len(self.starts) + len(self.title_starts))  # the offsets, as Python ints in lists
        maps = sys.getsizeof(self.position) + sys.getsizeof(self.keys) + 50 * len(self.keys)
        words = sys.getsizeof(self.title_words) + sum(a.nbytes + 80 for a in self.title_words.values())
        return strings + arrays + text + maps + words + (self.pairs.nbytes if self.pairs else 0)

    def document(self, i: int) -> str:
        return self.documents[self.starts[i] : self.starts[i + 1] - 1]

    def title(self, i: int) -> str:
        return self.title_tokens[self.title_starts[i] : self.title_starts[i + 1] - 1]


def _entry_text(e: dict) -> tuple[str, str]:
    """A listed package's searchable text and title text, exactly as `_document` and `score` make them."""
    parts = [e["dataset"], e["title_zh"], e["title_en"] or "", e["description"] or "", e["department_name"]]
    parts += list(dict.fromkeys(e["keywords"]))
    if e["theme"]:
        parts.append(vocab.label("theme", e["theme"], "zh"))
    parts += [f["name"] + " " + (f.get("description") or "") for f in e["fields"]]
    return "\n".join(parts), f"{e['title_zh']} {e['title_en'] or ''}"


def _dense_rank(values: list) -> np.ndarray:
    if not values:
        return np.zeros(0, np.int64)
    _, inverse = np.unique(np.array(values, dtype=object), return_inverse=True)
    return inverse.astype(np.int64)


def _coded(values: list[str | None]) -> tuple[list[str], np.ndarray]:
    names = sorted({v for v in values if v is not None})
    number = {v: i for i, v in enumerate(names)}
    return names, np.array([number.get(v, -1) if v is not None else -1 for v in values], dtype=np.int64)


def build_index(listing: list[dict], version: tuple[str, int], previous: Index | None = None) -> Index:
    """The index of a listing (from `published.published_listing`), reusing what `previous` computed
    for packages whose text is unchanged."""
    listing = sorted(listing, key=lambda e: (e["published_at"] or "", e["dataset"]), reverse=True)
    documents, titles, keys = [], [], {}
    for i, e in enumerate(listing):
        text, title = _entry_text(e)
        key = hashlib.blake2b(f"{text}\x00{title}".encode(), digest_size=16).digest()
        j = previous.keys.get(key) if previous is not None else None
        if j is not None:
            documents.append(previous.document(j))
            titles.append(previous.title(j))
        else:
            documents.append(fold(text).lower())
            titles.append(" " + " ".join(segment(title)) + " ")
        keys[key] = i
    names = [e["dataset"] for e in listing]
    tag_doc, tag_names_of = [], []
    for i, e in enumerate(listing):
        for t in dict.fromkeys(e["keywords"]):
            tag_doc.append(i)
            tag_names_of.append(t)
    tag_names, tag_id = _coded(tag_names_of)
    joined, starts = "\x00".join(documents) + "\x00", _starts(documents)
    return Index(
        version=version,
        names=names,
        position={n: i for i, n in enumerate(names)},
        ranks={
            "name": _dense_rank(names),
            "title": _dense_rank([e["title_zh"] for e in listing]),
            "metadata_modified": _dense_rank([e["published_at"] or "" for e in listing]),
            "metadata_created": _dense_rank([e["first_published_at"] or "" for e in listing]),
        },
        facets={
            "organization": _coded([e["department"] for e in listing]),
            "groups": _coded([e["theme"] or None for e in listing]),
            "license_id": _coded([e["licence"] or "notspecified" for e in listing]),
            "open_type": _coded([e["open_type"] or None for e in listing]),
            "update_frequency": _coded([e["update_frequency"] or None for e in listing]),
        },
        modified=[e["published_at"] or "" for e in listing],
        row_counts=np.array([e["row_count"] or 0 for e in listing], dtype=np.int64),
        org_names={e["department"]: (e["department_name"], e["department_name_en"]) for e in listing},
        tag_names=tag_names,
        tag_doc=np.array(tag_doc, dtype=np.int64),
        tag_id=tag_id,
        documents=joined,
        starts=starts,
        title_tokens="\x00".join(titles) + "\x00",
        title_starts=_starts(titles),
        pairs=grams.build(joined, starts),
        title_words=_title_words(titles),
        keys=keys,
    )


def _starts(texts: list[str]) -> list[int]:
    out, at = [0], 0
    for t in texts:
        at += len(t) + 1
        out.append(at)
    return out


def _title_words(titles: list[str]) -> dict[str, np.ndarray]:
    where: dict[str, list[int]] = {}
    for i, title in enumerate(titles):
        for token in set(title.split()):
            where.setdefault(token, []).append(i)
    return {token: np.array(found, dtype=np.int64) for token, found in where.items()}


def _holding_all(index: Index, words: list[str]) -> np.ndarray:
    """The positions of the packages whose texts hold every word: the pair index's candidates of each
    word, the rarest first, each narrowing the last; a word longer than a pair is then checked with
    `find` on what is left (the answer `_containing` gives, without reading every text)."""
    if index.pairs is None:
        found = np.ones(len(index), bool)
        for w in words:
            found &= _containing(index.documents, index.starts, w, len(index))
        return np.flatnonzero(found)
    candidates = {w: index.pairs.candidates(w) for w in words}
    found = None
    text, starts = index.documents, index.starts
    for w in sorted(words, key=lambda w: len(candidates[w])):
        found = candidates[w] if found is None else grams.intersect(found, candidates[w])
        if len(w) > 2 and len(found):
            found = np.array(
                [i for i in found.tolist() if text.find(w, starts[i], starts[i + 1]) != -1], dtype=np.uint32
            )
    return found.astype(np.int64)


def _containing(text: str, starts: list[int], word: str, n: int) -> np.ndarray:
    """Which of the `n` texts held one after the other in `text` contain `word`: one C-speed `find`
    per text that does (the search resumes at the next text's start), none per text that does not."""
    out = np.zeros(n, bool)
    at = text.find(word)
    while at != -1:
        i = bisect.bisect_right(starts, at) - 1
        out[i] = True
        at = text.find(word, starts[i + 1])
    return out


class ListingCache:
    """The index of the listing and recent pages' package dicts, current for one listing version."""

    def __init__(self, page_cache: int = PAGE_CACHE) -> None:
        self.index: Index | None = None
        self.pages: OrderedDict[tuple[str, str], dict] = OrderedDict()
        self.page_cache = page_cache
        self.lock = threading.Lock()
        self.rebuilds = 0

    def current(self, session: Session) -> Index:
        """The index as of the listing version the database holds now (read first, so a change
        committed while the index is built only makes the next call rebuild it again)."""
        version = published.listing_version(session)
        index = self.index
        if index is not None and index.version == version:
            return index
        with self.lock:
            if self.index is None or self.index.version != version:
                self.index = build_index(published.published_listing(session), version, self.index)
                self.pages.clear()
                self.rebuilds += 1
            return self.index

    def packages(self, session: Session, index: Index, names: list[str], site_url: str) -> list[dict]:
        """The full CKAN dicts of `names` (a page of results), from the cache or read together."""
        with self.lock:
            fresh = self.index is index
            found = {n: self.pages.get((site_url, n)) for n in names} if fresh else {}
        missing = [n for n in names if found.get(n) is None]
        if missing:
            by_dataset: dict[str, list[dict]] = {}
            for r in published.published_releases_of(session, missing):
                by_dataset.setdefault(r["dataset"], []).append(r)
            for n, rs in by_dataset.items():
                found[n] = package(rs, site_url)
            with self.lock:
                if self.index is index:
                    for n in missing:
                        if found.get(n) is not None:
                            self.pages[(site_url, n)] = found[n]
                    while len(self.pages) > self.page_cache:
                        self.pages.popitem(last=False)
        # a dataset withdrawn since the index was read is left out rather than shown
        return [found[n] for n in names if found.get(n) is not None]


LISTING = ListingCache()
"""This process's cache of the published listing."""


def _has(index: Index, name: str, value: str) -> np.ndarray:
    """Which packages have `value` in filterable field `name` (see `field_values`)."""
    n = len(index)
    if name in index.facets:
        values, codes = index.facets[name]
        try:
            return codes == values.index(value)
        except ValueError:
            return np.zeros(n, bool)
    if name == "tags":
        out = np.zeros(n, bool)
        if value in index.tag_names:
            out[index.tag_doc[index.tag_id == index.tag_names.index(value)]] = True
        return out
    if name in ("name", "id"):
        out = np.zeros(n, bool)
        if value in index.position:
            out[index.position[value]] = True
        return out
    constant = {"res_format": FORMAT, "dataset_type": "dataset", "capacity": "public"}[name]
    return np.full(n, value == constant)


def indexed_facets(index: Index, hits: np.ndarray, name: str, limit: int) -> list[tuple[str, int]]:
    if name == "res_format":
        counts = {FORMAT: int(hits.sum())} if hits.any() else {}
    elif name == "tags":
        chosen = hits[index.tag_doc]
        tally = np.bincount(index.tag_id[chosen], minlength=len(index.tag_names))
        counts = {index.tag_names[i]: int(c) for i, c in enumerate(tally) if c}
    else:
        values, codes = index.facets[name]
        picked = codes[hits]
        tally = np.bincount(picked[picked >= 0], minlength=len(values))
        counts = {values[i]: int(c) for i, c in enumerate(tally) if c}
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return ranked if limit < 0 else ranked[:limit]


def _matches(index: Index, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Which packages hold every word, and their scores (as `score`: title words count double; only
    the scores of packages that hold every word are meaningful)."""
    n = len(index)
    if not words:
        return np.ones(n, bool), np.ones(n, np.float64)
    found = _holding_all(index, words)
    hits, scores = np.zeros(n, bool), np.zeros(n, np.float64)
    hits[found] = True
    for w in words:
        in_title = np.isin(found, index.title_words.get(w, np.zeros(0, np.int64)))
        scores[found] += np.where(in_title, 2.0, 1.0)
    return hits, scores


def matching(
    index: Index, words: list[str], clauses: list[tuple[bool, str, str]]
) -> tuple[np.ndarray, np.ndarray]:
    """Which packages hold every word and pass every (wanted, field, value) clause, and their scores."""
    hits, scores = _matches(index, words)
    for wanted, name, value in clauses:
        hits &= _has(index, name, value) == wanted
    return hits, scores


def ranking(index: Index, hits: np.ndarray, scores: np.ndarray, order: list[tuple[str, bool]]) -> np.ndarray:
    """The hits' positions in the order asked (`parse_sort`); ties keep the listing's order, as the
    stable sorts of `search` do."""
    chosen = np.flatnonzero(hits)
    keys = [chosen]
    for name, descending in reversed(order):
        key = (
            scores[chosen]
            if name == "score"
            else index.ranks[name if name != "title_string" else "title"][chosen]
        )
        keys.append(-key if descending else key)
    return chosen[np.lexsort(keys)] if len(chosen) else chosen


def search_published(
    session: Session,
    site_url: str,
    q: str,
    fq: list[str],
    sort: str,
    rows: int,
    start: int,
    facets: list[str],
    facet_limit: int,
    cache: ListingCache | None = None,
) -> dict:
    """`search` over everything published, answered from this process's cached index of the listing
    (same results, order, counts and facets)."""
    cache = cache or LISTING
    clauses = [c for f in fq for c in parse_fq(f)]
    order = parse_sort(sort)
    index = cache.current(session)
    hits, scores = matching(index, query_words(q), clauses)
    ranked = ranking(index, hits, scores, order)
    page = [index.names[i] for i in ranked[start : start + rows]]
    counted = {f: indexed_facets(index, hits, f, facet_limit) for f in facets}
    return {
        "count": int(len(ranked)),
        "results": cache.packages(session, index, page, site_url),
        "sort": sort or DEFAULT_SORT,
        "facets": {f: dict(items) for f, items in counted.items()},
        "search_facets": {
            f: {"title": f, "items": [{"name": n, "display_name": n, "count": c} for n, c in items]}
            for f, items in counted.items()
        },
    }
