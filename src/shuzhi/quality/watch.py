"""What a new version or a new quality run raises in the alert inbox: metric anomalies against the
dataset's history, schema changes, failed blocking rules, a dropped score."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.quality import alerts, anomalies, metrics
from shuzhi.quality.alert_models import VersionMetrics
from shuzhi.quality.models import QualityRun

log = logging.getLogger(__name__)


def on_version(
    session: Session, settings, version: DatasetVersion, run: QualityRun | None
) -> VersionMetrics | None:
    """Measure a version just loaded, compare it with the earlier versions and raise what it shows;
    in the loading transaction. A failure is logged and never stops the load."""
    ds = version.dataset or session.get(Dataset, version.dataset_id)
    try:
        # A savepoint: on PostgreSQL a refused write would otherwise abort the loading transaction.
        with session.begin_nested():
            found = record_metrics(session, settings, ds, version, run)
    except Exception:  # the load must not fail over its supervision
        log.warning("metrics of %s version %s failed", ds.identifier, version.number, exc_info=True)
        found = None
    _drift(session, settings, ds, version)
    if run is not None:
        after_run(session, settings, run)
    return found


def record_metrics(session: Session, settings, ds: Dataset, version: DatasetVersion, run: QualityRun | None):
    """Store the version's metrics with what they show against the earlier versions; raise an alert
    for the anomalies. A version already measured is left as it is."""
    from shuzhi.storage import version_store

    had = session.scalar(select(VersionMetrics).where(VersionMetrics.version_id == version.id))
    if had is not None:
        return had
    current = metrics.measure(version_store(settings).path(version.path), version.profile)
    earlier = list(
        session.scalars(
            select(VersionMetrics)
            .where(VersionMetrics.dataset_id == ds.id, VersionMetrics.version_number < version.number)
            .order_by(VersionMetrics.version_number.desc())
            .limit(settings.quality.anomaly_history)
        )
    )[::-1]
    limits = anomalies.Limits.of(settings)
    found = anomalies.compare(current, [{"rows": m.rows, "columns": m.columns} for m in earlier], limits)
    row = VersionMetrics(
        dataset_id=ds.id,
        version_id=version.id,
        version_number=version.number,
        run_id=run.id if run is not None else None,
        rows=current["rows"],
        columns=current["columns"],
        anomalies=[a.as_dict() for a in found],
    )
    session.add(row)
    session.flush()
    if found:
        alerts.raise_alert(
            session,
            kind="metric_anomaly",
            key=f"metric_anomaly:{ds.id}:{version.number}",
            department_id=ds.department_id,
            dataset_id=ds.id,
            version_number=version.number,
            severity=anomalies.severity(found, limits),
            figures={"dataset": ds.identifier, "anomalies": row.anomalies, "compared_with": len(earlier)},
        )
    return row


def _drift(session: Session, settings, ds: Dataset, version: DatasetVersion) -> None:
    from shuzhi.ingest.drift import has_drift

    if not has_drift(version.drift):
        return
    alerts.raise_alert(
        session,
        kind="schema_drift",
        key=f"schema_drift:{ds.id}:{version.number}",
        department_id=ds.department_id,
        dataset_id=ds.id,
        version_number=version.number,
        severity="critical" if version.drift["removed"] or version.drift["retyped"] else "warning",
        figures={"dataset": ds.identifier, **version.drift},
    )


def after_run(session: Session, settings, run: QualityRun) -> None:
    """A run that failed a blocking rule, or scored well below the previous version, raises an alert."""
    ds = session.get(Dataset, run.dataset_id)
    common = {"department_id": ds.department_id, "dataset_id": ds.id, "version_number": run.version_number}
    if run.blocked:
        alerts.raise_alert(
            session,
            kind="blocking_failed",
            key=f"blocking_failed:{ds.id}:{run.version_number}",
            severity="critical",
            figures={"dataset": ds.identifier, "run_id": run.id, "score": run.score},
            **common,
        )
    before = session.scalar(
        select(QualityRun.score)
        .where(QualityRun.dataset_id == ds.id, QualityRun.version_number < run.version_number)
        .order_by(QualityRun.version_number.desc(), QualityRun.id.desc())
        .limit(1)
    )
    limit = settings.quality.score_drop_points
    if run.score is not None and before is not None and before - run.score >= limit:
        drop = round(before - run.score, 4)
        alerts.raise_alert(
            session,
            kind="score_drop",
            key=f"score_drop:{ds.id}:{run.version_number}",
            severity="critical" if drop >= 2 * limit else "warning",
            figures={"dataset": ds.identifier, "score": run.score, "previous": before, "drop": drop},
            **common,
        )
