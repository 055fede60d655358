"""Data quality services: saving a dataset's rules, running them on a version, reading results.

Who may do what: a steward of the owning department (or an admin) saves rules and runs them;
anyone signed in reads rule sets, runs, counts and scores; the failing-row samples (masked per the
fields' grades) only the owning department's members and admins read, and each such read is in the
ledger. A rule set's values of fields graded L3 or above (bounds, enumerations, patterns) are shown
as proposals' are (`read_rules`, `shuzhi.quality.masking`). Session services never commit; `run` owns its transactions (a scan runs outside any).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog import vocab
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_dataset, get_version, next_update, require_manage
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.quality import engine, events, ruleset, scores
from shuzhi.quality.holds import latest_run, version_hold  # noqa: F401 (part of the service)
from shuzhi.quality.kinds import Context, ReferencesKind, RuleKind, VersionFacts, family, rule_kinds
from shuzhi.quality.models import BlockOverride, QualityRun, RuleResult, RuleSetRevision
from shuzhi.quality.ruleset import Rule, RuleSet
from shuzhi.storage import StagingArea
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

log = logging.getLogger(__name__)

SHARED_REFERENCE = "unconditional"
"""The share type of another department's dataset a referential rule may read (its keys only)."""


# -- rule sets ------------------------------------------------------------------------------------


def vocabulary(name: str) -> list[str] | None:
    """Allowed values of a catalog vocabulary: its codes and its Chinese labels."""
    terms = vocab.shipped().get(name)
    if terms is None:
        return None
    return list(dict.fromkeys([t["code"] for t in terms] + [t["zh"] for t in terms]))


def dataset_context(ds: Dataset) -> Context:
    return Context(columns={f.name: family(f.type) for f in ds.fields}, vocabulary=vocabulary)


def _reference(session: Session, owner: Dataset, rule: Rule) -> Dataset:
    """The dataset a referential rule reads: it must exist, have the field, and be the owner's own
    or shared unconditionally (its keys are read for the check; none is shown)."""
    p = rule.params
    try:
        ref = get_dataset(session, p.dataset)
    except NotFound:
        raise _refused(rule, M_("no dataset %(ref)s", ref=p.dataset)) from None
    if ref.department_id != owner.department_id and ref.share_type != SHARED_REFERENCE:
        raise _refused(
            rule, M_("dataset %(ref)s is another department's and not shared unconditionally", ref=p.dataset)
        )
    if p.ref_field not in ref.field_names():
        raise _refused(rule, M_("dataset %(ref)s has no field %(field)s", ref=p.dataset, field=p.ref_field))
    return ref


def _refused(rule: Rule, problem) -> InvalidInput:
    label = f"#{rule.position + 1} ({rule.name})"
    return InvalidInput(
        M_("rule %(rule)s: %(problem)s", rule=label, problem=problem), where=f"rules[{rule.position}]"
    )


def save_rules(session: Session, principal: Principal, ref: str | int, raw) -> RuleSetRevision:
    """Check a rule set against the dataset's fields and the registered kinds; save it as the next revision."""
    ds = get_dataset(session, ref)
    require_manage(principal, ds)
    parsed = ruleset.parse(raw, rule_kinds(), dataset_context(ds))
    for rule in parsed.rules:
        if isinstance(rule.kind, ReferencesKind):
            _reference(session, ds, rule)
    body = parsed.as_dict()
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    last = session.scalar(
        select(func.max(RuleSetRevision.revision)).where(RuleSetRevision.dataset_id == ds.id)
    )
    row = RuleSetRevision(
        dataset_id=ds.id, revision=(last or 0) + 1, body=body, sha256=digest, created_by_id=principal.user_id
    )
    session.add(row)
    session.flush()
    ledger.append(
        session,
        events.RulesSaved(
            revision=row.revision,
            sha256=digest,
            rules=len(parsed.rules),
            kinds=sorted({r.kind.name for r in parsed.rules}),
            blocking=[r.name for r in parsed.rules if r.blocking],
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    return row


def current_rules(session: Session, ds: Dataset) -> RuleSetRevision | None:
    return session.scalar(
        select(RuleSetRevision)
        .where(RuleSetRevision.dataset_id == ds.id)
        .order_by(RuleSetRevision.revision.desc())
        .limit(1)
    )


def rules_out(ds: Dataset, row: RuleSetRevision | None) -> dict:
    if row is None:
        return {
            "dataset": ds.identifier,
            "revision": None,
            "rules": [],
            "sample_size": ruleset.DEFAULT_SAMPLE,
        }
    return {
        "dataset": ds.identifier,
        "revision": row.revision,
        "sha256": row.sha256,
        "saved_at": row.created_at.isoformat(),
        **row.body,
    }


def read_rules(db: Database, settings, principal: Principal, ref: str | int) -> dict:
    """The rule set in force as `principal` may see it: values of sensitive fields masked (and the
    rule flagged `values_masked`) unless the reader is of the owning department or an admin, whose
    being shown them is written to the ledger (`quality.rule_values_read`) before the answer leaves."""
    from shuzhi.quality.masking import viewer

    with db.read() as s:
        ds = get_dataset(s, ref)
        row = current_rules(s, ds)
        out = rules_out(ds, row)
        shown = viewer(s, settings, principal, ds)
        out["rules"] = shown_rules(out["rules"], shown)
        dataset_id = ds.id
    if shown.revealed:
        with db.write() as s:
            ledger.append(
                s,
                events.RuleValuesRead(revision=row.revision, fields=sorted(shown.revealed)),
                user_id=principal.user_id,
                department_id=principal.department_id,
                dataset_id=dataset_id,
            )
    return out


def shown_rules(rules: list[dict], shown) -> list[dict]:
    """Each rule as `shown` (a `masking.Shown`) lets its reader see it, flagged `values_masked`."""
    kinds = rule_kinds()
    out = []
    for r in rules:
        rule, masked = shown.rule(r, kinds)
        out.append({**rule, "values_masked": masked})
    return out


def restore(body: dict, kinds: dict[str, RuleKind]) -> tuple[RuleSet, dict[int, str]]:
    """A saved rule set as rules again. The columns are the version's, checked when it runs; a rule
    whose kind is no longer registered (a plugin removed) is reported, not run."""
    rules, errors = [], {}
    for i, item in enumerate(body["rules"]):
        kind = kinds.get(item["kind"])
        if kind is None:
            errors[i] = f"unknown kind: {item['kind']}"
            continue
        try:
            params = kind.params.model_validate({k: v for k, v in item.items() if k not in ruleset.COMMON})
        except ValidationError:  # a plugin changed its kind's parameters since the set was saved
            errors[i] = f"parameters no longer valid for kind {item['kind']}"
            continue
        rules.append(
            Rule(
                i,
                item["name"],
                kind,
                params,
                item["blocking"],
                item["weight"],
                item["dimension"],
                item.get("description"),
            )
        )
    return RuleSet(tuple(rules), body.get("sample_size", ruleset.DEFAULT_SAMPLE)), errors


# -- running --------------------------------------------------------------------------------------


@dataclass
class Plan:
    """All a run needs from the store, read in one short read transaction."""

    dataset_id: int
    department_id: int
    version_id: int
    version_number: int
    path: object
    revision_id: int
    revision: int
    body: dict
    facts: VersionFacts
    as_of: dt.date
    references: dict[int, tuple[object, str, str, int]]
    """Position of a referential rule → (file, ref field, dataset identifier, version number)."""
    grades: dict[str, str]
    levels: list[str]
    staging: Callable[[], StagingArea] | None = None
    """A private work area of the version store (`store.staging`), where the run's DuckDBs spill what
    does not fit in memory; a temporary directory of the system's when None."""


def plan_run(session: Session, settings, principal: Principal, ref: str | int, number: int | None) -> Plan:
    from shuzhi.classify.scanning import require_intact

    ds = get_dataset(session, ref)
    require_manage(principal, ds)
    version = get_version(session, ds, number)
    require_intact(settings, version)
    rules = current_rules(session, ds)
    if rules is None:
        raise NotFound(
            M_("dataset %(identifier)s has no quality rules", identifier=ds.identifier), where="rules"
        )
    return _plan(session, settings, ds, version, rules)


def _plan(session: Session, settings, ds: Dataset, version: DatasetVersion, rules: RuleSetRevision) -> Plan:
    from shuzhi.classify.readmodel import column_grades
    from shuzhi.classify.rules import load_rules
    from shuzhi.storage import version_store

    store = version_store(settings)
    previous = session.scalar(
        select(DatasetVersion.created_at)
        .where(DatasetVersion.dataset_id == ds.id, DatasetVersion.number < version.number)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    )
    facts = VersionFacts(
        frequency=ds.update_frequency,
        arrived=version.created_at,
        previous=previous,
        due=next_update(ds.update_frequency, previous),
    )
    references = {}
    for i, item in enumerate(rules.body["rules"]):
        if item["kind"] == ReferencesKind.name:
            references[i] = _reference_version(session, settings, ds, item, store)
    return Plan(
        dataset_id=ds.id,
        department_id=ds.department_id,
        version_id=version.id,
        version_number=version.number,
        path=store.path(version.path),
        revision_id=rules.id,
        revision=rules.revision,
        body=rules.body,
        facts=facts,
        as_of=version.created_at.date(),
        references=references,
        grades=column_grades(session, settings, ds),
        levels=[lv["code"] for lv in load_rules(settings).levels],
        staging=store.staging,
    )


def _reference_version(session: Session, settings, owner: Dataset, item: dict, store) -> tuple | None:
    from shuzhi.classify.scanning import require_intact

    try:
        ref = get_dataset(session, item["dataset"])
    except NotFound:
        return None
    if ref.department_id != owner.department_id and ref.share_type != SHARED_REFERENCE:
        return None  # no longer shared: the rule reports an error rather than read it
    try:
        v = get_version(session, ref)
    except NotFound:
        return None
    require_intact(settings, v)
    return store.path(v.path), item["ref_field"], ref.identifier, v.number


def execute(plan: Plan) -> engine.Execution:
    """Run the plan's rules on its version in DuckDB (no store transaction held)."""
    # Spilled rows are the version's data: in a private area (removed afterwards, swept with the
    # store's staging areas if the process dies), never DuckDB's default `.tmp` in the working directory.
    with contextlib.ExitStack() as stack:
        if plan.staging is not None:
            spill = Path(stack.enter_context(plan.staging()).dir)
        else:
            spill = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shuzhi-quality-")))
        return _execute(plan, spill)


def _execute(plan: Plan, spill: Path) -> engine.Execution:
    rs, errors = restore(plan.body, rule_kinds())
    # One connection reads the columns, then runs the rules (the run closes it).
    con = engine.connect({"temp_directory": str(spill / "main")})
    try:
        columns = {n: family(t) for n, t in engine.describe(con, plan.path).items()}
        references = {}
        for pos, found in plan.references.items():
            if found is None:
                errors[pos] = "referenced dataset unavailable"
                continue
            path, field, _, _ = found
            if field not in engine.describe(con, path):
                errors[pos] = f"referenced field missing: {field}"
                continue
            references[pos] = engine.reference_source(path, field)
    except BaseException:
        con.close()
        raise
    runnable = RuleSet(tuple(r for r in rs.rules if r.position not in errors), rs.sample_size)
    ctx = Context(columns=columns, as_of=plan.as_of, vocabulary=vocabulary, references=references)
    done = engine.Runner(runnable, plan.path, ctx, plan.facts, con, spill).run()
    by_position = {o.rule.position: o for o in done.outcomes}
    for r in rs.rules:
        if r.position in errors:
            by_position[r.position] = engine.Outcome(r, error=errors[r.position])
    for pos, message in errors.items():
        if pos not in by_position:  # unknown kind: no Rule to hang it on
            item = plan.body["rules"][pos]
            by_position[pos] = _orphan(pos, item, message)
    done.outcomes = [by_position[p] for p in sorted(by_position)]
    return done


def _orphan(position: int, item: dict, message: str) -> engine.Outcome:
    class Missing(RuleKind):
        name, dimension = item["kind"], item["dimension"]

    rule = Rule(
        position,
        item["name"],
        Missing(),
        ruleset.Params(),
        item["blocking"],
        item["weight"],
        item["dimension"],
    )
    return engine.Outcome(rule, error=message)


def mask_value(value, level: str | None, levels: list[str]):
    """A sample value as its field's grade allows it stored: L1–L2 as is; L3 in shape only
    (`classify.engine.mask`); L4, a level the rules no longer know, or a field never graded: ***."""
    from shuzhi.classify.engine import mask

    if value is None:
        return None
    rank = levels.index(level) if level in levels else len(levels)
    clear_below = levels.index("L3") if "L3" in levels else len(levels)
    shape_below = levels.index("L4") if "L4" in levels else len(levels)
    if level is not None and rank < clear_below:
        plain = isinstance(value, int | str | bool) or (isinstance(value, float) and math.isfinite(value))
        return value if plain else str(value)  # dates, decimals, NaN: JSON holds them as text
    if level is not None and rank < shape_below:
        return mask(str(value))
    return "***"


def masked_sample(sample: list[dict], grades: dict[str, str], levels: list[str]) -> list[dict]:
    return [
        {"row": s["row"], "values": {f: mask_value(v, grades.get(f), levels) for f, v in s["values"].items()}}
        for s in sample
    ]


@dataclass(frozen=True)
class Actor:
    """Who a run is recorded as: the steward who asked, or whoever loaded the version it checked."""

    user_id: int | None
    department_id: int | None


def record_run(
    session: Session, principal: Principal | Actor, plan: Plan, done: engine.Execution, started
) -> QualityRun:
    """Store a run's results and scores and its ledger entry (the caller's write transaction)."""
    parts = [
        scores.Scored(
            o.rule.dimension,
            o.rule.weight,
            scores.rule_score(o.checked, o.failed) if o.error is None else None,
            o.failed,
            o.rule.blocking,
        )
        for o in done.outcomes
    ]
    dims = scores.dimension_scores(parts)
    run = QualityRun(
        dataset_id=plan.dataset_id,
        version_id=plan.version_id,
        version_number=plan.version_number,
        rule_set_id=plan.revision_id,
        revision=plan.revision,
        rows=done.rows,
        score=scores.version_score(dims),
        dimensions=dims,
        blocked=scores.blocked(parts),
        started_at=started,
        finished_at=utcnow(),
        created_by_id=principal.user_id,
    )
    session.add(run)
    session.flush()
    for o, part in zip(done.outcomes, parts, strict=True):
        session.add(
            RuleResult(
                run_id=run.id,
                position=o.rule.position,
                name=o.rule.name,
                kind=o.rule.kind.name,
                dimension=o.rule.dimension,
                weight=o.rule.weight,
                blocking=o.rule.blocking,
                rows_checked=o.checked,
                rows_failed=o.failed,
                score=part.score,
                sample=masked_sample(o.sample, plan.grades, plan.levels),
                detail=o.detail,
                error=o.error,
            )
        )
    ledger.append(
        session,
        events.RunCompleted(
            run_id=run.id,
            version=plan.version_number,
            revision=plan.revision,
            rows=done.rows,
            score=run.score,
            dimensions=dims,
            failed_rules=[o.rule.name for o in done.outcomes if o.failed],
            blocked=run.blocked,
            references=[
                {"dataset": found[2], "version": found[3]}
                for found in plan.references.values()
                if found is not None
            ],
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=plan.dataset_id,
    )
    return run


def run(db: Database, settings, principal: Principal, ref: str | int, number: int | None = None) -> int:
    """Run the dataset's rules on a version (the newest by default); returns the run's id."""
    started = utcnow()
    with db.read() as s:
        plan = plan_run(s, settings, principal, ref, number)
    done = execute(plan)
    with db.write() as s:
        made = record_run(s, principal, plan, done, started)
        _watch(s, settings, made)
        return made.id


def _watch(session: Session, settings, made: QualityRun) -> None:
    from shuzhi.quality import watch

    watch.after_run(session, settings, made)


def run_on_ingest(session: Session, settings, version: DatasetVersion) -> QualityRun | None:
    """Run the dataset's rules on a version just loaded and graded, in the loading transaction, so
    its verdict is committed with it. No rule set: nothing to do. A run that fails (a damaged
    referenced file, an engine error) is logged and leaves no run: the version then counts as held
    while its dataset has blocking rules (`holds.version_hold`), until a steward runs them."""
    ds = version.dataset or session.get(Dataset, version.dataset_id)
    rules = current_rules(session, ds)
    if rules is None:
        return None
    started = utcnow()
    try:
        plan = _plan(session, settings, ds, version, rules)
        done = execute(plan)
    except Exception:  # the load itself must not fail over its check: the hold covers the gap
        log.warning("quality run of %s version %s failed", ds.identifier, version.number, exc_info=True)
        return None
    return record_run(session, Actor(version.created_by_id, ds.department_id), plan, done, started)


# -- reading results ------------------------------------------------------------------------------


def can_see_samples(principal: Principal, ds: Dataset) -> bool:
    return principal.is_admin or (
        principal.department_id is not None and principal.department_id == ds.department_id
    )


def get_run(session: Session, run_id: int) -> QualityRun:
    found = session.get(QualityRun, run_id)
    if found is None:
        raise NotFound(M_("No quality run %(id)s", id=run_id), where="run")
    return found


def runs_of(session: Session, ds: Dataset, limit: int = 100) -> list[QualityRun]:
    return list(
        session.scalars(
            select(QualityRun)
            .where(QualityRun.dataset_id == ds.id)
            .order_by(QualityRun.id.desc())
            .limit(limit)
        )
    )


def history(session: Session, ds: Dataset) -> list[QualityRun]:
    """The newest run of each version, oldest version first: the scores over versions."""
    newest = (
        select(func.max(QualityRun.id)).where(QualityRun.dataset_id == ds.id).group_by(QualityRun.version_id)
    )
    return list(
        session.scalars(
            select(QualityRun).where(QualityRun.id.in_(newest)).order_by(QualityRun.version_number)
        )
    )


def run_out(session: Session, r: QualityRun, *, results: bool = False, samples: bool = False) -> dict:
    out = {
        "id": r.id,
        "version": r.version_number,
        "revision": r.revision,
        "rows": r.rows,
        "score": r.score,
        "dimensions": r.dimensions,
        "blocked": r.blocked,
        "started_at": r.started_at.isoformat(),
        "finished_at": r.finished_at.isoformat(),
    }
    if results:
        rows = session.scalars(
            select(RuleResult).where(RuleResult.run_id == r.id).order_by(RuleResult.position)
        )
        out["results"] = [_result_out(x, samples) for x in rows]
    return out


def _result_out(x: RuleResult, samples: bool) -> dict:
    out = {
        "position": x.position,
        "name": x.name,
        "kind": x.kind,
        "dimension": x.dimension,
        "weight": x.weight,
        "blocking": x.blocking,
        "rows_checked": x.rows_checked,
        "rows_failed": x.rows_failed,
        "score": x.score,
        "detail": x.detail,
        "error": x.error,
    }
    if samples:
        out["sample"] = x.sample
    return out


def read_run(session: Session, principal: Principal, run_id: int, *, samples: bool = False) -> dict:
    """A run with its per-rule results; with the masked failing rows only for the owning department
    and admins (refused to others), the read written to the ledger (the caller's transaction)."""
    r = get_run(session, run_id)
    ds = session.get(Dataset, r.dataset_id)
    if samples and not can_see_samples(principal, ds):
        raise Forbidden(M_("Only the owning department and admins see the failing rows"), where="samples")
    out = run_out(session, r, results=True, samples=samples)
    out["dataset"] = ds.identifier
    if samples:
        ledger.append(
            session,
            events.SamplesRead(
                run_id=r.id,
                version=r.version_number,
                rules=[x["name"] for x in out["results"] if x["sample"]],
            ),
            user_id=principal.user_id,
            department_id=principal.department_id,
            dataset_id=ds.id,
        )
    return out


# -- blocking -------------------------------------------------------------------------------------


def override_block(
    session: Session, principal: Principal, ref: str | int, number: int | None, reason: str
) -> BlockOverride:
    """Let a blocked version be shared and published (a steward of the owning department or an
    admin), with a reason; in the ledger."""
    ds = get_dataset(session, ref)
    require_manage(principal, ds)
    reason = (limits.check(reason, limits.REASON, "reason") or "").strip()
    if not reason:
        raise InvalidInput(M_("An override needs a reason"), where="reason")
    version = get_version(session, ds, number)
    hold = version_hold(session, version.id)
    if hold is None:
        raise Conflict(M_("Version %(number)s is not held back by a quality rule", number=version.number))
    if hold["pending"]:  # nothing to override yet: the verdict is the run's
        raise Conflict(
            M_(
                "Version %(number)s has not been checked yet: run its quality rules first",
                number=version.number,
            )
        )
    row = BlockOverride(
        run_id=hold["run_id"],
        dataset_id=ds.id,
        version_id=version.id,
        reason=reason,
        created_by_id=principal.user_id,
    )
    session.add(row)
    session.flush()
    ledger.append(
        session,
        events.BlockOverridden(
            run_id=hold["run_id"], version=version.number, rules=hold["rules"], reason=reason
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    return row
