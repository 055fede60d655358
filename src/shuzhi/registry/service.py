"""Base registry services: registering a registry, building it (full or incremental), steward decisions, reading it.

Who may do what: only admins (the big-data bureau) register and build registries. A steward decision
(merge, split, resolve) is taken by an admin, or by a steward of a department whose datasets hold
records of every entry the decision touches (a steward decides on the entries their own department's
records are in, never on another department's alone). Anyone signed in reads `status` and `entry`.

Session services never commit: the caller's `db.write()` transaction does. `build` owns its
transactions (it reads, links outside any transaction, then writes the run in one).

Incremental builds. A member record carries a digest (md5 of its mapped values as read). An
incremental build reads every source's shared version and sorts the records into *stable* (same
record key and digest as a member of the last run), *delta* (new or changed) and *gone*. It links the
delta records together with the stable records they could match: every stable record sharing a valid
identifier value or all the columns of a column blocking rule with a delta record. Every run keeps the
model it scored pairs with; while the registry's settings are those it was trained under, the
incremental build scores with it (term frequencies counted over all current records), so a pair
scores as it did in the last full build. Otherwise (or with `training.reuse: false`, or with SQL
blocking rules) it trains again on the delta and candidates plus one representative of each existing
entry (its stable record with the smallest key, so the model sees the whole population).

Stable records keep their previous entry; a linked cluster joins the delta records in it with the
entries of the stable records it holds (so a delta record can merge two entries). Ids, decisions and golden records are then computed exactly as in a full build, over all
current records. Where a full build would link a delta record only through an SQL blocking rule to a
member that is not its entry's representative, the incremental build misses that link until the next
full build.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog.models import Dataset
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.models import Department
from shuzhi.orgs.service import Principal
from shuzhi.registry import events, golden, identity, prepared
from shuzhi.registry.models import (
    GoldenAttribute,
    Registry,
    RegistryConflict,
    RegistryEntry,
    RegistryMember,
    RegistryRun,
    StewardDecision,
)
from shuzhi.registry.settings import RegistrySettings, load_settings, parse_settings
from shuzhi.registry.sources import locate, read_records
from shuzhi.store import bulk
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

KINDS = {"person": "people", "enterprise": "enterprises", "generic": "generic"}
"""Settings kind → the registry's stored kind."""
MODES = ("full", "incremental")
STEPS = ("read", "normalise", "link", "assign", "golden", "store")
"""The steps of a build, in order: each is timed and reported to `progress`."""


# -- who may --------------------------------------------------------------------------------------


def _require_admin(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden(M_("only an admin (the big-data bureau) may register or build a base registry"))


def may_decide(principal: Principal, departments: list[set[int]]) -> bool:
    """An admin, or a steward whose department holds records of every entry concerned (`departments`:
    per entry, the departments owning its records)."""
    if principal.is_admin:
        return True
    return principal.has("steward") and all(principal.department_id in d for d in departments)


# -- registering ----------------------------------------------------------------------------------


def _settings_of(source: str | Path | dict) -> RegistrySettings:
    if isinstance(source, dict):
        return parse_settings(source)
    return load_settings(source)


def register(session: Session, principal: Principal, source: str | Path | dict) -> Registry:
    """Store a registry from its settings (a YAML file or a mapping), checked first; registering a
    name again replaces its settings but keeps its entries and ids (its kind cannot change)."""
    _require_admin(principal)
    conf = _settings_of(source)
    stored = conf.model_dump(mode="json", exclude_none=True)
    kind = KINDS[conf.kind]
    department_id = _stewarding_department(session, principal, conf)
    reg = session.scalar(select(Registry).where(Registry.name == conf.name))
    if reg is None:
        reg = Registry(
            name=conf.name,
            kind=kind,
            title_zh=conf.title_zh or conf.name,
            title_en=conf.title_en,
            department_id=department_id,
            settings=stored,
            id_prefix=identity.PREFIXES.get(kind, "R"),
            last_number=0,
        )
        session.add(reg)
    elif reg.kind != kind:
        raise Conflict(
            M_(
                "registry %(name)s is of kind %(kind)s: its kind cannot change",
                name=conf.name,
                kind=reg.kind,
            ),
            where="kind",
        )
    else:
        reg.settings, reg.title_zh, reg.title_en = (
            stored,
            conf.title_zh or reg.title_zh,
            conf.title_en or reg.title_en,
        )
        reg.department_id = department_id if conf.department else reg.department_id or department_id
    session.flush()
    digest = settings_digest(stored)
    ledger.append(
        session,
        events.Registered(
            registry=conf.name, kind=kind, sources=[s.dataset for s in conf.sources], sha256=digest
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return reg


def _stewarding_department(session: Session, principal: Principal, conf: RegistrySettings) -> int | None:
    """The department named by the settings (which must exist), else the registering admin's."""
    if conf.department is None:
        return principal.department_id
    found = session.scalar(select(Department.id).where(Department.code == conf.department))
    if found is None:
        raise InvalidInput(
            M_("registry %(name)s: no department %(code)s", name=conf.name, code=conf.department),
            where="department",
        )
    return found


def get_registry(session: Session, name: str) -> Registry:
    reg = session.scalar(select(Registry).where(Registry.name == name))
    if reg is None:
        raise NotFound(M_("no base registry %(name)s", name=name), where="registry")
    return reg


def overview(session: Session) -> list[dict]:
    """Every registry with its active entries, its last successful build and the dataset its golden
    table is published as (the registries' index)."""
    active = (
        select(RegistryEntry.registry_id, func.count().label("n"))
        .where(RegistryEntry.state == "active")
        .group_by(RegistryEntry.registry_id)
        .subquery()
    )
    built = (
        select(RegistryRun.registry_id, func.max(RegistryRun.finished_at).label("at"))
        .where(RegistryRun.state == "succeeded")
        .group_by(RegistryRun.registry_id)
        .subquery()
    )
    rows = session.execute(
        select(Registry, active.c.n, built.c.at)
        .outerjoin(active, active.c.registry_id == Registry.id)
        .outerjoin(built, built.c.registry_id == Registry.id)
        .order_by(Registry.name)
    )
    rows = rows.all()
    published = set(
        session.scalars(
            select(Dataset.identifier).where(
                Dataset.identifier.in_([f"registry-{r.name}" for r, _, _ in rows])
            )
        )
    )
    return [
        {
            "name": r.name,
            "kind": r.kind,
            "title_zh": r.title_zh,
            "title_en": r.title_en,
            "entries": n or 0,
            "built_at": at,
            "published": f"registry-{r.name}" if f"registry-{r.name}" in published else None,
        }
        for r, n, at in rows
    ]


def settings_of(reg: Registry) -> RegistrySettings:
    return parse_settings(reg.settings, reg.name)


# -- building: pure steps -------------------------------------------------------------------------


def digests(records: pa.Table, attributes: list[str]) -> pa.Array:
    """md5 (hex) of each record's mapped values as text, nulls marked: equal values, equal digest."""
    con = duckdb.connect()
    try:
        con.register("r", records.select(attributes))
        parts = ", ".join(f"coalesce(CAST({_q(a)} AS VARCHAR), '\\N')" for a in attributes)
        return con.sql(f"SELECT md5(concat_ws(chr(31), {parts})) AS d FROM r").to_arrow_table()["d"]
    finally:
        con.close()


def survivorship(conf: RegistrySettings) -> golden.Survivorship:
    """The golden-record rules: the kind's defaults for the mapped attributes, every other mapped
    attribute most frequent, the settings' strategies over them (most_trusted ranks the sources by
    their `trust` of the attribute, higher first)."""
    defaults = {"person": golden.PEOPLE, "enterprise": golden.ENTERPRISES}.get(conf.kind)
    mapped = sorted(conf.attributes())
    base = {r.attribute: r for r in (defaults.attributes if defaults else ()) if r.attribute in mapped}
    rules = []
    for attribute in mapped:
        rule = base.get(attribute) or golden.AttributeRule(attribute=attribute)
        strategy = conf.survivorship.get(attribute)
        if strategy and strategy != rule.strategy:
            trusted = sorted(
                (s for s in conf.sources if attribute in s.mapping),
                key=lambda s: -s.trust.get(attribute, 0),
            )
            rule = golden.AttributeRule(
                attribute=attribute,
                strategy=strategy,
                compare=rule.compare,
                conflict=rule.conflict,
                trusted=tuple(s.dataset for s in trusted) if strategy == "most_trusted" else (),
            )
        rules.append(rule)
    return golden.Survivorship(attributes=tuple(rules))


def incremental_clusters(
    conf: RegistrySettings,
    records: pa.Table,
    previous: pa.Table,
    linker: Callable = None,
    model: dict | None = None,
) -> tuple[pa.Table, int, dict | None]:
    """Clusters (record_key, cluster_id) of every record, linking only the delta against the existing
    entries (see the module's docstring); `previous`: entry_id, record_key, digest; `model`: the last
    run's trained model, if its settings are still current. Returns the clusters, how many records
    were linked, and the model they were scored with (None when nothing was linked)."""
    from shuzhi.registry.linkage import link

    linker = linker or link
    reuse = model is not None and conf.training.reuse and not any(rule.sql for rule in conf.blocking)
    con = duckdb.connect()
    try:
        con.register("cur", records.select(["record_key", "digest"]))
        con.register("prev", previous)
        con.execute(
            """CREATE TEMP TABLE stable AS SELECT c.record_key, p.entry_id FROM cur c
               JOIN prev p ON p.record_key = c.record_key AND p.digest = c.digest"""
        )
        delta = con.sql("SELECT record_key FROM cur ANTI JOIN stable USING (record_key)").fetchall()
        stable = dict(con.sql("SELECT record_key, entry_id FROM stable").fetchall())
        reps = {r[0] for r in con.sql("SELECT min(record_key) FROM stable GROUP BY entry_id").fetchall()}
    finally:
        con.close()
    delta_keys = {r[0] for r in delta}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    linked, used = 0, None
    if delta_keys:
        chosen = delta_keys | (set() if reuse else reps) | _candidates(conf, records, delta_keys, stable)
        subset = records.filter(pc.is_in(records["record_key"], pa.array(sorted(chosen), pa.string())))
        if subset.num_rows >= 2:
            linked = subset.num_rows
            linkage = linker(conf, subset, model, records) if reuse else linker(conf, subset)
            clusters, used = linkage.clusters, linkage.model
            groups: dict[object, list[str]] = {}
            for key, cid in zip(
                clusters["record_key"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True
            ):
                groups.setdefault(cid, []).append(key)
            for group in groups.values():
                if any(k in delta_keys for k in group):  # stable records alone were linked before
                    for key in group[1:]:
                        union(_label(group[0], stable), _label(key, stable))
    keys = records["record_key"].to_pylist()
    labels = [find(_label(k, stable)) for k in keys]
    return pa.table({"record_key": keys, "cluster_id": labels}), linked, used


def _label(key: str, stable: dict[str, str]) -> str:
    """A record's node: its previous entry when stable, else the record itself."""
    return ("e:" + stable[key]) if key in stable else ("d:" + key)


def _candidates(
    conf: RegistrySettings, records: pa.Table, delta: set[str], stable: dict[str, str]
) -> set[str]:
    """Stable records a delta record could link to: those holding a valid identifier value some delta
    record holds (whichever member of an entry carries it), and those equal to a delta record on every
    column of a column blocking rule (the pairs a full build would compare). SQL blocking rules are
    left to the representatives: evaluating them against every record is the cost being saved."""
    rules = [[(i.column, i.valid)] for i in conf.identifiers]
    rules += [[(c, None) for c in rule.columns] for rule in conf.blocking if rule.columns]
    con = duckdb.connect()
    try:
        needed = sorted({c for rule in rules for pair in rule for c in pair if c} | {"record_key"})
        con.register("r", records.select(needed))
        con.register("d", pa.table({"record_key": pa.array(sorted(delta), pa.string())}))
        con.execute("CREATE TEMP TABLE dr AS SELECT r.* FROM r SEMI JOIN d USING (record_key)")
        out: set[str] = set()
        for rule in rules:
            on = " AND ".join(f"a.{_q(c)} = b.{_q(c)}" for c, _ in rule)
            valid = " AND ".join(f"a.{_q(v)} AND b.{_q(v)}" for _, v in rule if v) or "true"
            sql = f"SELECT DISTINCT a.record_key FROM r a JOIN dr b ON {on} WHERE {valid}"
            out |= {k for (k,) in con.execute(sql).fetchall() if k in stable}
        return out
    finally:
        con.close()


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# -- building -------------------------------------------------------------------------------------


def build(
    db: Database,
    settings,
    principal: Principal,
    name: str,
    mode: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Build a registry from its sources' shared versions: `mode` full or incremental (by default the
    settings' `build`). Returns the run as `run_out` gives it. A build that fails is stored as a failed
    run (its error kept) and the error raised again."""
    _require_admin(principal)
    started = utcnow()
    with db.read() as s:
        reg = get_registry(s, name)
        conf = settings_of(reg)
        mode = mode or conf.build
        if mode not in MODES:
            raise InvalidInput(M_("a build is full or incremental, not %(mode)s", mode=mode), where="mode")
        state = _state(s, settings, reg, conf)
    try:
        made = _compute(conf, reg.id_prefix, mode, state, progress or (lambda step: None))
    except Exception as exc:
        _failed(db, state, mode, started, principal, exc)
        raise
    try:
        with db.write() as s:
            t0 = time.perf_counter()
            run, members, gold = _store(
                s, principal, _unchanged_since(s, name, state), mode, state, made, started
            )
            run.timings = {**run.timings, "store": round(time.perf_counter() - t0, 3)}
            out = run_out(run)
    except Exception as exc:
        _failed(db, state, mode, started, principal, exc)
        raise
    prepared.keep_all(state["cache"], made["records"], run.id, members, gold)
    if progress:
        progress("store")
    out["published"] = _publish_after(db, settings, principal, name, conf)
    return out


def _publish_after(
    db: Database, settings, principal: Principal, name: str, conf: RegistrySettings
) -> dict | None:
    """The golden table published as the next version of `registry-<name>` when the settings ask
    (the build itself is committed first: a refused publication leaves it, and says why)."""
    from shuzhi.errors import ShuzhiError
    from shuzhi.registry import publish

    if not conf.publish:
        return None
    try:
        report = publish.publish(db, settings, principal, name)
    except ShuzhiError as exc:
        return {"dataset": publish.dataset_identifier(name), "error": str(exc)}
    version = report.same_as if report.unchanged else report.version
    return {"dataset": report.dataset, "version": version, "unchanged": report.unchanged}


def _unchanged_since(session: Session, name: str, state: dict) -> Registry:
    """The registry, locked for this transaction, when no other build finished since `state` was read
    (its members and golden values are what this build's difference is taken from)."""
    reg = session.scalar(select(Registry).where(Registry.name == name).with_for_update())
    latest = last_run(session, reg)
    if (latest.id if latest else None) != state["last_run"]:
        raise Conflict(
            M_("another build of registry %(name)s finished while this one ran: build it again", name=name),
            where="registry",
        )
    return reg


def _failed(db: Database, state: dict, mode: str, started, principal: Principal, exc: Exception) -> None:
    with db.write() as s:
        s.add(
            RegistryRun(
                registry_id=state["registry_id"],
                mode=mode,
                state="failed",
                error=str(exc)[:2000],
                started_at=started,
                finished_at=utcnow(),
                started_by_id=principal.user_id,
            )
        )


def _state(session: Session, settings, reg: Registry, conf: RegistrySettings) -> dict:
    """What a build reads of the store: sources located, the last run's members and golden values (from
    the files it kept when they are there, `registry.prepared`), its model, decisions."""
    located = [(src, locate(session, settings, src)) for src in conf.sources]
    last = last_run(session, reg)
    kept = prepared.read_state(settings.data_dir, reg.id, last.id) if last else None
    previous, before = kept or _stored_state(session, reg)
    decided = session.scalars(
        select(StewardDecision).where(StewardDecision.registry_id == reg.id).order_by(StewardDecision.id)
    ).all()
    digest = settings_digest(reg.settings)
    model = last.model if last else None
    return {
        "registry_id": reg.id,
        "last_run": last.id if last else None,
        "settings_digest": digest,
        "cache": prepared.cache_file(settings.data_dir, reg.id, digest),
        "model": model["splink"] if model and model.get("settings") == digest else None,
        "issued": reg.last_number,
        "located": located,
        "previous": previous,
        "before": before,
        "decisions": [_decision(d) for d in decided if d.kind != "resolve"],
        "resolutions": [
            golden.Resolution(d.payload["entry"], d.payload["attribute"], d.payload["value"])
            for d in decided
            if d.kind == "resolve"
        ],
    }


def last_run(session: Session, reg: Registry):
    """The registry's last succeeded run as (id, model), or None: the state a build starts from."""
    return session.execute(
        select(RegistryRun.id, RegistryRun.model)
        .where(RegistryRun.registry_id == reg.id, RegistryRun.state == "succeeded")
        .order_by(RegistryRun.id.desc())
        .limit(1)
    ).first()


def _stored_state(session: Session, reg: Registry) -> tuple[pa.Table, pa.Table]:
    """The last run's members and golden values as the store holds them (without the versions)."""
    text = pa.string()
    previous = bulk.select_table(
        session,
        select(
            RegistryEntry.entry_key,
            RegistryMember.record_key,
            RegistryMember.digest,
            RegistryMember.dataset,
            RegistryMember.row,
        )
        .join(RegistryEntry, RegistryEntry.id == RegistryMember.entry_id)
        .where(RegistryMember.registry_id == reg.id),
        dict.fromkeys(prepared.MEMBER_COLUMNS, text),
    )
    before = bulk.select_table(
        session,
        select(
            RegistryEntry.entry_key,
            GoldenAttribute.attribute,
            GoldenAttribute.value,
            GoldenAttribute.value_norm,
            GoldenAttribute.dataset,
            GoldenAttribute.row,
            GoldenAttribute.record_key,
            GoldenAttribute.rule,
        )
        .join(RegistryEntry, RegistryEntry.id == GoldenAttribute.entry_id)
        .where(RegistryEntry.registry_id == reg.id),
        dict.fromkeys(prepared.GOLDEN_COLUMNS, text),
    )
    return previous, before


def settings_digest(raw: dict) -> str:
    """Which settings a model was trained under: a run's model is reused only while they are current."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _decision(d: StewardDecision) -> identity.Decision:
    if d.kind == "merge":
        return identity.Merge(d.payload["records"])
    return identity.Split(d.payload["records"], d.payload["apart_from"])


def _compute(conf: RegistrySettings, prefix: str, mode: str, state: dict, progress: Callable) -> dict:
    from shuzhi.registry.linkage import link

    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def done(step: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[step] = round(now - clock, 3)
        clock = now
        progress(step)

    con = duckdb.connect()
    try:
        parts = [read_records(located, src, con) for src, located in state["located"]]
    finally:
        con.close()
    records = pa.concat_tables(parts, promote_options="default")
    read = {located.dataset: t.num_rows for (_, located), t in zip(state["located"], parts, strict=True)}
    done("read")
    attributes = [a for a in sorted(conf.attributes()) if a in records.column_names]
    records = records.append_column("digest", digests(records, attributes))
    reused = state["cache"] if mode == "incremental" else None
    records, normalised = prepared.prepare_reusing(conf, records, reused)
    done("normalise")
    previous = state["previous"]
    if mode == "incremental" and previous.num_rows:
        clusters, linked, model = incremental_clusters(
            conf, records, previous.select(["entry_id", "record_key", "digest"]), link, state["model"]
        )
        model = model or state["model"]
    else:
        linkage = link(conf, records)
        clusters, linked, model = linkage.clusters, records.num_rows, linkage.model
    done("link")
    assignment = identity.assign(
        previous.select(["entry_id", "record_key"]),
        clusters,
        prefix=prefix,
        issued=state["issued"],
        decisions=state["decisions"],
    )
    done("assign")
    gold = golden.build(
        records.drop_columns(["digest"]), assignment.members, survivorship(conf), state["resolutions"]
    )
    report = assignment.report.with_changes(golden.changed_attributes(state["before"], gold.attributes))
    done("golden")
    counts = {
        **report.counts,
        "records": records.num_rows,
        "records_linked": linked,
        "records_normalised": normalised,
        "records_read": read,
        "entries": gold.entries.num_rows,
        "conflicts": len(
            {
                (r["entry_id"], r["attribute"])
                for r in gold.conflicts.select(["entry_id", "attribute"]).to_pylist()
            }
        ),
        "stale_resolutions": gold.stale.num_rows,
    }
    return {
        "records": records,
        "assignment": assignment,
        "golden": gold,
        "report": report,
        "counts": counts,
        "timings": timings,
        "model": model,
    }


def _store(
    session: Session, principal: Principal, reg: Registry, mode: str, state: dict, made: dict, started
) -> tuple[RegistryRun, pa.Table, pa.Table]:
    """Persist a computed build: the run, entries (new, kept, retired), members, golden attributes,
    conflicts, the last number issued, and the ledger entry; returns the run and the members and
    golden values now stored (as `prepared` keeps them). Members and golden values are written
    as a difference from the last run: only rows that changed are deleted and inserted, and the
    version of every kept row is moved to the version read of its dataset."""
    sources = {located.dataset: located.version for _, located in state["located"]}
    run = RegistryRun(
        registry_id=reg.id,
        mode=mode,
        state="succeeded",
        sources=sources,
        timings=made["timings"],
        counts=made["counts"],
        model={"settings": state["settings_digest"], "splink": made["model"]} if made["model"] else None,
        started_at=started,
        finished_at=utcnow(),
        started_by_id=principal.user_id,
    )
    session.add(run)
    session.flush()
    ids, every = _entries(session, reg, run, made["assignment"], made["report"])
    dataset_ids = {located.dataset: located.dataset_id for _, located in state["located"]}
    members = _members(session, reg, ids, made, state["previous"], sources, dataset_ids)
    gold = _golden(session, reg, run, ids, every, made["golden"], state["before"], sources)
    reg.last_number = made["assignment"].issued
    ledger.append(
        session,
        events.Built(registry=reg.name, run_id=run.id, mode=mode, counts=made["counts"], sources=sources),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return run, members, gold


def _entries(
    session: Session, reg: Registry, run: RegistryRun, assignment, report
) -> tuple[dict[str, int], dict[str, int]]:
    """Entry key → row id of every active entry after the run, and of every entry; retired ones
    marked with their reason."""
    table = RegistryEntry.__table__
    known = dict(
        session.execute(select(table.c.entry_key, table.c.state).where(table.c.registry_id == reg.id)).all()
    )
    active = set(pc.unique(assignment.members["entry_id"]).to_pylist())
    columns = ("registry_id", "entry_key", "state", "created_run_id")
    bulk.insert_rows(
        session, table, columns, ((reg.id, k, "active", run.id) for k in sorted(active - known.keys()))
    )
    into: dict[str, tuple[int, str]] = {}
    for r in report.merged.to_pylist():  # the entry that took most of its records
        best = into.get(r["from_entry"])
        if best is None or (r["records"], r["into_entry"]) > best:
            into[r["from_entry"]] = (r["records"], r["into_entry"])
    retired = [
        {
            "key": r["entry_id"],
            "reason": r["reason"],
            "into": into[r["entry_id"]][1] if r["entry_id"] in into else None,
        }
        for r in report.retired.to_pylist()
        if known.get(r["entry_id"]) == "active"
    ]
    if retired:
        session.execute(
            update(table)
            .where(table.c.registry_id == reg.id, table.c.entry_key == bindparam("key"))
            .values(
                state="retired",
                retired_reason=bindparam("reason"),
                merged_into=bindparam("into"),
                retired_run_id=run.id,
            ),
            retired,
        )
    every = dict(
        session.execute(select(table.c.entry_key, table.c.id).where(table.c.registry_id == reg.id)).all()
    )
    return {k: every[k] for k in active}, every


def _difference(new: pa.Table, old: pa.Table, same: str, old_key: str, new_columns: str) -> tuple[list, list]:
    """Rows of `old` with no identical row in `new` (their `old_key` columns) and rows of `new` with
    none in `old` (`new_columns`); `same` is the SQL condition on `n` and `o` that makes two rows identical."""
    con = duckdb.connect()
    try:
        con.register("n", new)
        con.register("o", old)
        gone = con.sql(f"SELECT {old_key} FROM o WHERE NOT EXISTS (SELECT 1 FROM n WHERE {same})").fetchall()
        fresh = con.sql(
            f"SELECT {new_columns} FROM n WHERE NOT EXISTS (SELECT 1 FROM o WHERE {same})"
        ).fetchall()
        return gone, fresh
    finally:
        con.close()


MEMBER_SAME = (
    "n.record_key = o.record_key AND n.entry_id = o.entry_id AND n.dataset = o.dataset AND n.row = o.row"
    " AND n.digest IS NOT DISTINCT FROM o.digest"
)


def _members(session, reg, ids, made: dict, previous: pa.Table, sources: dict, dataset_ids: dict) -> pa.Table:
    table = RegistryMember.__table__
    records, members = made["records"], made["assignment"].members
    entry_of = dict(zip(members["record_key"].to_pylist(), members["entry_id"].to_pylist(), strict=True))
    now = pa.table(
        {
            "record_key": records["record_key"],
            "entry_id": pa.array([entry_of[k] for k in records["record_key"].to_pylist()], pa.string()),
            "dataset": records["source_dataset"],
            "row": records["source_row"].cast(pa.string()),
            "digest": records["digest"],
        }
    )
    gone, fresh = _difference(now, previous, MEMBER_SAME, "o.record_key", "n.*")
    if len(gone) * 2 > max(previous.num_rows, 1):  # most rows changed: rewriting them all is quicker
        session.execute(delete(table).where(table.c.registry_id == reg.id))
        fresh = [tuple(r.values()) for r in now.to_pylist()]
    elif gone:
        session.execute(
            delete(table).where(table.c.registry_id == reg.id, table.c.record_key == bindparam("k")),
            [{"k": k} for (k,) in gone],
        )
    for dataset, version in sources.items():  # kept rows now come from the version read
        session.execute(
            update(table)
            .where(table.c.registry_id == reg.id, table.c.dataset == dataset, table.c.version != version)
            .values(version=version)
        )
    columns = ("registry_id", "entry_id", "record_key", "dataset", "dataset_id", "version", "row", "digest")
    bulk.insert_rows(
        session,
        table,
        columns,
        (
            (reg.id, ids[entry], key, dataset, dataset_ids.get(dataset), sources[dataset], row, digest)
            for key, entry, dataset, row, digest in fresh
        ),
    )
    return now


GOLDEN_SAME = (
    "n.entry_id = o.entry_id AND n.attribute = o.attribute AND n.value IS NOT DISTINCT FROM o.value"
    " AND n.value_norm IS NOT DISTINCT FROM o.value_norm AND n.dataset = o.dataset AND n.row = o.row"
    " AND n.record_key = o.record_key AND n.rule = o.rule"
)
CANDIDATE_KEYS = (
    "value",
    "value_norm",
    "source_dataset",
    "source_version",
    "source_row",
    "record_key",
    "chosen",
)


def _golden(
    session: Session,
    reg: Registry,
    run: RegistryRun,
    ids: dict[str, int],
    every: dict[str, int],
    gold: golden.Golden,
    before: pa.Table,
    sources: dict,
) -> pa.Table:
    table = GoldenAttribute.__table__
    attrs = gold.attributes.filter(pc.is_in(gold.attributes["entry_id"], pa.array(list(ids), pa.string())))
    text = pa.string()
    now = pa.table(
        {
            "entry_id": attrs["entry_id"],
            "attribute": attrs["attribute"],
            "value": attrs["value"].cast(text),
            "value_norm": attrs["value_norm"].cast(text),
            "dataset": attrs["source_dataset"],
            "row": attrs["source_row"].cast(text),
            "record_key": attrs["record_key"],
            "rule": attrs["rule"],
        }
    )
    gone, fresh = _difference(now, before, GOLDEN_SAME, "o.entry_id, o.attribute", "n.*")
    if gone:
        session.execute(
            delete(table).where(table.c.entry_id == bindparam("e"), table.c.attribute == bindparam("a")),
            [{"e": every[e], "a": a} for e, a in gone],
        )
    entries = select(RegistryEntry.id).where(RegistryEntry.registry_id == reg.id)
    for dataset, version in sources.items():
        session.execute(
            update(table)
            .where(table.c.dataset == dataset, table.c.version != version, table.c.entry_id.in_(entries))
            .values(version=version)
        )
    columns = (
        "entry_id",
        "attribute",
        "value",
        "value_norm",
        "dataset",
        "version",
        "row",
        "record_key",
        "rule",
    )
    bulk.insert_rows(
        session,
        table,
        (*columns, "run_id"),
        ((ids[e], a, v, vn, d, sources[d], row, k, rule, run.id) for e, a, v, vn, d, row, k, rule in fresh),
    )
    _conflicts(session, reg, run, ids, gold)
    return now


def _conflicts(
    session: Session, reg: Registry, run: RegistryRun, ids: dict[str, int], gold: golden.Golden
) -> None:
    table = RegistryConflict.__table__
    session.execute(delete(table).where(table.c.registry_id == reg.id))
    grouped: dict[tuple[str, str], list] = {}
    for c in gold.conflicts.to_pylist():
        row = grouped.setdefault(
            (c["entry_id"], c["attribute"]),
            [reg.id, ids[c["entry_id"]], c["attribute"], c["state"], [], run.id],
        )
        row[4].append({k: c[k] for k in CANDIDATE_KEYS})
    bulk.insert_rows(
        session,
        table,
        ("registry_id", "entry_id", "attribute", "state", "candidates", "run_id"),
        grouped.values(),
    )


# -- steward decisions ----------------------------------------------------------------------------


def _entry_row(session: Session, reg: Registry, entry_id: str) -> RegistryEntry:
    row = session.scalar(
        select(RegistryEntry).where(RegistryEntry.registry_id == reg.id, RegistryEntry.entry_key == entry_id)
    )
    if row is None:
        raise NotFound(
            M_("registry %(name)s has no entry %(entry)s", name=reg.name, entry=entry_id), where="entry"
        )
    if row.state != "active":
        raise Conflict(
            M_(
                "entry %(entry)s is retired (%(reason)s)",
                entry=entry_id,
                reason=row.merged_into or row.retired_reason,
            ),
            where="entry",
        )
    return row


def _record_keys(session: Session, entry: RegistryEntry) -> list[str]:
    return list(
        session.scalars(
            select(RegistryMember.record_key)
            .where(RegistryMember.entry_id == entry.id)
            .order_by(RegistryMember.record_key)
        )
    )


def _departments(session: Session, entry: RegistryEntry) -> set[int]:
    return set(
        session.scalars(
            select(Dataset.department_id)
            .join(RegistryMember, RegistryMember.dataset_id == Dataset.id)
            .where(RegistryMember.entry_id == entry.id)
        )
    )


def _decide(
    session: Session,
    principal: Principal,
    reg: Registry,
    entries: list[RegistryEntry],
    kind: str,
    payload: dict,
    reason: str,
) -> StewardDecision:
    if not may_decide(principal, [_departments(session, e) for e in entries]):
        raise Forbidden(
            M_("only an admin or a steward of a department whose records are in the entry may decide on it"),
            where="entry",
        )
    reason = (limits.check(reason, limits.REASON, "reason") or "").strip()
    if not reason:
        raise InvalidInput(M_("a steward decision needs a reason"), where="reason")
    row = StewardDecision(
        registry_id=reg.id, kind=kind, payload=payload, reason=reason, decided_by_id=principal.user_id
    )
    session.add(row)
    session.flush()
    ledger.append(
        session,
        events.Decided(
            registry=reg.name,
            decision_id=row.id,
            kind=kind,
            entries=[e.entry_key for e in entries],
            attribute=payload.get("attribute"),
            value=payload.get("value"),
            records=list(payload.get("records", [])),
            reason=reason,
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return row


def resolve(
    session: Session, principal: Principal, name: str, entry_id: str, attribute: str, value: str, reason: str
) -> StewardDecision:
    """Choose the value of an entry's attribute (one of its sources' values); applied from the next build
    on, as long as a source still holds that value."""
    reg = get_registry(session, name)
    entry = _entry_row(session, reg, entry_id)
    known = {r.attribute for r in survivorship(settings_of(reg)).attributes}
    if attribute not in known:
        raise InvalidInput(
            M_("registry %(name)s has no attribute %(attribute)s", name=name, attribute=attribute),
            where="attribute",
            hint=M_("its attributes: %(attributes)s", attributes="、".join(sorted(known))),
        )
    value = (value or "").strip()
    if not value:
        raise InvalidInput(M_("a resolution needs a value"), where="value")
    return _decide(
        session,
        principal,
        reg,
        [entry],
        "resolve",
        {"entry": entry_id, "attribute": attribute, "value": value},
        reason,
    )


def split(
    session: Session, principal: Principal, name: str, entry_id: str, record_keys: list[str], reason: str
) -> StewardDecision:
    """Take `record_keys` out of an entry: from the next build on they never share an entry with its
    other records (they stay together)."""
    reg = get_registry(session, name)
    entry = _entry_row(session, reg, entry_id)
    members = _record_keys(session, entry)
    moving = sorted(set(record_keys or ()))
    strangers = [k for k in moving if k not in members]
    if not moving or strangers:
        raise InvalidInput(
            M_(
                "entry %(entry)s holds no record %(records)s",
                entry=entry_id,
                records="、".join(strangers) or "-",
            ),
            where="records",
        )
    rest = [k for k in members if k not in moving]
    if not rest:
        raise InvalidInput(
            M_("a split must leave some records of entry %(entry)s where they are", entry=entry_id),
            where="records",
        )
    return _decide(
        session,
        principal,
        reg,
        [entry],
        "split",
        {"entry": entry_id, "records": moving, "apart_from": rest},
        reason,
    )


def merge(
    session: Session, principal: Principal, name: str, entry_ids: list[str], reason: str
) -> StewardDecision:
    """Make several entries one: from the next build on their records share an entry."""
    reg = get_registry(session, name)
    wanted = list(dict.fromkeys(entry_ids or ()))
    if len(wanted) < 2:
        raise InvalidInput(M_("a merge needs two entries or more"), where="entries")
    entries = [_entry_row(session, reg, e) for e in wanted]
    records = [k for e in entries for k in _record_keys(session, e)]
    return _decide(session, principal, reg, entries, "merge", {"entries": wanted, "records": records}, reason)


# -- reading --------------------------------------------------------------------------------------


def run_out(run: RegistryRun) -> dict:
    return {
        "id": run.id,
        "mode": run.mode,
        "state": run.state,
        "sources": run.sources,
        "timings": run.timings,
        "counts": run.counts,
        "error": run.error,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def status(session: Session, name: str, runs: int = 5, conflicts: int = 100) -> dict:
    """A registry's last runs, its entries (active, retired), how many conflicts are open (or reopened)
    and the first `conflicts` of them by entry id."""
    reg = get_registry(session, name)
    last = session.scalars(
        select(RegistryRun)
        .where(RegistryRun.registry_id == reg.id)
        .order_by(RegistryRun.id.desc())
        .limit(runs)
    ).all()
    by_state = dict(
        session.execute(
            select(RegistryEntry.state, func.count())
            .where(RegistryEntry.registry_id == reg.id)
            .group_by(RegistryEntry.state)
        ).all()
    )
    is_open = (RegistryConflict.registry_id == reg.id, RegistryConflict.state.in_(("open", "reopened")))
    open_ = session.execute(
        select(RegistryEntry.entry_key, RegistryConflict.attribute)
        .join(RegistryEntry, RegistryEntry.id == RegistryConflict.entry_id)
        .where(*is_open)
        .order_by(RegistryEntry.entry_key, RegistryConflict.attribute)
        .limit(conflicts)
    ).all()
    conf = reg.settings
    return {
        "name": reg.name,
        "kind": reg.kind,
        "build": conf.get("build", "full"),
        "sources": [s["dataset"] for s in conf.get("sources", [])],
        "entries": {"active": by_state.get("active", 0), "retired": by_state.get("retired", 0)},
        "runs": [run_out(r) for r in last],
        "open_conflict_count": session.scalar(
            select(func.count()).select_from(RegistryConflict).where(*is_open)
        ),
        "open_conflicts": [{"entry_id": e, "attribute": a} for e, a in open_],
    }


def decidable_entry(
    session: Session, principal: Principal, name: str, entry_id: str, *, active: bool = False
) -> RegistryEntry:
    """The entry, when `principal` may decide on it (an admin, a steward of a department whose records
    are in it); else NotFound, as for an unknown entry: ids are sequential, a refusal must not confirm
    that one exists. `active`: a retired entry is unknown too."""
    query = (
        select(RegistryEntry)
        .join(Registry, Registry.id == RegistryEntry.registry_id)
        .where(Registry.name == name, RegistryEntry.entry_key == entry_id)
    )
    row = session.scalar(query.where(RegistryEntry.state == "active") if active else query)
    if row is None or not may_decide(principal, [_departments(session, row)]):
        raise NotFound(
            M_("registry %(name)s has no entry %(entry)s", name=name, entry=entry_id), where="entry"
        )
    return row


def read_entry(session: Session, principal: Principal, name: str, entry_id: str) -> dict:
    """`entry` for a reader: only those who may decide on it (an admin, a steward of a department whose
    records are in it) read an entry as stored, its values unmasked; in the ledger. Anyone else reads a
    profile (`profiles.read_profile`), under their grants."""
    decidable_entry(session, principal, name, entry_id)
    out = entry(session, name, entry_id)
    ledger.append(
        session,
        events.EntryRead(registry=name, entry=entry_id),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return out


def entry(session: Session, name: str, entry_id: str) -> dict:
    """One entry: its state, golden attributes with provenance, member records, conflicts, decisions.
    Unchecked and unaudited: a face calls `read_entry`."""
    reg = get_registry(session, name)
    row = session.scalar(
        select(RegistryEntry).where(RegistryEntry.registry_id == reg.id, RegistryEntry.entry_key == entry_id)
    )
    if row is None:
        raise NotFound(
            M_("registry %(name)s has no entry %(entry)s", name=name, entry=entry_id), where="entry"
        )
    attrs = session.scalars(
        select(GoldenAttribute).where(GoldenAttribute.entry_id == row.id).order_by(GoldenAttribute.id)
    )
    members = session.scalars(
        select(RegistryMember).where(RegistryMember.entry_id == row.id).order_by(RegistryMember.record_key)
    )
    conflicts = session.scalars(
        select(RegistryConflict)
        .where(RegistryConflict.entry_id == row.id)
        .order_by(RegistryConflict.attribute)
    )
    decisions = [
        d
        for d in session.scalars(
            select(StewardDecision).where(StewardDecision.registry_id == reg.id).order_by(StewardDecision.id)
        )
        if entry_id == d.payload.get("entry") or entry_id in d.payload.get("entries", ())
    ]
    return {
        "entry_id": row.entry_key,
        "state": row.state,
        "retired_reason": row.retired_reason,
        "merged_into": row.merged_into,
        "attributes": [
            {
                "attribute": a.attribute,
                "value": a.value,
                "dataset": a.dataset,
                "version": a.version,
                "row": a.row,
                "record_key": a.record_key,
                "rule": a.rule,
            }
            for a in attrs
        ],  # fmt: skip
        "members": [
            {"record_key": m.record_key, "dataset": m.dataset, "version": m.version, "row": m.row}
            for m in members
        ],
        "conflicts": [
            {"attribute": c.attribute, "state": c.state, "candidates": c.candidates} for c in conflicts
        ],
        "decisions": [
            {"id": d.id, "kind": d.kind, "payload": d.payload, "reason": d.reason} for d in decisions
        ],
    }
