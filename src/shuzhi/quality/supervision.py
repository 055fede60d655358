"""Provider supervision (数据提供方监督): per department figures, the scorecard ranking departments,
and the sweep that raises alerts when a threshold is crossed (docs/quality-supervision.md).

Figures over the window of `quality.supervision_window_days`: datasets late against their update
frequency (now), the quality score and its trend, versions whose schema changed, versions that
failed a blocking rule, and what other domains add through the `supervision_figures` hook (the
exchange: share requests answered after their deadline, or still past it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import next_update
from shuzhi.errors import Forbidden
from shuzhi.hooks import plugin_manager
from shuzhi.i18n import M_
from shuzhi.ingest.drift import has_drift
from shuzhi.orgs.service import Principal, list_departments
from shuzhi.quality import alerts
from shuzhi.quality.models import QualityRun
from shuzhi.store.base import utcnow

COMPONENTS = ("timeliness", "quality", "stability", "conformity", "responsiveness")
"""The parts of a department's score, each 0–100 or absent (docs/quality-supervision.md)."""


@dataclass
class Figures:
    """One department's figures, and the score made of them."""

    department_id: int
    code: str
    name_zh: str
    name_en: str | None
    datasets: int = 0
    periodic: int = 0
    """Datasets with a periodic update frequency and at least one version."""
    late: list[dict] = field(default_factory=list)
    """Each late dataset: identifier, due date, days late."""
    scored: int = 0
    quality_score: float | None = None
    """Mean of the datasets' newest scores."""
    quality_trend: float | None = None
    """Mean change of the newest score against the version before (datasets with two scores)."""
    versions: int = 0
    drift: list[dict] = field(default_factory=list)
    """Each version of the window whose fields changed: dataset, version, added/removed/retyped."""
    checked: int = 0
    blocked: list[dict] = field(default_factory=list)
    """Each version of the window whose newest run failed a blocking rule: dataset, version."""
    extra: dict[str, int] = field(default_factory=dict)
    """Figures from other domains (`supervision_figures`): share requests answered, late, still overdue."""
    components: dict[str, float | None] = field(default_factory=dict)
    score: float | None = None
    rank: int | None = None

    def as_dict(self) -> dict:
        return {
            "department": self.code,
            "name_zh": self.name_zh,
            "name_en": self.name_en,
            "rank": self.rank,
            "score": self.score,
            "components": self.components,
            "figures": {
                "datasets": self.datasets,
                "periodic": self.periodic,
                "late": self.late,
                "scored": self.scored,
                "quality_score": self.quality_score,
                "quality_trend": self.quality_trend,
                "versions": self.versions,
                "drift": self.drift,
                "checked": self.checked,
                "blocked": self.blocked,
                **self.extra,
            },
        }


def require_viewer(principal: Principal) -> None:
    if not principal.has("steward", "admin", "auditor"):
        raise Forbidden(M_("The provider scorecard is for stewards, auditors and admins"), where="scorecard")


def _share(part: int, whole: int) -> float | None:
    return round(100.0 * (1 - part / whole), 2) if whole else None


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def figures(session: Session, settings, now: datetime | None = None) -> list[Figures]:
    """Every department that provides datasets, with its figures and score, best first."""
    now = now or utcnow()
    since = now - timedelta(days=settings.quality.supervision_window_days)
    depts = {d.id: Figures(d.id, d.code, d.name_zh, d.name_en) for d in list_departments(session)}
    datasets = session.execute(
        select(Dataset.id, Dataset.identifier, Dataset.department_id, Dataset.update_frequency)
    ).all()
    names = {ds_id: ident for ds_id, ident, _, _ in datasets}
    owner = {ds_id: dept for ds_id, _, dept, _ in datasets}
    last = dict(
        session.execute(
            select(DatasetVersion.dataset_id, func.max(DatasetVersion.created_at)).group_by(
                DatasetVersion.dataset_id
            )
        ).all()
    )
    grace = timedelta(days=settings.quality.late_grace_days)
    for ds_id, ident, dept, frequency in datasets:
        f = depts[dept]
        f.datasets += 1
        due = next_update(frequency, last.get(ds_id))
        if due is None:
            continue
        f.periodic += 1
        if due + grace < now:
            f.late.append({"dataset": ident, "due": due.date().isoformat(), "days_late": (now - due).days})
    _versions(session, since, depts, names, owner)
    _scores(session, since, depts, names, owner)
    for part in plugin_manager().hook.supervision_figures(
        session=session, settings=settings, since=since, today=now.date()
    ):
        for dept, values in (part or {}).items():
            if dept in depts:
                for k, v in values.items():
                    depts[dept].extra[k] = depts[dept].extra.get(k, 0) + v
    found = [f for f in depts.values() if f.datasets]
    for f in found:
        _score(f)
    found.sort(key=lambda f: (f.score is None, -(f.score or 0), f.code))
    for i, f in enumerate(found):
        f.rank = i + 1 if f.score is not None else None
    return found


def _versions(session: Session, since, depts, names, owner) -> None:
    rows = session.execute(
        select(DatasetVersion.dataset_id, DatasetVersion.number, DatasetVersion.drift).where(
            DatasetVersion.created_at >= since
        )
    )
    for ds_id, number, drift in rows:
        f = depts[owner[ds_id]]
        f.versions += 1
        if has_drift(drift):
            f.drift.append({"dataset": names[ds_id], "version": number, **drift})


def _scores(session: Session, since, depts, names, owner) -> None:
    """Each version's newest run: the newest score per dataset, its trend, and blocked versions."""
    newest = select(func.max(QualityRun.id)).group_by(QualityRun.version_id)
    rows = session.execute(
        select(
            QualityRun.dataset_id,
            QualityRun.version_number,
            QualityRun.score,
            QualityRun.blocked,
            QualityRun.started_at,
        )
        .where(QualityRun.id.in_(newest))
        .order_by(QualityRun.dataset_id, QualityRun.version_number)
    )
    per_dataset: dict[int, list[float]] = defaultdict(list)
    for ds_id, number, score, blocked, started in rows:
        f = depts[owner[ds_id]]
        if score is not None:
            per_dataset[ds_id].append(score)
        if started >= since:
            f.checked += 1
            if blocked:
                f.blocked.append({"dataset": names[ds_id], "version": number})
    latest, trend = defaultdict(list), defaultdict(list)
    for ds_id, series in per_dataset.items():
        latest[owner[ds_id]].append(series[-1])
        if len(series) > 1:
            trend[owner[ds_id]].append(series[-1] - series[-2])
    for dept, values in latest.items():
        depts[dept].scored, depts[dept].quality_score = len(values), _mean(values)
        depts[dept].quality_trend = _mean(trend.get(dept, []))


def _score(f: Figures) -> None:
    late_answers = f.extra.get("share_answered_late", 0) + f.extra.get("share_overdue_open", 0)
    asked = f.extra.get("share_answered", 0) + f.extra.get("share_overdue_open", 0)
    f.components = {
        "timeliness": _share(len(f.late), f.periodic),
        "quality": None if f.quality_score is None else round(f.quality_score, 2),
        "stability": _share(len(f.drift), f.versions),
        "conformity": _share(len(f.blocked), f.checked),
        "responsiveness": _share(late_answers, asked),
    }
    present = [v for v in f.components.values() if v is not None]
    f.score = round(sum(present) / len(present), 2) if present else None


def scorecard(session: Session, settings, principal: Principal, now: datetime | None = None) -> list[dict]:
    require_viewer(principal)
    return [f.as_dict() for f in figures(session, settings, now)]


def sweep(session: Session, settings, now: datetime | None = None) -> dict[str, int]:
    """Raise the alerts the figures call for (each once while open); returns how many per kind."""
    q = settings.quality
    counts = {"late_update": 0, "share_overdue": 0, "low_score": 0}
    found = figures(session, settings, now)
    ids = dict(session.execute(select(Dataset.identifier, Dataset.id)).all())
    for f in found:
        for late in f.late:
            made = alerts.raise_alert(
                session,
                kind="late_update",
                key=f"late_update:{ids[late['dataset']]}:{late['due']}",
                department_id=f.department_id,
                dataset_id=ids[late["dataset"]],
                severity="critical" if late["days_late"] > 30 else "warning",
                figures=late,
            )
            counts["late_update"] += made is not None
        late_answers = f.extra.get("share_answered_late", 0) + f.extra.get("share_overdue_open", 0)
        if late_answers >= q.share_late_alert:
            made = alerts.raise_alert(
                session,
                kind="share_overdue",
                key=f"share_overdue:{f.department_id}",
                department_id=f.department_id,
                severity="warning",
                figures={
                    k: f.extra.get(k, 0)
                    for k in ("share_answered", "share_answered_late", "share_overdue_open")
                },
            )
            counts["share_overdue"] += made is not None
        if f.score is not None and f.score < q.scorecard_alert_below:
            made = alerts.raise_alert(
                session,
                kind="low_score",
                key=f"low_score:{f.department_id}",
                department_id=f.department_id,
                severity="warning",
                figures={"score": f.score, "below": q.scorecard_alert_below, "components": f.components},
            )
            counts["low_score"] += made is not None
    return counts


def run_sweep(session: Session, settings, principal: Principal) -> dict[str, int]:
    """The sweep on demand: admins only (the job runs it on its own)."""
    if not principal.is_admin:
        raise Forbidden(M_("Only admins run the supervision sweep"), where="sweep")
    return sweep(session, settings)


def sweep_job(ctx) -> None:
    with ctx.db.write() as s:
        counts = sweep(s, ctx.settings)
    ctx.progress(1.0, ", ".join(f"{k} {v}" for k, v in counts.items()))
