"""Grading a dataset version: column decisions, the dataset grade, surviving reviews and the alerts it raises."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import events
from shuzhi.classify.alerts import new_alert, not_yet_open
from shuzhi.classify.engine import ColumnResult
from shuzhi.classify.models import ColumnDecision, DatasetGrade, GradingAlert, ReviewOverride
from shuzhi.classify.readmodel import active_override_rows, active_overrides, grade_of
from shuzhi.classify.rules import Rules, grade_dataset, load_rules
from shuzhi.classify.scanning import count_persons, require_intact, scan_version
from shuzhi.i18n import M_, Pair


@dataclass
class ClassificationResult:
    dataset_id: int
    version_number: int
    level: str
    data_class: str
    rule: dict
    needs_review: bool
    columns: list[ColumnDecision] = field(default_factory=list)
    alerts: list[GradingAlert] = field(default_factory=list)


def classify_version(
    session: Session, settings, version: DatasetVersion, *, full: bool = False, fresh: bool = False
) -> ClassificationResult:
    """Scan a version, apply surviving overrides, grade the dataset, raise alerts, write the ledger.

    `fresh`: the file was just written and hashed by ingest, so it is not hashed again here."""
    dataset = version.dataset or session.get(Dataset, version.dataset_id)
    if not fresh:
        require_intact(settings, version)
    results = scan_version(settings, version, dataset, full=full)
    rules = load_rules(settings)
    previous = _previous_decisions(session, dataset.id, version.id)
    overrides = active_override_rows(session, dataset.id)
    alerts = _lapse_column_overrides(dataset, version, results, overrides)
    decisions, found = _decide_columns(
        rules, settings.classify.min_sensitive_values, dataset, version, results, overrides
    )
    alerts += found
    _replace_decisions(session, version, decisions)
    added = _new_sensitive_alerts(dataset, version, decisions, previous, rules) if previous else []
    alerts += added
    grade, lapsed = _settle_grade(session, settings, rules, dataset, version, decisions, overrides, added)
    alerts += lapsed
    prev_grade = _previous_grade(session, dataset.id, version.id)
    alerts += _grade_raised(rules, dataset, version, grade, prev_grade)
    session.add_all(not_yet_open(session, version, alerts))
    session.flush()
    _record_grading(session, dataset, version, grade, prev_grade, decisions)
    return ClassificationResult(
        dataset.id,
        version.number,
        grade.level,
        grade.data_class,
        grade.rule,
        grade.needs_review,
        decisions,
        alerts,
    )


def _lapse_column_overrides(
    dataset: Dataset, version: DatasetVersion, results: list[ColumnResult], overrides: list[ReviewOverride]
) -> list[GradingAlert]:
    """A column review lapses when its column is gone or changed type; one alert for each that lapses."""
    alerts = []
    present = {r.name: r for r in results}
    for ov in overrides:
        if ov.field_name is None:
            continue
        col = present.get(ov.field_name)
        if col is None or col.type != ov.field_type:
            why = (
                M_("column removed or renamed")
                if col is None
                else M_(
                    "column type changed %(field_type)s → %(type)s", field_type=ov.field_type, type=col.type
                )
            )
            ov.active, ov.lapsed_reason = False, why
            alerts.append(
                new_alert(
                    dataset,
                    version,
                    "override_lapsed",
                    ov.field_name,
                    M_("review no longer applies: %(why)s", why=why),
                    {"override_id": ov.id},
                )
            )
    return alerts


def _decide_columns(
    rules: Rules,
    min_values: int,
    dataset: Dataset,
    version: DatasetVersion,
    results: list[ColumnResult],
    overrides: list[ReviewOverride],
) -> tuple[list[ColumnDecision], list[GradingAlert]]:
    """One decision per scanned column (its review, if one stands, decides the category), and an alert for
    each column whose values say more than the decision grades."""
    by_field = {ov.field_name: ov for ov in overrides if ov.active and ov.field_name}
    decisions, alerts = [], []
    for pos, r in enumerate(results):
        ov = by_field.get(r.name)
        found = _finding(rules, r, min_values)
        decision = _decision(rules, dataset, version, pos, r, ov, found)
        decisions.append(decision)
        # A steward's review stands, but not silently when the data now says more than it did.
        if found and (
            ov is None or rules.rank(decision.level) < rules.rank(rules.level_of(decision.detected_category))
        ):
            alerts.append(_found_alert(rules, dataset, version, r, found))
    return decisions, alerts


def _decision(
    rules: Rules,
    dataset: Dataset,
    version: DatasetVersion,
    pos: int,
    r: ColumnResult,
    ov: ReviewOverride | None,
    found: dict | None,
) -> ColumnDecision:
    """The decision on one column: what was detected, and the category in force (the review's, if any)."""
    detected = found["category"] if found else r.category
    category = ov.category if ov else detected
    status = {"confirm": "confirmed", "override": "overridden"}[ov.action] if ov else "suggested"
    evidence = _jsonable(r.evidence)
    if found:
        # Graded as what was found, whatever else the column holds, until a steward reviews it.
        evidence.update(graded_on_values=found, judged=r.category, needs_review=True)
    return ColumnDecision(
        dataset_id=dataset.id,
        version_id=version.id,
        field_name=r.name,
        field_type=r.type,
        position=pos,
        detected_category=detected,
        category=category,
        confidence=r.confidence,
        detector=found["detector"] if found else r.detector,
        level=rules.level_of(category),
        status=status,
        evidence=evidence,
    )


def _replace_decisions(session: Session, version: DatasetVersion, decisions: list[ColumnDecision]) -> None:
    # Re-grading a version replaces its decisions; a bulk delete runs now, before the inserts are flushed.
    session.execute(delete(ColumnDecision).where(ColumnDecision.version_id == version.id))
    session.add_all(decisions)


def _settle_grade(
    session: Session,
    settings,
    rules: Rules,
    dataset: Dataset,
    version: DatasetVersion,
    decisions: list[ColumnDecision],
    overrides: list[ReviewOverride],
    added: list[GradingAlert],
) -> tuple[DatasetGrade, list[GradingAlert]]:
    """The version's grade, graded again without the grade review when new sensitive columns outgrew it
    (with the alert saying so)."""
    grade = write_grade(session, settings, rules, dataset, version, decisions, overrides)
    lapsed = _lapse_outgrown_grade_override(rules, dataset, version, grade, overrides, added)
    if lapsed is None:
        return grade, []
    return write_grade(session, settings, rules, dataset, version, decisions, overrides), [lapsed]


def _grade_raised(
    rules: Rules,
    dataset: Dataset,
    version: DatasetVersion,
    grade: DatasetGrade,
    prev_grade: DatasetGrade | None,
) -> list[GradingAlert]:
    """An alert when the grade is higher than the previous version's, else none."""
    if not prev_grade or rules.rank(grade.level) <= rules.rank(prev_grade.level):
        return []
    return [
        new_alert(
            dataset,
            version,
            "grade_raised",
            None,
            M_("grade raised from %(before)s to %(after)s", before=prev_grade.level, after=grade.level),
            {"from": prev_grade.level, "to": grade.level, "rule": grade.rule},
        )
    ]


def _record_grading(
    session: Session,
    dataset: Dataset,
    version: DatasetVersion,
    grade: DatasetGrade,
    prev_grade: DatasetGrade | None,
    decisions: list[ColumnDecision],
) -> None:
    """Write the grading to the ledger: the grade, the sensitive columns, the column levels, the reviews."""
    ledger.append(
        session,
        events.GradeAssigned(
            version=version.number,
            level=grade.level,
            data_class=grade.data_class,
            rule=grade.rule,
            status=grade.status,
            previous=prev_grade.level if prev_grade else None,
            sensitive_columns={
                d.field_name: d.category for d in decisions if d.category not in ("none", "unknown")
            },
            column_levels={d.field_name: d.level for d in decisions},
            overrides=active_overrides(session, dataset.id),
        ),
        department_id=dataset.department_id,
        dataset_id=dataset.id,
        user_id=version.created_by_id,
    )


PERSONAL_KINDS = ("direct_identifier", "sensitive_attribute")


def _finding(rules: Rules, result: ColumnResult, min_values: int) -> dict | None:
    """The most sensitive personal category whose valid values the detectors found in a column judged
    as something less (`values_found` of the scan), with at least `min_values` of them; else None."""
    best = None
    for f in result.evidence.get("values_found") or []:
        cat = f["category"]
        if (
            f["valid"] < min_values
            or rules.kind_of(cat) not in PERSONAL_KINDS
            or rules.rank(rules.level_of(cat)) <= rules.rank(rules.level_of(result.category))
        ):
            continue
        key = (rules.rank(rules.level_of(cat)), f["valid"])
        if best is None or key > best[0]:
            best = (key, f)
    return best[1] if best else None


def _found_alert(rules: Rules, dataset, version, result: ColumnResult, found: dict) -> GradingAlert:
    cat = rules.category(found["category"])
    level = rules.level_of(found["category"])
    return new_alert(
        dataset,
        version,
        "sensitive_values_found",
        result.name,
        M_(
            "column %(name)s holds %(valid)s valid %(category)s values among others: graded %(level)s, please review",
            name=result.name,
            valid=found["valid"],
            category=Pair(cat.get("zh", found["category"]), cat.get("en", found["category"])),
            level=level,
        ),
        {**found, "judged": result.category, "level": level},
    )


def write_grade(
    session,
    settings,
    rules: Rules,
    dataset: Dataset,
    version: DatasetVersion,
    decisions: list[ColumnDecision],
    overrides: list[ReviewOverride],
) -> DatasetGrade:
    """Derive the version's grade from its column decisions and people count, apply the grade review in
    force, and store it on the version and the dataset."""
    columns = {d.field_name: d.category for d in decisions}
    minors = {
        d.field_name: int(d.evidence.get("minors") or 0)
        for d in decisions
        if d.category in ("resident_id", "birth_date")
    }
    derived = grade_dataset(
        rules,
        columns,
        minors=minors,
        persons=count_persons(settings, rules, version, columns),
        min_persons_default=settings.classify.important_data_min_persons,
    )
    grade = grade_of(session, version)
    if grade is None:
        grade = DatasetGrade(dataset_id=dataset.id, version_id=version.id)
        session.add(grade)
    grade.derived_level, grade.derived_data_class = derived.level, derived.data_class
    grade.rule, grade.flags, grade.needs_review = derived.rule, derived.flags, derived.needs_review
    flagged = [d for d in decisions if d.status == "suggested" and (d.evidence or {}).get("needs_review")]
    if flagged:
        grade.needs_review = True
        grade.flags = [
            *derived.flags,
            *(
                {
                    "type": "values_found",
                    "name": d.field_name,
                    "category": d.category,
                    "valid": d.evidence["graded_on_values"]["valid"],
                    **M_("valid sensitive values found in the column: review it").both(),
                }
                for d in flagged
            ),
        ]
    grade.level, grade.data_class, grade.status = derived.level, derived.data_class, "derived"
    ds_override = _grade_override(overrides)
    if ds_override is not None:
        grade.level = ds_override.level or derived.level
        grade.data_class = ds_override.data_class or derived.data_class
        grade.status = "confirmed" if ds_override.action == "confirm" else "overridden"
        grade.rule = {
            "type": "review",
            "name": f"override#{ds_override.id}",
            **M_("steward review: %(reason)s", reason=ds_override.reason).both(),
            "derived": derived.rule,
        }
        grade.needs_review = False
    dataset.security_grade, dataset.data_class = grade.level, grade.data_class
    return grade


def _lapse_outgrown_grade_override(rules, dataset, version, grade, overrides, added) -> GradingAlert | None:
    """A grade review of an earlier version lapses when new sensitive columns lift the derived grade above it."""
    ov = _grade_override(overrides)
    if (
        ov is None
        or not added
        or (ov.version_number or 0) >= version.number
        or rules.rank(grade.derived_level) <= rules.rank(grade.level)
    ):
        return None
    why = M_("new sensitive columns raise the grade to %(derived_level)s", derived_level=grade.derived_level)
    ov.active, ov.lapsed_reason = False, why
    return new_alert(
        dataset,
        version,
        "override_lapsed",
        None,
        M_("grade review no longer applies: %(why)s", why=why),
        {
            "override_id": ov.id,
            "from": grade.level,
            "to": grade.derived_level,
            "columns": [a.field_name for a in added],
        },
    )


def _grade_override(overrides: list[ReviewOverride]) -> ReviewOverride | None:
    """The active review of the dataset's grade (not of a column), if any."""
    return next((o for o in overrides if o.active and o.field_name is None), None)


def _new_sensitive_alerts(dataset, version, decisions, previous: dict[str, ColumnDecision], rules) -> list:
    out = []
    for d in decisions:
        before = previous.get(d.field_name)
        if d.category in ("none", "unknown") or (before and before.category == d.category):
            continue
        what = M_("new sensitive column") if before is None else M_("column became sensitive")
        label = rules.category(d.category).get("zh", d.category)
        out.append(
            new_alert(
                dataset,
                version,
                "sensitive_column_added",
                d.field_name,
                f"{what}：{d.field_name}（{label}，{d.level}）",
                {"category": d.category, "previous": before.category if before else None},
            )
        )
    return out


def _previous_decisions(session: Session, dataset_id: int, version_id: int) -> dict[str, ColumnDecision]:
    prev_version = session.scalar(
        select(ColumnDecision.version_id)
        .where(ColumnDecision.dataset_id == dataset_id, ColumnDecision.version_id != version_id)
        .order_by(ColumnDecision.version_id.desc())
        .limit(1)
    )
    if prev_version is None:
        return {}
    rows = session.scalars(select(ColumnDecision).where(ColumnDecision.version_id == prev_version))
    return {d.field_name: d for d in rows}


def _previous_grade(session: Session, dataset_id: int, version_id: int) -> DatasetGrade | None:
    return session.scalar(
        select(DatasetGrade)
        .where(DatasetGrade.dataset_id == dataset_id, DatasetGrade.version_id != version_id)
        .order_by(DatasetGrade.version_id.desc())
        .limit(1)
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
