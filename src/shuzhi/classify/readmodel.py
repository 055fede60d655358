"""The grading read model: a dataset's graded version, its grade, column levels and the reviews in force."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import lowering
from shuzhi.classify.models import ColumnDecision, DatasetGrade, GradingAlert, ReviewOverride
from shuzhi.classify.rules import Rules, load_rules


def latest_graded_version(session: Session, dataset: Dataset) -> DatasetVersion | None:
    """The newest version of the dataset that has a grade, if any."""
    vid = session.scalar(
        select(DatasetGrade.version_id)
        .where(DatasetGrade.dataset_id == dataset.id)
        .order_by(DatasetGrade.version_id.desc())
        .limit(1)
    )
    return session.get(DatasetVersion, vid) if vid else None


def grade_of(session: Session, version: DatasetVersion) -> DatasetGrade | None:
    """The version's dataset grade, if it has been graded."""
    return session.scalar(select(DatasetGrade).where(DatasetGrade.version_id == version.id))


def active_override_rows(session: Session, dataset_id: int) -> list[ReviewOverride]:
    """The reviews in force on a dataset, oldest first, as rows (what grading applies and lapses)."""
    return list(
        session.scalars(
            select(ReviewOverride)
            .where(ReviewOverride.dataset_id == dataset_id, ReviewOverride.active.is_(True))
            .order_by(ReviewOverride.id)
        )
    )


OVERRIDE_COLUMNS = ("action", "category", "level", "data_class")


def active_overrides(session: Session, dataset_id: int) -> dict[str, dict]:
    """The reviews in force on a dataset, by field ('*': the dataset grade): what the next grading will
    follow, so a grading entry records them (an override planted by hand would lower the next grade)."""
    session.flush()
    rows = session.scalars(
        select(ReviewOverride).where(ReviewOverride.dataset_id == dataset_id, ReviewOverride.active.is_(True))
    )
    return {ov.field_name or "*": {c: getattr(ov, c) for c in OVERRIDE_COLUMNS} for ov in rows}


def classification(session: Session, settings, dataset: Dataset) -> dict:
    """The dataset's current grading, its columns with evidence, active overrides and open alerts."""
    version = latest_graded_version(session, dataset)
    if version is None:
        return {
            "dataset_id": dataset.id,
            "identifier": dataset.identifier,
            "graded": False,
            "columns": [],
            "alerts": [],
            "overrides": [],
            "pending_lowerings": [],
        }
    rules = load_rules(settings)
    grade = grade_of(session, version)
    cols = session.scalars(
        select(ColumnDecision)
        .where(ColumnDecision.version_id == version.id)
        .order_by(ColumnDecision.position)
    )
    alerts = session.scalars(
        select(GradingAlert)
        .where(GradingAlert.dataset_id == dataset.id, GradingAlert.resolved.is_(False))
        .order_by(GradingAlert.id.desc())
    )
    return {
        "dataset_id": dataset.id,
        "identifier": dataset.identifier,
        "graded": True,
        "version": version.number,
        "level": grade.level,
        "data_class": grade.data_class,
        "status": grade.status,
        "rule": grade.rule,
        "derived_level": grade.derived_level,
        "derived_data_class": grade.derived_data_class,
        "needs_review": grade.needs_review,
        "flags": grade.flags,
        "levels": rules.levels,
        "data_classes": rules.data_classes,
        "columns": [
            {
                "field": c.field_name,
                "type": c.field_type,
                "category": c.category,
                "category_zh": rules.category(c.category).get("zh"),
                "category_en": rules.category(c.category).get("en"),
                "detected_category": c.detected_category,
                "confidence": c.confidence,
                "detector": c.detector,
                "level": c.level,
                "status": c.status,
                "evidence": c.evidence,
            }
            for c in cols
        ],
        "alerts": [
            {
                "id": a.id,
                "kind": a.kind,
                "field": a.field_name,
                "message": a.message,
                "detail": a.detail,
                "created_at": a.created_at.isoformat(),
            }
            for a in alerts
        ],
        "overrides": [
            {
                "id": o.id,
                "field": o.field_name,
                "action": o.action,
                "category": o.category,
                "level": o.level,
                "data_class": o.data_class,
                "reason": o.reason,
                "reviewer_id": o.reviewer_id,
                "created_at": o.created_at.isoformat(),
            }
            for o in active_override_rows(session, dataset.id)
        ],
        "pending_lowerings": [lowering.as_dict(r) for r in lowering.pending(session, dataset.id)],
    }


def is_graded(session: Session, version: DatasetVersion) -> bool:
    """Whether the version has a grading with its column decisions (not never graded, rows not gone)."""
    return grade_of(session, version) is not None and (
        session.scalar(select(ColumnDecision.id).where(ColumnDecision.version_id == version.id).limit(1))
        is not None
    )


def column_grades(session: Session, settings, dataset: Dataset) -> dict[str, str]:
    """Field name -> the highest level the field has on any graded version of the dataset.

    The dataset-wide view, for decisions that cover every version (a grant, a field missing from a
    version's grading): a column's protection never drops because a newer version looks cleaner."""
    rules = load_rules(settings)
    out: dict[str, str] = {}
    rows = session.execute(
        select(ColumnDecision.field_name, ColumnDecision.level)
        .join(DatasetGrade, DatasetGrade.version_id == ColumnDecision.version_id)
        .where(ColumnDecision.dataset_id == dataset.id)
    )
    for name, level in rows:
        held = out.get(name)
        if held is None or _rank(rules, level) > _rank(rules, held):
            out[name] = level
    return out


def version_columns(session: Session, settings, version: DatasetVersion) -> dict[str, dict]:
    """Field name -> what grading decided for that column of this version: the category in force
    (with its labels), the detector that found it and its confidence, the level."""
    rules = load_rules(settings)
    rows = session.scalars(select(ColumnDecision).where(ColumnDecision.version_id == version.id))
    return {
        c.field_name: {
            "category": c.category,
            "category_zh": rules.category(c.category).get("zh") or c.category,
            "category_en": rules.category(c.category).get("en") or c.category,
            "detector": c.detector,
            "confidence": c.confidence,
            "level": c.level,
        }
        for c in rows
    }


SENSITIVE_FROM = "L3"
"""The lowest level whose values are sensitive: shown in a profile only when asked for, audited."""


def sensitive_columns(session: Session, settings, dataset: Dataset) -> list[str]:
    """Fields graded SENSITIVE_FROM or above on any graded version, and every field no grading has
    judged yet (a dataset never graded, a column only a newer, ungraded version has): nothing says
    those values are harmless."""
    grades = column_grades(session, settings, dataset)
    rules = load_rules(settings)
    bar = _rank(rules, SENSITIVE_FROM)
    judged = [name for name, level in grades.items() if _rank(rules, level) >= bar]
    return judged + [name for name in dataset.field_names() if name not in grades]


def _rank(rules: Rules, level: str) -> int:
    # A level the rules no longer define (the rules file changed since) counts as the highest.
    codes = [lv["code"] for lv in rules.levels]
    return codes.index(level) if level in codes else len(codes)
