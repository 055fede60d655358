"""Chinese full-text search over the catalog, through the database's own full-text index."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml
from sqlalchemy import Float, String, cast, func, literal, literal_column, select, text, union_all
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetSearchDoc, DatasetVersion

_WORD = re.compile(r"[\w\u4e00-\u9fff]+")
_HANZI = re.compile(r"[\u4e00-\u9fff]")
_HANZI_RUN = re.compile(r"[\u4e00-\u9fff]+")
FACETS = ("department", "theme", "share_type", "open_type", "security_grade", "format")


@lru_cache(maxsize=1)
def _jieba():
    """jieba, imported (and its dictionary loaded) only when text is first segmented, with our synonyms added."""
    import jieba

    jieba.setLogLevel(60)
    for g in _synonym_groups():
        for term in g:
            jieba.add_word(term)
    return jieba


@lru_cache(maxsize=1)
def _synonym_groups() -> list[list[str]]:
    text_ = resources.files("shuzhi.catalog").joinpath("synonyms.yaml").read_text("utf-8")
    return yaml.safe_load(text_)


@lru_cache(maxsize=1)
def _to_simplified():
    from opencc import OpenCC

    return OpenCC("t2s").convert


def fold(text_: str) -> str:
    """Text in simplified script: 醫療 and 医疗 are one word to the index and to every query."""
    return _to_simplified()(text_ or "")


def segment(text_: str) -> list[str]:
    """Tokens of a text for indexing and querying: simplified script, jieba's search mode,
    lower-cased, no punctuation."""
    out = []
    for tok in _jieba().cut_for_search(fold(text_)):
        tok = tok.strip().lower()
        if tok and _WORD.fullmatch(tok):
            out.append(tok)
    return out


def pinyin(word: str) -> str:
    """A word's reading in toneless pinyin, syllables run together: 社保 → shebao."""
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(word)).lower()


def warm() -> None:
    """Load every dictionary the search uses (segmenter, script folding, readings) now."""
    _readings(segment("醫療保障 社会保险"))


def _readings(tokens: list[str]) -> list[str]:
    # Words of two or more hanzi are indexed by their reading too: a pinyin query (shebao) and a
    # homophone typed by an input method (营业只照 for 营业执照) then meet the word they meant.
    return [pinyin(t) for t in tokens if len(_HANZI.findall(t)) >= 2]


def _with_synonyms(raw: str, tokens: list[str]) -> list[str]:
    extra = []
    for group in _synonym_groups():
        if any(term in raw for term in group):
            extra.extend(t.lower() for t in group)
    return tokens + extra


def document_text(ds: Dataset) -> str:
    parts: list[str] = [ds.identifier, ds.title_zh, ds.title_en or "", ds.description or ""]
    parts += list(ds.keywords or [])
    for f in ds.fields:
        parts += [f.name, f.description or ""]
    return "\n".join(parts)


def index_dataset(session: Session, ds: Dataset) -> None:
    """Write the dataset's segmented search text; the index (FTS5 triggers / GIN) follows."""
    raw = document_text(ds)
    words = segment(raw)
    tokens = " ".join(_with_synonyms(fold(raw), words) + _readings(words))
    doc = session.get(DatasetSearchDoc, ds.id)
    if doc is None:
        session.add(DatasetSearchDoc(dataset_id=ds.id, tokens=tokens))
    else:
        doc.tokens = tokens
    session.flush()


def reindex_all(session: Session) -> int:
    """Rewrite every dataset's search text (after an upgrade changed how text is indexed)."""
    datasets = session.scalars(select(Dataset).order_by(Dataset.id)).all()
    for ds in datasets:
        index_dataset(session, ds)
    return len(datasets)


def _query_tokens(q: str) -> list[str]:
    # Documents are indexed in jieba's search mode (whole words and their dictionary parts), so
    # the same segmentation of the query, AND-ed, finds a word inside a longer compound title.
    return list(dict.fromkeys(segment(q)))


def _sounding_alike(q: str) -> list[list[str]]:
    """Token sets tried, in order, when the words of a query find nothing: the reading of each word,
    then of each unbroken run of hanzi (an input method's homophone splits a word jieba knows)."""
    words = _query_tokens(q)
    latin = [w for w in words if not _HANZI.search(w)]
    by_word = [pinyin(w) if _HANZI.search(w) else w for w in words]
    by_run = latin + [pinyin(run) for run in _HANZI_RUN.findall(fold(q))]
    tries = [by_word, by_run]
    return [list(dict.fromkeys(t)) for i, t in enumerate(tries) if t != words and t not in tries[:i]]


SIMPLE = literal_column("'simple'::regconfig")
"""The text search configuration, written into the SQL: as a bound parameter PostgreSQL cannot match
the expression of the GIN index (`to_tsvector('simple', tokens)`) and reads every document."""


def _tsvector():
    return func.to_tsvector(SIMPLE, DatasetSearchDoc.tokens)


def _match_ids(session: Session, tokens: list[str]):
    """A subquery of dataset ids whose search text holds every token."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        expr = " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        return (
            text("SELECT rowid AS dataset_id FROM dataset_fts WHERE dataset_fts MATCH :q")
            .bindparams(q=expr)
            .columns(dataset_id=DatasetSearchDoc.dataset_id.type)
        )
    tsq = " & ".join("'" + t.replace("'", "''") + "'" for t in tokens)
    return select(DatasetSearchDoc.dataset_id).where(_tsvector().op("@@")(func.to_tsquery(SIMPLE, tsq)))


@dataclass
class SearchResult:
    total: int
    datasets: list[Dataset]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    by_reading: bool = False
    """True when the words found nothing and the datasets matched the query's reading (pinyin)."""
    did_you_mean: str | None = None
    """When nothing matched at all: the query with each unknown word replaced by the closest word
    the index holds, if that finds something."""


SORTS = {
    "relevance": (),  # by how well the words match (bm25 on SQLite, ts_rank on PostgreSQL)
    "identifier": (Dataset.identifier,),
    "newest": (Dataset.created_at.desc(), Dataset.identifier),
    "updated": (Dataset.updated_at.desc(), Dataset.identifier),
    "title": (Dataset.title_zh, Dataset.identifier),
}
"""Orders a search can be asked for, by name. Without one: relevance when there are words to match,
identifier otherwise (relevance without words falls back to identifier too)."""


def _ranked(session: Session, tokens: list[str]):
    """Dataset ids matching every token with a rank, lower = better."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        expr = " AND ".join('"' + t.replace('"', '""') + '"' for t in tokens)
        return (
            text(
                "SELECT rowid AS dataset_id, bm25(dataset_fts) AS rank FROM dataset_fts WHERE dataset_fts MATCH :q"
            )
            .bindparams(q=expr)
            .columns(dataset_id=DatasetSearchDoc.dataset_id.type, rank=Float())
        )
    tsq = func.to_tsquery(SIMPLE, " & ".join("'" + t.replace("'", "''") + "'" for t in tokens))
    vector = _tsvector()
    return select(DatasetSearchDoc.dataset_id, (-func.ts_rank(vector, tsq)).label("rank")).where(
        vector.op("@@")(tsq)
    )


def _latest_format():
    latest = (
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number).label("n"))
        .group_by(DatasetVersion.dataset_id)
        .subquery()
    )
    fmt = (
        select(DatasetVersion.dataset_id, DatasetVersion.source_format.label("format"))
        .join(
            latest, (latest.c.dataset_id == DatasetVersion.dataset_id) & (latest.c.n == DatasetVersion.number)
        )
        .subquery()
    )
    return fmt


def search(
    session: Session,
    q: str = "",
    *,
    filters: dict[str, Iterable[str]] | None = None,
    limit: int = 20,
    offset: int = 0,
    sort: str = "identifier",
) -> SearchResult:
    """Datasets matching a query and facet filters, with facet counts over the matches. When the
    query's words match nothing, its reading does (pinyin, homophone typos); `by_reading` says so."""
    result = _search(session, _query_tokens(q or ""), filters, limit, offset, sort)
    if result.total == 0 and (q or "").strip():
        for tokens in _sounding_alike(q):
            alike = _search(session, tokens, filters, limit, offset, sort)
            if alike.total:
                alike.by_reading = True
                return alike
        result.did_you_mean = _closest_query(session, q, filters)
    return result


SIMILAR = 0.75
"""How alike (difflib's ratio) a typed word and an indexed word must be to suggest the latter."""


def _closest_query(session: Session, q: str, filters) -> str | None:
    """The query with each word the index lacks replaced by the most alike word it holds (a typo:
    shebo → shebao, 营业执找 → 营业执照), when that query finds something."""
    import difflib

    vocabulary = _vocabulary(session)
    words, changed = [], False
    for word in _query_tokens(q):
        close = [] if word in vocabulary else difflib.get_close_matches(word, vocabulary, n=1, cutoff=SIMILAR)
        changed |= bool(close)
        words.append(close[0] if close else word)
    if not changed or _search(session, words, filters, 1, 0, "identifier").total == 0:
        return None
    return " ".join(words)


_VOCABULARY: dict = {}


def _vocabulary(session: Session) -> list[str]:
    """Every word the index holds (readings included), kept per process until the index changes
    (a dataset added, removed or edited, or the text rewritten by `reindex_all`)."""
    version = session.execute(
        select(
            func.count(DatasetSearchDoc.dataset_id),
            func.max(Dataset.updated_at),
            func.sum(func.length(DatasetSearchDoc.tokens)),
        ).join(Dataset, Dataset.id == DatasetSearchDoc.dataset_id)
    ).one()
    key = (str(session.get_bind().url), tuple(version))
    if _VOCABULARY.get("key") != key:
        words: set[str] = set()
        for (tokens,) in session.execute(select(DatasetSearchDoc.tokens)).yield_per(1000):
            words.update((tokens or "").split())
        _VOCABULARY.update(key=key, words=sorted(words))
    return _VOCABULARY["words"]


def _search(session: Session, tokens: list[str], filters, limit: int, offset: int, sort: str) -> SearchResult:
    from shuzhi.orgs.models import Department

    fmt = _latest_format()
    base = (
        select(Dataset.id)
        .join(Department, Department.id == Dataset.department_id)
        .outerjoin(fmt, fmt.c.dataset_id == Dataset.id)
    )
    if tokens:
        # The text match first, through its index, whatever the planner's row estimates (a GIN
        # match is guessed at one row, and PostgreSQL then re-ran it for every dataset).
        ids = _match_ids(session, tokens).cte("hits").prefix_with("MATERIALIZED", dialect="postgresql")
        base = base.where(Dataset.id.in_(select(ids.c.dataset_id)))
    columns = {
        "department": Department.code,
        "theme": Dataset.theme,
        "share_type": Dataset.share_type,
        "open_type": Dataset.open_type,
        "security_grade": Dataset.security_grade,
        "format": fmt.c.format,
    }
    for name, values in (filters or {}).items():
        values = [v for v in values if v]
        if name in columns and values:
            base = base.where(columns[name].in_(values))
    # The matched datasets with their facet values, computed once (PostgreSQL: a materialised CTE;
    # inlined six times it re-ran the text match per facet), then one GROUP BY per facet joined with
    # UNION ALL: a single statement, counted by the database. Every dataset has exactly one
    # department, so the department counts add up to the total.
    matched = base.with_only_columns(
        Dataset.id.label("id"), *(col.label(name) for name, col in columns.items())
    ).cte("matched")
    matched = matched.prefix_with("MATERIALIZED", dialect="postgresql")
    parts = [
        select(
            literal(name).label("facet"),
            cast(matched.c[name], String).label("value"),
            func.count().label("n"),
        ).group_by(matched.c[name])
        for name in columns
    ]
    facets: dict[str, dict[str, int]] = {name: {} for name in columns}
    for name, value, n in session.execute(union_all(*parts)):
        facets[name][value if value is not None else ""] = n
    facets = {name: dict(sorted(counts.items())) for name, counts in facets.items()}
    total = sum(facets["department"].values())
    listing = select(Dataset).where(Dataset.id.in_(select(matched.c.id)))
    if sort == "relevance" and tokens:
        ranked = _ranked(session, tokens).subquery()
        listing = listing.join(ranked, ranked.c.dataset_id == Dataset.id).order_by(
            ranked.c.rank, Dataset.identifier
        )
    else:
        listing = listing.order_by(*(SORTS.get(sort) or SORTS["identifier"]))
    page = session.scalars(listing.limit(limit).offset(offset)).all()
    return SearchResult(total=total, datasets=list(page), facets=facets)
