"""Profiles of registry entries (一企一档, 一人一档): every linked source's rows and the golden
attributes with their provenance; a person's sections only as the reader's grants allow, masked by them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

import duckdb
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlglot import exp

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_version
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, NotFound, ShuzhiError
from shuzhi.exchange.decision import decide, grant_masks, relation_name
from shuzhi.exchange.grades import version_grades
from shuzhi.exchange.keys import mask_master_key
from shuzhi.exchange.masking import MaskRule, grant_key
from shuzhi.exchange.policy import GrantedTable, policy_subquery
from shuzhi.exchange.preview import apply_mask
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.quality.kinds import ident, lit
from shuzhi.registry import normalise
from shuzhi.registry.models import GoldenAttribute, Registry, RegistryEntry, RegistryMember
from shuzhi.registry.profile_events import ProfileRead, ProfileRefused
from shuzhi.registry.service import get_registry
from shuzhi.registry.settings import Source
from shuzhi.registry.sources import _row_key
from shuzhi.storage import version_store

PEOPLE = frozenset({"people", "person"})
ENTERPRISES = frozenset({"enterprises", "enterprise"})
SEARCHED = ("name", "legal_rep", "uscc", "ric")
"""Golden attributes a search looks in."""
SEARCH_LIMIT = 20
_LATIN = re.compile(r"^[A-Za-z\s']+$")
_CODE = re.compile(r"^[0-9A-Za-z]{15,18}$")


@dataclass
class Golden:
    """One surviving attribute and the source record it came from."""

    attribute: str
    value: str | None
    dataset: str
    version: int
    row: str
    rule: str
    mask: str | None = None
    """The mask applied (its rule's kind), when the reader's grant masks the source column."""


@dataclass
class Section:
    """The rows of one source dataset version that are this entry's records."""

    dataset: str
    title_zh: str
    title_en: str | None
    department: str
    version: int
    loaded_at: datetime
    basis: str
    """'owner', 'unconditional', 'grant', or 'catalog' (an enterprise's source of another department)."""
    fields: list[str]
    rows: list[dict]
    masks: dict[str, str] = field(default_factory=dict)
    """Field → mask kind, for fields shown masked."""


@dataclass
class Profile:
    registry: str
    registry_title_zh: str
    registry_title_en: str | None
    kind: str
    entry: str
    state: str
    golden: list[Golden]
    sections: list[Section]

    def to_dict(self) -> dict:
        out = asdict(self)
        for section in out["sections"]:
            section["loaded_at"] = section["loaded_at"].isoformat()
        return out


@dataclass
class Hit:
    """A search result: the entry, its name, which attributes matched (not their values, which a
    profile shows masked as the reader may see them)."""

    entry: str
    name: str | None
    matched: list[str]


# -- reading a profile --------------------------------------------------------------


def _refused(entry_key: str) -> NotFound:
    """One answer for an unknown entry and for an entry the reader may see nothing of."""
    return NotFound(M_("no profile %(entry)s that you may read", entry=entry_key), where="entry")


def _find(session: Session, kinds: frozenset[str], entry_key: str) -> tuple[Registry, RegistryEntry]:
    found = session.execute(
        select(Registry, RegistryEntry)
        .join(RegistryEntry, RegistryEntry.registry_id == Registry.id)
        .where(RegistryEntry.entry_key == entry_key, Registry.kind.in_(kinds))
        .order_by(Registry.id)
        .limit(1)
    ).first()
    if found is None:
        raise _refused(entry_key)
    return found[0], found[1]


def _sources(registry: Registry) -> dict[str, Source]:
    return {s["dataset"]: Source.model_validate(s) for s in (registry.settings or {}).get("sources", [])}


def _catalog_table(session: Session, settings: Settings, principal: Principal, dataset: Dataset, version):
    """How an enterprise's registered source is shown: whole to its own department; elsewhere every
    field, masked by its grade's default (L4 hashed, as a grant naming no mask would)."""
    fields = [f.name for f in dataset.fields]
    owner = principal.department_id == dataset.department_id
    masks = (
        {name: MaskRule() for name in fields}
        if owner
        else grant_masks(None, version_grades(session, settings, dataset, version), fields)
    )
    table = GrantedTable(
        name=dataset.identifier.lower(),
        relation=relation_name(version),
        fields=tuple((f.name, f.type) for f in dataset.fields),
        masks=masks,
        key=grant_key(mask_master_key(settings), f"registry:{principal.department_id}:{dataset.id}"),
    )
    return table, "owner" if owner else "catalog"


Access = Callable[[Dataset, int], tuple[DatasetVersion, GrantedTable, str] | None]


def _catalog_access(session: Session, settings: Settings, principal: Principal) -> Access:
    def access(dataset: Dataset, number: int):
        version = get_version(session, dataset, number)
        try:
            table, basis = _catalog_table(session, settings, principal, dataset, version)
        except ShuzhiError:
            return None  # a version not graded yet stays within its department
        return version, table, basis

    return access


def _governed_access(session: Session, settings: Settings, principal: Principal) -> Access:
    """The exchange's own decision for each source: what the reader may read of it, masked how;
    None where the reader may not read it (the reason is not shown: it would tell the entry exists)."""

    def access(dataset: Dataset, number: int):
        try:
            readable = decide(session, settings, principal, dataset, version=number)
        except ShuzhiError:
            return None
        if readable.version.number != number:
            return None  # the reader is shown another version: not this entry's records
        return readable.version, readable.table, readable.basis

    return access


def read_rows(
    settings: Settings, version: DatasetVersion, source: Source, keys: list[str], table: GrantedTable
):
    """The rows of `version` whose row keys are `keys`, through the policy subquery of `table`
    (its granted fields, masks and row filter: the SQL governed reads run)."""
    path = version_store(settings).path(version.path)
    keyed = f"SELECT {_row_key(source)} AS row_key_, * FROM read_parquet({lit(str(path))}, file_row_number = true)"
    wanted = ", ".join(lit(k) for k in keys)
    con = duckdb.connect(":memory:")
    try:
        con.execute(
            f"CREATE TEMP TABLE {ident(table.relation)} AS SELECT * EXCLUDE (row_key_, file_row_number) "
            f"FROM ({keyed}) WHERE row_key_ IN ({wanted})"
        )
        con.execute("SET enable_external_access = false")
        sql = exp.select("*").from_(policy_subquery(table, "t")).sql(dialect="duckdb")
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        return names, [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    finally:
        con.close()


def _sections(session: Session, settings: Settings, registry: Registry, entry: RegistryEntry, access: Access):
    members = session.execute(
        select(RegistryMember.dataset, RegistryMember.version, RegistryMember.row)
        .where(RegistryMember.entry_id == entry.id)
        .order_by(RegistryMember.dataset, RegistryMember.version, RegistryMember.row)
    ).all()
    groups: dict[tuple[str, int], list[str]] = {}
    for dataset, version, row in members:
        groups.setdefault((dataset, version), []).append(row)
    sources = _sources(registry)
    sections, tables = [], {}
    for (identifier, number), keys in groups.items():
        dataset = session.scalar(select(Dataset).where(Dataset.identifier == identifier))
        if dataset is None or identifier not in sources:
            continue
        granted = access(dataset, number)
        if granted is None:
            continue
        version, table, basis = granted
        names, rows = read_rows(settings, version, sources[identifier], keys, table)
        if not rows:
            continue  # the grant's row filter leaves these records out: the source says nothing of them
        masks = {n: table.masks[n].kind for n in names if table.masks[n].kind != "clear"}
        sections.append(
            Section(
                dataset=identifier,
                title_zh=dataset.title_zh,
                title_en=dataset.title_en,
                department=dataset.department.name_zh,
                version=version.number,
                loaded_at=version.created_at,
                basis=basis,
                fields=names,
                rows=rows,
                masks=masks,
            )
        )
        tables[(identifier, number)] = table
    return sections, tables


def _golden(session: Session, registry: Registry, entry: RegistryEntry, tables: dict) -> list[Golden]:
    """The entry's golden attributes whose source the reader was shown, masked as that source's
    column is masked for them."""
    sources = _sources(registry)
    out = []
    for g in session.scalars(
        select(GoldenAttribute)
        .where(GoldenAttribute.entry_id == entry.id)
        .order_by(GoldenAttribute.attribute)
    ):
        table = tables.get((g.dataset, g.version))
        column = sources[g.dataset].mapping.get(g.attribute) if g.dataset in sources else None
        if table is None or column not in table.masks:
            continue
        rule = table.masks[column]
        value = g.value if rule.kind == "clear" else apply_mask(rule, [g.value], table.key)[0]
        out.append(
            Golden(
                attribute=g.attribute,
                value=value,
                dataset=g.dataset,
                version=g.version,
                row=g.row if rule.kind == "clear" else "",
                rule=g.rule,
                mask=None if rule.kind == "clear" else rule.kind,
            )
        )
    return out


def _profile(session, settings, principal, kinds, entry_key, access) -> Profile:
    registry, entry = _find(session, kinds, entry_key)
    sections, tables = _sections(session, settings, registry, entry, access)
    if not sections:
        raise _refused(entry_key)
    profile = Profile(
        registry=registry.name,
        registry_title_zh=registry.title_zh,
        registry_title_en=registry.title_en,
        kind=registry.kind,
        entry=entry.entry_key,
        state=entry.state,
        golden=_golden(session, registry, entry, tables),
        sections=sections,
    )
    shown = [
        {"dataset": s.dataset, "version": s.version, "basis": s.basis, "rows": len(s.rows)} for s in sections
    ]
    ledger.append(
        session,
        ProfileRead(registry=registry.name, entry=entry.entry_key, sections=shown),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return profile


def enterprise_profile(session: Session, settings: Settings, principal: Principal, entry_id: str) -> Profile:
    """An enterprise as its linked sources hold it: one section per source dataset version (rows
    read from the version registered in the catalog; outside the source's department its fields
    masked by their grades' defaults, L4 hashed), the golden attributes with provenance, masked
    alike. The read is appended to the ledger in the caller's transaction. NotFound for an unknown
    entry."""
    return _profile(
        session, settings, principal, ENTERPRISES, entry_id, _catalog_access(session, settings, principal)
    )


def person_profile(session: Session, settings: Settings, principal: Principal, entry_id: str) -> Profile:
    """A person as their linked sources hold them, showing only the sources the reader may read
    (own department, unconditional sharing, or an active grant — the exchange's decision), each
    masked and filtered as the grant says; golden attributes only from those sources, masked alike.
    A reader who may read none of them gets the NotFound an unknown entry gets. The read is
    appended to the ledger in the caller's transaction."""
    return _profile(
        session, settings, principal, PEOPLE, entry_id, _governed_access(session, settings, principal)
    )


def read_profile(db, settings: Settings, principal: Principal, kind: str, entry_id: str) -> Profile:
    """A profile in its own transaction; a refusal is audited too (in a transaction of its own, the
    read's having rolled back), then raised."""
    reader = person_profile if kind in PEOPLE else enterprise_profile
    try:
        with db.write() as s:
            return reader(s, settings, principal, entry_id)
    except NotFound:
        with db.write() as s:
            ledger.append(
                s,
                ProfileRefused(registry=kind, entry=entry_id[:64]),
                user_id=principal.user_id,
                department_id=principal.department_id,
                outcome="denied",
            )
        raise


# -- search -------------------------------------------------------------------------


def _folded_name(kind: str, text: str) -> str | None:
    if kind in ENTERPRISES:
        return normalise.split_firm_name(text).core or normalise.normalise_firm_name(text)
    return normalise.normalise_name(text)


def _pinyin_of(kind: str, value: str) -> str:
    if kind in ENTERPRISES:
        return (normalise.split_firm_name(value).pinyin or "").replace(" ", "")
    return (normalise.name_pinyin(normalise.normalise_name(value)) or "").replace(" ", "")


def _candidates(session: Session, registry: Registry, q: str):
    """Golden attributes that may match, narrowed in SQL; pinyin is matched afterwards."""
    base = (
        select(
            GoldenAttribute.entry_id,
            GoldenAttribute.attribute,
            GoldenAttribute.value,
            GoldenAttribute.value_norm,
        )
        .join(RegistryEntry, RegistryEntry.id == GoldenAttribute.entry_id)
        .where(
            RegistryEntry.registry_id == registry.id,
            RegistryEntry.state == "active",
            GoldenAttribute.attribute.in_(SEARCHED),
        )
    )
    if _CODE.match(q):
        code = q.upper()
        return base.where(GoldenAttribute.attribute.in_(("uscc", "ric")), or_(GoldenAttribute.value == code,
                          GoldenAttribute.value_norm == code))  # fmt: skip
    if _LATIN.match(q):
        return base.where(GoldenAttribute.attribute.in_(("name", "legal_rep")))
    folded = _folded_name(registry.kind, q) or q
    return base.where(
        GoldenAttribute.attribute.in_(("name", "legal_rep")),
        or_(*(column.contains(text, autoescape=True) for column in (GoldenAttribute.value, GoldenAttribute.value_norm)
              for text in {q, folded})),
    )  # fmt: skip


def search(session: Session, registry: str, q: str, *, limit: int = SEARCH_LIMIT) -> list[Hit]:
    """Active entries of a registry by name (hanzi folded as the registry folds it, or toneless
    pinyin without spaces: "zhangwei"), legal representative, credit code or ID number. Faces
    search a person registry through `readable_search`, never this alone."""
    q = (q or "").strip()
    if not q:
        raise InvalidInput(M_("say what to search for"), where="q")
    reg = get_registry(session, registry)
    pinyin = "".join(q.lower().split()).replace("'", "") if _LATIN.match(q) else None
    matched: dict[int, set[str]] = {}
    for entry_id, attribute, value, _norm in session.execute(_candidates(session, reg, q)):
        if pinyin is not None and pinyin not in _pinyin_of(reg.kind, value):
            continue
        matched.setdefault(entry_id, set()).add(attribute)
    if not matched:
        return []
    keys = dict(
        session.execute(
            select(RegistryEntry.id, RegistryEntry.entry_key)
            .where(RegistryEntry.id.in_(list(matched)))
            .order_by(RegistryEntry.entry_key)
        ).all()
    )
    names = dict(
        session.execute(
            select(GoldenAttribute.entry_id, GoldenAttribute.value).where(
                GoldenAttribute.entry_id.in_(list(keys)), GoldenAttribute.attribute == "name"
            )
        ).all()
    )
    ordered = sorted(keys, key=lambda i: keys[i])[:limit]
    return [Hit(entry=keys[i], name=names.get(i), matched=sorted(matched[i])) for i in ordered]


def readable_search(
    session: Session,
    settings: Settings,
    principal: Principal,
    registry: str,
    q: str,
    *,
    limit: int = SEARCH_LIMIT,
) -> list[Hit]:
    """`search` as a reader may see it: in a person registry only the entries with a source the
    reader may read (the others are left out, not refused: a search says nothing of them), and not
    even their names — the profile shows them, masked as the reader may see them."""
    reg = get_registry(session, registry)
    hits = search(session, registry, q, limit=limit if reg.kind not in PEOPLE else 10_000)
    if reg.kind not in PEOPLE:
        return hits
    access = _governed_access(session, settings, principal)
    allowed: dict[tuple[str, int], bool] = {}

    def readable(hit: Hit) -> bool:
        members = session.execute(
            select(RegistryMember.dataset, RegistryMember.version)
            .join(RegistryEntry, RegistryEntry.id == RegistryMember.entry_id)
            .where(RegistryEntry.registry_id == reg.id, RegistryEntry.entry_key == hit.entry)
            .distinct()
        ).all()
        for identifier, number in members:
            if (identifier, number) not in allowed:
                dataset = session.scalar(select(Dataset).where(Dataset.identifier == identifier))
                allowed[(identifier, number)] = dataset is not None and access(dataset, number) is not None
            if allowed[(identifier, number)]:
                return True
        return False

    return [Hit(entry=h.entry, name=None, matched=h.matched) for h in hits if readable(h)][:limit]
