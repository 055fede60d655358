"""Grading alerts to the owner's stewards: making one, raising it once per version, resolving it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import events
from shuzhi.classify.models import GradingAlert
from shuzhi.classify.reviewers import require_reviewer
from shuzhi.errors import Conflict, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal


def new_alert(dataset, version, kind, field_name, message, detail) -> GradingAlert:
    """An open alert on a dataset (and version, if any), not yet added to the session."""
    return GradingAlert(
        dataset_id=dataset.id,
        version_id=version.id if version else None,
        kind=kind,
        field_name=field_name,
        message=message,
        detail=detail,
        resolved=False,
    )


def not_yet_open(session: Session, version: DatasetVersion, alerts: list[GradingAlert]) -> list[GradingAlert]:
    """Grading a version again raises nothing that is already open for it."""
    open_ = set(
        session.execute(
            select(GradingAlert.kind, GradingAlert.field_name).where(
                GradingAlert.version_id == version.id, GradingAlert.resolved.is_(False)
            )
        ).all()
    )
    return [a for a in alerts if (a.kind, a.field_name) not in open_]


def alert_damaged(session: Session, version: DatasetVersion) -> None:
    """An alert to the owner's stewards: the version's file is damaged and its reads are refused."""
    dataset = version.dataset or session.get(Dataset, version.dataset_id)
    alert = new_alert(
        dataset,
        version,
        "version_damaged",
        None,
        f"版本 v{version.number} 的数据文件已损坏（{version.damage}），读取已暂停；请重新加载该数据 / "
        f"the file of version {version.number} is damaged ({version.damage}); reads are refused until "
        "the data is loaded again",
        {"damage": version.damage, "sha256": version.sha256},
    )
    session.add_all(not_yet_open(session, version, [alert]))


def resolve_alert(
    session: Session, principal: Principal, dataset: Dataset, alert_id: int, *, note: str | None = None
) -> GradingAlert:
    """Mark an open alert resolved (owner's steward or admin) and write who did it to the ledger."""
    require_reviewer(principal, dataset)
    # Locked, so two people resolving the same alert at once write one entry, not two (PostgreSQL).
    alert = session.get(GradingAlert, alert_id, with_for_update=True)
    if alert is None or alert.dataset_id != dataset.id:
        raise NotFound(M_("no alert %(alert_id)s", alert_id=alert_id), where="alert")
    if alert.resolved:
        # A second resolve would write a second ledger entry for one act; say so instead.
        raise Conflict(M_("alert %(alert_id)s is already resolved", alert_id=alert_id), where="alert")
    alert.resolved = True
    ledger.append(
        session,
        events.AlertResolved(
            alert_id=alert.id,
            kind=alert.kind,
            field=alert.field_name,
            note=note.strip() if note and note.strip() else ledger.ABSENT,
        ),
        user_id=principal.user_id,
        department_id=dataset.department_id,
        dataset_id=dataset.id,
    )
    return alert


def open_alerts(
    session: Session, *, department_id: int | None = None, limit: int | None = None
) -> list[tuple[GradingAlert, Dataset]]:
    """Unresolved alerts with their datasets, newest first; `department_id` keeps the owner's."""
    q = (
        select(GradingAlert, Dataset)
        .join(Dataset, Dataset.id == GradingAlert.dataset_id)
        .where(GradingAlert.resolved.is_(False))
    )
    if department_id is not None:
        q = q.where(Dataset.department_id == department_id)
    q = q.order_by(GradingAlert.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return [(a, d) for a, d in session.execute(q)]


def open_alert_counts(session: Session) -> dict[int, int]:
    """Unresolved alerts per owning department id."""
    q = (
        select(Dataset.department_id, func.count())
        .select_from(GradingAlert)
        .join(Dataset, Dataset.id == GradingAlert.dataset_id)
        .where(GradingAlert.resolved.is_(False))
        .group_by(Dataset.department_id)
    )
    return {dept: n for dept, n in session.execute(q)}
