"""Quality holds: whether a version is held back from sharing and publishing, and which version a
reader outside the owning department gets instead. Reads quality's tables only (no query engine)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_version
from shuzhi.errors import Conflict
from shuzhi.i18n import M_
from shuzhi.quality.models import BlockOverride, QualityRun, RuleResult, RuleSetRevision


def latest_run(session: Session, version_id: int) -> QualityRun | None:
    return session.scalar(
        select(QualityRun).where(QualityRun.version_id == version_id).order_by(QualityRun.id.desc()).limit(1)
    )


def version_hold(session: Session, version_id: int) -> dict | None:
    """Why a version is held back from sharing and publishing, or None when it is not.

    Held: its newest run failed a blocking rule and no steward overrode that run; or it has no run
    yet while the rule set in force when it arrived had blocking rules (its verdict is pending:
    a version must not be shared before its blocking rules passed). A version that arrived before
    any blocking rule and was never run is not held (there is no verdict); a new run replaces the
    verdict (an override answers one run)."""
    run = latest_run(session, version_id)
    if run is None:
        return _pending(session, version_id)
    if not run.blocked:
        return None
    if session.scalar(select(BlockOverride.id).where(BlockOverride.run_id == run.id)) is not None:
        return None
    return {
        "run_id": run.id,
        "version": run.version_number,
        "rules": blocking_failures(session, run),
        "pending": False,
    }


def _pending(session: Session, version_id: int) -> dict | None:
    version = session.get(DatasetVersion, version_id)
    if version is None:
        return None
    body = session.scalar(
        select(RuleSetRevision.body)
        .where(
            RuleSetRevision.dataset_id == version.dataset_id,
            RuleSetRevision.created_at <= version.created_at,
        )
        .order_by(RuleSetRevision.revision.desc())
        .limit(1)
    )
    rules = [r["name"] for r in (body or {}).get("rules", []) if r.get("blocking")]
    if not rules:
        return None
    return {"run_id": None, "version": version.number, "rules": rules, "pending": True}


def blocking_failures(session: Session, run: QualityRun) -> list[str]:
    return list(
        session.scalars(
            select(RuleResult.name)
            .where(RuleResult.run_id == run.id, RuleResult.blocking.is_(True), RuleResult.rows_failed > 0)
            .order_by(RuleResult.position)
        )
    )


def held_error(ds: Dataset, hold: dict) -> Conflict:
    """The refusal of a held version: which rules, which run, how to lift it."""
    rules = "、".join(hold["rules"])
    if hold["pending"]:
        return Conflict(
            M_(
                "Version %(number)s of %(identifier)s is held back: its blocking quality rules "
                "(%(rules)s) have not been run on it yet",
                number=hold["version"],
                identifier=ds.identifier,
                rules=rules,
            ),
            hint=M_("a steward of the dataset runs them: shuzhi quality run DATASET --version N"),
            where="version",
            rules=hold["rules"],
        )
    return Conflict(
        M_(
            "Version %(number)s of %(identifier)s is held back: it failed the blocking quality "
            "rules %(rules)s in run %(run)s",
            number=hold["version"],
            identifier=ds.identifier,
            rules=rules,
            run=hold["run_id"],
        ),
        hint=M_(
            "a steward of the dataset may override it with a reason: "
            "shuzhi quality override DATASET --version N --reason …"
        ),
        where="version",
        run_id=hold["run_id"],
        rules=hold["rules"],
    )


def require_not_held(session: Session, ds: Dataset, version: DatasetVersion) -> None:
    hold = version_hold(session, version.id)
    if hold is not None:
        raise held_error(ds, hold)


def shared_version(session: Session, ds: Dataset, number: int | None = None) -> DatasetVersion:
    """The version a reader outside the owning department gets: the one named, refused if held;
    by default the newest version not held (a held new version is not shared, the one before it
    stays readable), refused when every version is held."""
    if number is not None:
        version = get_version(session, ds, number)
        require_not_held(session, ds, version)
        return version
    newest = get_version(session, ds)  # NotFound when the dataset has no version at all
    versions = session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == ds.id)
        .order_by(DatasetVersion.number.desc())
    )
    for version in versions:
        if version_hold(session, version.id) is None:
            return version
    raise held_error(ds, version_hold(session, newest.id))
