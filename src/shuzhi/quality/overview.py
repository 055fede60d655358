"""What a dataset's page shows of its quality: the rules in force, the newest scores, the scores over
versions, each rule's result (failing ones first) and each version's hold, read through the services."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import can_manage
from shuzhi.orgs.service import Principal
from shuzhi.quality import masking, service
from shuzhi.quality.models import BlockOverride
from shuzhi.store.db import Database

HOLD_VERSIONS = 10
"""How many of the newest versions the page lists with their hold status."""


@dataclass
class Overview:
    rules: dict | None
    """The rule set in force (`service.rules_out`), None when the dataset has none. The page shows
    no rule's parameters, so their values of sensitive fields are masked here as for a reader outside
    the department, whoever reads: opening the page shows no value and writes no ledger entry."""
    run: dict | None = None
    """The newest run of the newest version that has one, with its per-rule results."""
    history: list[dict] = field(default_factory=list)
    versions: list[dict] = field(default_factory=list)
    """The newest versions, newest first: number, status (held, pending, overridden, passed,
    unchecked), the hold's rules, the override's reason."""
    can_manage: bool = False
    can_see_samples: bool = False
    samples_shown: bool = False


def overview(session: Session, principal: Principal, ds: Dataset, settings) -> Overview:
    """Everything but the failing-row samples (those are read, audited, by `with_samples`)."""
    rev = service.current_rules(session, ds)
    found = Overview(
        rules=_rules(session, settings, ds, rev),
        can_manage=can_manage(principal, ds),
        can_see_samples=service.can_see_samples(principal, ds),
    )
    history = service.history(session, ds)
    found.history = [service.run_out(session, r) for r in history]
    if history:
        found.run = service.run_out(session, history[-1], results=True)
        found.run["results"] = failing_first(found.run["results"])
    found.versions = [_version_status(session, v) for v in _newest_versions(session, ds)]
    return found


def _rules(session: Session, settings, ds: Dataset, rev) -> dict | None:
    if rev is None:
        return None
    out = service.rules_out(ds, rev)
    out["rules"] = service.shown_rules(out["rules"], masking.viewer(session, settings, None, ds))
    return out


def failing_first(results: list[dict]) -> list[dict]:
    """Rules that failed rows or could not run first (blocking ones leading), then the others, each
    group in the rule set's order."""

    def order(r: dict) -> tuple:
        failing = bool(r["rows_failed"]) or r["error"] is not None
        return (not failing, not (failing and r["blocking"]), r["position"])

    return sorted(results, key=order)


def with_samples(db: Database, principal: Principal, found: Overview) -> None:
    """Add the masked failing rows to the shown run's results, read through `service.read_run`
    (refused to whoever may not see them) in a write transaction of its own: the read is the same
    `quality.samples_read` ledger entry the API writes. Nothing failed: nothing read, no entry."""
    if found.run is None or not any(r["rows_failed"] for r in found.run["results"]):
        return
    with db.write() as s:
        read = service.read_run(s, principal, found.run["id"], samples=True)
    samples = {r["position"]: r["sample"] for r in read["results"]}
    for r in found.run["results"]:
        r["sample"] = samples.get(r["position"], [])
    found.samples_shown = True


def _newest_versions(session: Session, ds: Dataset) -> list[DatasetVersion]:
    return list(
        session.scalars(
            select(DatasetVersion)
            .where(DatasetVersion.dataset_id == ds.id)
            .order_by(DatasetVersion.number.desc())
            .limit(HOLD_VERSIONS)
        )
    )


def _version_status(session: Session, v: DatasetVersion) -> dict:
    run = service.latest_run(session, v.id)
    hold = service.version_hold(session, v.id)
    out = {"number": v.number, "run_id": run.id if run else None, "score": run.score if run else None}
    if hold is not None:
        return {**out, "status": "pending" if hold["pending"] else "held", "rules": hold["rules"]}
    if run is None:
        return {**out, "status": "unchecked", "rules": []}
    if run.blocked:  # blocked yet not held: a steward overrode this run
        reason = session.scalar(select(BlockOverride.reason).where(BlockOverride.run_id == run.id))
        return {**out, "status": "overridden", "rules": [], "reason": reason}
    return {**out, "status": "passed", "rules": []}
