"""Releases of differentially private statistics: computed from a dataset version, paid from its budget, kept."""

from __future__ import annotations

from typing import Any

import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_dataset, get_version, require_manage
from shuzhi.config import Settings
from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.ingest.integrity import refused
from shuzhi.opendata import budget
from shuzhi.opendata.budget_events import StatsReleased
from shuzhi.opendata.budget_models import StatisticsRelease
from shuzhi.opendata.disclosure import dp
from shuzhi.opendata.releases import require_open
from shuzhi.orgs.service import Principal
from shuzhi.quality.holds import require_not_held
from shuzhi.storage import version_store

MAX_PAGE = 100


def _parse(settings: Settings, spec: Any) -> dp.Spec:
    return dp.parse_spec(
        spec,
        max_epsilon=settings.privacy.max_release_epsilon,
        max_delta=settings.privacy.max_release_delta,
    )


def _read(settings: Settings, version: DatasetVersion, spec: dp.Spec):
    """The columns the spec names, read from the version's file (a damaged one is refused)."""
    if version.damaged_at is not None:
        raise refused(version.dataset_id, version.number)
    path = version_store(settings).path(version.path)
    dp.check_columns(spec, pq.read_schema(path))
    return pq.read_table(path, columns=spec.columns())


def release_statistics(
    session: Session,
    settings: Settings,
    actor: Principal,
    dataset: str | int,
    version: int | None,
    spec: Any,
) -> StatisticsRelease:
    """Compute the spec's figures over a version (the latest when None), pay their ε and δ from the
    dataset's budget and keep them, all in the caller's transaction: a refused spend stores nothing.
    The owning department's stewards and the admins may release; a dataset not to be opened (不予开放)
    has none, since stored statistics are published ones (`published_statistics`)."""
    ds = get_dataset(session, dataset)
    require_manage(actor, ds)
    require_open(ds)
    parsed = _parse(settings, spec)
    v = get_version(session, ds, version)
    require_not_held(session, ds, v)  # published figures are publishing too
    budget.require_affordable(session, settings, ds, parsed.epsilon, parsed.delta)
    figures = dp.compute(_read(settings, v, parsed), parsed)
    # Spent before the release row exists: a refusal (a concurrent release took the rest) leaves nothing.
    eps_left, delta_left = budget.spend(session, settings, ds, parsed.epsilon, parsed.delta)
    release = StatisticsRelease(
        dataset_id=ds.id,
        version_number=v.number,
        spec=parsed.to_dict(),
        figures=figures,
        epsilon=parsed.epsilon,
        delta=parsed.delta,
        created_by_id=actor.user_id,
        created_by=actor.signature,
    )
    session.add(release)
    session.flush()
    budget.record_spend(
        session, actor, ds, release.id, (parsed.epsilon, parsed.delta), (eps_left, delta_left)
    )
    ledger.append(
        session,
        StatsReleased(
            release_id=release.id,
            dataset=ds.identifier,
            version=v.number,
            figures=[f["name"] for f in figures],
            mechanism=parsed.mechanism,
            epsilon=parsed.epsilon,
            delta=parsed.delta,
            epsilon_left=eps_left,
            delta_left=delta_left,
        ),
        user_id=actor.user_id,
        department_id=ds.department_id,
        dataset_id=ds.id,
    )
    return release


def get_release(session: Session, actor: Principal, release_id: int) -> StatisticsRelease:
    """A stored release, for the owning department's stewards and the admins (it is not published
    by being stored: publishing is the releases workflow's)."""
    release = session.get(StatisticsRelease, release_id)
    if release is None:
        raise NotFound(M_("no statistics release %(id)s", id=release_id), where="release")
    require_manage(actor, session.get(Dataset, release.dataset_id))
    return release


def list_releases(session: Session, actor: Principal, dataset: str | int) -> list[StatisticsRelease]:
    ds = get_dataset(session, dataset)
    require_manage(actor, ds)
    return list(
        session.scalars(
            select(StatisticsRelease)
            .where(StatisticsRelease.dataset_id == ds.id)
            .order_by(StatisticsRelease.id.desc())
            .limit(MAX_PAGE)
        )
    )


def as_dict(session: Session, release: StatisticsRelease) -> dict:
    ds = session.get(Dataset, release.dataset_id)
    return {
        "id": release.id,
        "dataset": ds.identifier,
        "version": release.version_number,
        "epsilon": release.epsilon,
        "delta": release.delta,
        "spec": release.spec,
        "figures": release.figures,
        "created_at": release.created_at.isoformat(),
        "created_by": release.created_by,
    }
