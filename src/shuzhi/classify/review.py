"""Steward review of a grading: confirming or overriding a column's category or the dataset's grade."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import events, lowering
from shuzhi.classify.detectors import detector_set
from shuzhi.classify.grading import write_grade
from shuzhi.classify.models import ColumnDecision, DatasetGrade, LoweringRequest, ReviewOverride
from shuzhi.classify.readmodel import active_override_rows, active_overrides, grade_of, latest_graded_version
from shuzhi.classify.reviewers import require_reviewer
from shuzhi.classify.rules import Rules, load_rules
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal


def _require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise InvalidInput(M_("a review needs a reason"), where="reason")
    return reason.strip()


def _require_action(action: str) -> None:
    if action not in ("confirm", "override"):
        raise InvalidInput(M_("action must be confirm or override"), where="action")


def review_column(
    session: Session,
    settings,
    principal: Principal,
    dataset: Dataset,
    field_name: str,
    *,
    action: str,
    reason: str,
    category: str | None = None,
) -> ColumnDecision | LoweringRequest:
    """Confirm the column's category, or override it with another one. An override below the level
    grading derived is not applied: it becomes a request for an admin's approval (returned)."""
    require_reviewer(principal, dataset)
    reason = _require_reason(reason)
    version = latest_graded_version(session, dataset)
    decision = _decision(session, version, field_name)
    rules = load_rules(settings)
    _require_action(action)
    if action == "confirm":
        category = decision.category
    elif category not in _known_categories(settings, rules):
        raise InvalidInput(M_("unknown category: %(category)s", category=category), where="category")
    level, derived = rules.level_of(category), rules.level_of(decision.detected_category)
    if lowering.lowers(rules, level=level, derived=derived, current=decision.level):
        return lowering.ask(
            session,
            principal,
            dataset,
            version,
            lowering.Target(field_name, action, level, category=category),
            derived=derived,
            current=decision.level,
            reason=reason,
            evidence=_column_evidence(decision),
        )
    return _apply_column(session, settings, principal, dataset, version, decision, action, category, reason)


def _decision(session: Session, version: DatasetVersion | None, field_name: str) -> ColumnDecision:
    decision = version and session.scalar(
        select(ColumnDecision).where(
            ColumnDecision.version_id == version.id, ColumnDecision.field_name == field_name
        )
    )
    if not decision:
        raise NotFound(M_("column %(field_name)r has no grading", field_name=field_name), where="field")
    return decision


def _column_evidence(decision: ColumnDecision) -> dict:
    """What grading saw of the column, for whoever approves lowering it."""
    return {
        "detected_category": decision.detected_category,
        "detector": decision.detector,
        "confidence": decision.confidence,
        "evidence": decision.evidence or {},  # as the dataset page shows it: examples are masked
    }


def _apply_column(session, settings, principal, dataset, version, decision, action, category, reason):
    rules = load_rules(settings)
    before = decision.category
    decision.category, decision.level = category, rules.level_of(category)
    decision.status = "confirmed" if action == "confirm" else "overridden"
    _record_review(
        session,
        settings,
        principal,
        dataset,
        version,
        ReviewOverride(
            field_name=decision.field_name,
            field_type=decision.field_type,
            action=action,
            category=category,
            reason=reason,
        ),
        {"field": decision.field_name, "from": before, "to": category},
    )
    return decision


def review_grade(
    session: Session,
    settings,
    principal: Principal,
    dataset: Dataset,
    *,
    action: str,
    reason: str,
    level: str | None = None,
    data_class: str | None = None,
) -> DatasetGrade | LoweringRequest:
    """Confirm the dataset's derived grade, or set another level and/or data class (no level: keep the one
    in force). A level or class below what grading derived is not applied: it becomes a request for an
    admin's approval (returned)."""
    require_reviewer(principal, dataset)
    reason = _require_reason(reason)
    version = latest_graded_version(session, dataset)
    if version is None:
        raise NotFound(M_("dataset has not been graded"), where="dataset")
    rules = load_rules(settings)
    current = grade_of(session, version)
    _require_action(action)
    if action == "confirm":
        level, data_class = current.level, current.data_class
    level = level or current.level
    if level not in [lv["code"] for lv in rules.levels]:
        raise InvalidInput(M_("undefined level: %(level)s", level=level), where="level")
    if data_class is not None and data_class not in [c["code"] for c in rules.data_classes]:
        raise InvalidInput(
            M_("undefined data class: %(data_class)s", data_class=data_class), where="data_class"
        )
    if lowering.lowers(
        rules,
        level=level,
        derived=current.derived_level,
        current=current.level,
        data_class=data_class,
        derived_class=current.derived_data_class,
        current_class=current.data_class,
    ):
        return lowering.ask(
            session,
            principal,
            dataset,
            version,
            lowering.Target(None, action, level, data_class=data_class),
            derived=current.derived_level,
            current=current.level,
            reason=reason,
            evidence={"rule": current.rule, "column_levels": _column_levels(session, version.id)},
        )
    return _apply_grade(
        session, settings, principal, dataset, version, current, action, level, data_class, reason
    )


def _apply_grade(session, settings, principal, dataset, version, current, action, level, data_class, reason):
    return _record_review(
        session,
        settings,
        principal,
        dataset,
        version,
        ReviewOverride(field_name=None, action=action, level=level, data_class=data_class, reason=reason),
        {"field": None, "from": [current.level, current.data_class], "to": [level, data_class]},
    )


def approve_lowering(
    session: Session, settings, principal: Principal, request_id: int, *, note: str | None = None
) -> LoweringRequest:
    """A second person (an admin) approves a pending lowering: it is applied now, in this transaction."""
    request = lowering.open_request(session, request_id)
    lowering.require_approver(principal, request)
    dataset = session.get(Dataset, request.dataset_id)
    version = latest_graded_version(session, dataset)
    if version is None or version.number != request.version_number:
        raise Conflict(
            M_("a newer version has been graded since: ask again against its grading"),
            where="lowering",
        )
    lowering.decide(session, principal, request, approve=True, note=note)
    reason = request.reason  # the reviewer's own; who approved is in the request and its ledger entry
    if request.field_name is None:
        current = grade_of(session, version)
        _apply_grade(
            session, settings, principal, dataset, version, current, request.action, request.level,
            request.data_class, reason,
        )  # fmt: skip
    else:
        decision = _decision(session, version, request.field_name)
        _apply_column(
            session, settings, principal, dataset, version, decision, request.action, request.category, reason
        )
    return request


def reject_lowering(session: Session, principal: Principal, request_id: int, *, note: str) -> LoweringRequest:
    """A second person (an admin) rejects a pending lowering: the higher level stays."""
    request = lowering.open_request(session, request_id)
    lowering.require_approver(principal, request)
    lowering.decide(session, principal, request, approve=False, note=note)
    return request


def _record_review(
    session: Session,
    settings,
    principal: Principal,
    dataset: Dataset,
    version: DatasetVersion,
    override: ReviewOverride,
    change: dict,
) -> DatasetGrade:
    """Keep a review (superseding the earlier one on the same target), re-grade, and write it to the ledger."""
    _deactivate(session, dataset.id, override.field_name, "被新的复核取代 superseded by a newer review")
    override.dataset_id, override.reviewer_id = dataset.id, principal.user_id
    override.version_number, override.active = version.number, True
    session.add(override)
    session.flush()
    grade = _regrade(session, settings, dataset, version)
    ledger.append(
        session,
        events.GradeOverridden(
            field=change["field"],
            from_=change["from"],
            to=change["to"],
            action=override.action,
            reason=override.reason,
            version=version.number,
            dataset_level=grade.level,
            data_class=grade.data_class,
            column_levels=_column_levels(session, version.id),
            overrides=active_overrides(session, dataset.id),
        ),
        user_id=principal.user_id,
        department_id=dataset.department_id,
        dataset_id=dataset.id,
    )
    return grade


def _column_levels(session: Session, version_id: int) -> dict[str, str]:
    """Field -> level in force on one version: what a grading entry records of the columns."""
    rows = session.execute(
        select(ColumnDecision.field_name, ColumnDecision.level).where(ColumnDecision.version_id == version_id)
    )
    return dict(rows.all())


def _regrade(session, settings, dataset, version) -> DatasetGrade:
    decisions = list(session.scalars(select(ColumnDecision).where(ColumnDecision.version_id == version.id)))
    return write_grade(
        session,
        settings,
        load_rules(settings),
        dataset,
        version,
        decisions,
        active_override_rows(session, dataset.id),
    )


def _deactivate(session, dataset_id: int, field_name: str | None, why: str) -> None:
    cond = (
        ReviewOverride.field_name.is_(None) if field_name is None else ReviewOverride.field_name == field_name
    )
    for ov in session.scalars(
        select(ReviewOverride).where(
            ReviewOverride.dataset_id == dataset_id, ReviewOverride.active.is_(True), cond
        )
    ):
        ov.active, ov.lapsed_reason = False, why


def _known_categories(settings, rules: Rules) -> set[str]:
    detectors, _ = detector_set(settings)
    return set(rules.categories) | {d.category for d in detectors}


def lowering_dataset(session: Session, request_id: int) -> Dataset | None:
    """The dataset a lowering request is about (None for an unknown request)."""
    request = session.get(LoweringRequest, request_id)
    return session.get(Dataset, request.dataset_id) if request is not None else None
