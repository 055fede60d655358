"""Grading service: classify a dataset version, keep steward overrides across versions, raise alerts."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify import events
from shuzhi.classify.detectors import detector_set
from shuzhi.classify.engine import ColumnResult, Scanner
from shuzhi.classify.hints import NameHints
from shuzhi.classify.models import ColumnDecision, DatasetGrade, GradingAlert, ReviewOverride
from shuzhi.classify.rules import Rules, grade_dataset, load_rules
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound, ServerFailure
from shuzhi.orgs.service import Principal
from shuzhi.storage import version_store

log = logging.getLogger(__name__)

IDENTIFIER_ORDER = (
    "resident_id",
    "social_security",
    "passport",
    "hk_macao_permit",
    "mobile",
    "email",
    "person_name",
)
"""Which column counts the individuals of a dataset (for volume rules), best first."""


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


# -- scanning -------------------------------------------------------------------------------------------
def build_scanner(settings, *, full: bool = False) -> Scanner:
    """The detector set of this deployment (built-in + declared + plugins) with its name hints."""
    detectors, config = detector_set(settings)
    hints = NameHints()
    for cat, words in config.hints_add.items():
        hints.extend(cat, words)
    for cat, words in config.hints_negative.items():
        hints.extend(cat, words, negative=True)
    for cat, words in config.hints_remove.items():
        hints.remove(cat, words)
    return Scanner(
        detectors,
        hints,
        sample_rows=settings.classify.sample_rows,
        full=full,
        min_values=settings.classify.min_sensitive_values,
    )


def scan_version(
    settings, version: DatasetVersion, dataset: Dataset, *, full: bool = False
) -> list[ColumnResult]:
    """Column decisions of a version, reading only its sample (and, for a full scan, the candidate columns)."""
    context = " ".join(filter(None, [dataset.title_zh, dataset.title_en, dataset.theme]))
    try:
        return build_scanner(settings, full=full).scan_parquet(
            version_store(settings).path(version.path), context=context
        )
    except (OSError, pa.ArrowInvalid) as exc:
        if "CRC checksum verification failed" in str(exc):
            from shuzhi.ingest.integrity import refused

            raise refused(version.dataset_id, version.number) from None
        # The stored file is the server's, not the caller's: its path and the reader's text stay in the log.
        log.error("cannot read version file %s", version.path, exc_info=exc)
        raise ServerFailure(
            "存储的数据版本文件无法读取，已记录供管理员处理 "
            "(a stored version file could not be read; the failure is logged for the operators)",
            where=f"{dataset.identifier} v{version.number}",
        ) from None


def _persons(settings, rules: Rules, version: DatasetVersion, columns: dict[str, str]) -> int:
    """Distinct individuals, counted on the best identifier column of the whole version."""
    # A deployment's own direct identifiers (e.g. a patient number) count people too, after the built-in ones.
    declared = sorted({c for c in columns.values() if rules.kind_of(c) == "direct_identifier"})
    for cat in dict.fromkeys([*IDENTIFIER_ORDER, *declared]):
        name = next((n for n, c in columns.items() if c == cat), None)
        if name is None:
            continue
        path = str(version_store(settings).path(version.path)).replace("'", "''")
        quoted = '"' + name.replace('"', '""') + '"'
        con = duckdb.connect()
        try:
            return int(
                con.execute(f"SELECT approx_count_distinct({quoted}) FROM read_parquet('{path}')").fetchall()[
                    0
                ][0]
            )
        except duckdb.Error:
            return version.row_count
        finally:
            con.close()
    return 0


def _require_intact(settings, version: DatasetVersion) -> None:
    """Grade only the ingested bytes (a damaged file is refused; `verify-data` or a read marks it)."""
    from shuzhi.ingest.integrity import damage_of, refused

    if version.damaged_at is not None or damage_of(
        version_store(settings).path(version.path), version.sha256, version.byte_size
    ):
        raise refused(version.dataset_id, version.number)


# -- classification of a new version --------------------------------------------------------------------
def classify_version(
    session: Session, settings, version: DatasetVersion, *, full: bool = False, fresh: bool = False
) -> ClassificationResult:
    """Scan a version, apply surviving overrides, grade the dataset, raise alerts, write the ledger.

    `fresh`: the file was just written and hashed by ingest, so it is not hashed again here."""
    dataset = version.dataset or session.get(Dataset, version.dataset_id)
    if not fresh:
        _require_intact(settings, version)
    results = scan_version(settings, version, dataset, full=full)
    rules = load_rules(settings)
    previous = _previous_decisions(session, dataset.id, version.id)
    overrides = _active_overrides(session, dataset.id)
    alerts: list[GradingAlert] = []
    present = {r.name: r for r in results}
    for ov in overrides:
        if ov.field_name is None:
            continue
        col = present.get(ov.field_name)
        if col is None or col.type != ov.field_type:
            why = (
                "列已删除或改名 column removed or renamed"
                if col is None
                else f"列类型已变 column type changed {ov.field_type} → {col.type}"
            )
            ov.active, ov.lapsed_reason = False, why
            alerts.append(
                _alert(
                    dataset,
                    version,
                    "override_lapsed",
                    ov.field_name,
                    f"复核结论失效：{why} (review no longer applies)",
                    {"override_id": ov.id},
                )
            )
    by_field = {ov.field_name: ov for ov in overrides if ov.active and ov.field_name}
    decisions = []
    for pos, r in enumerate(results):
        ov = by_field.get(r.name)
        found = _finding(rules, r, settings.classify.min_sensitive_values)
        detected = found["category"] if found else r.category
        category = ov.category if ov else detected
        status = {"confirm": "confirmed", "override": "overridden"}[ov.action] if ov else "suggested"
        evidence = _jsonable(r.evidence)
        if found:
            # Graded as what was found, whatever else the column holds, until a steward reviews it.
            evidence.update(graded_on_values=found, judged=r.category, needs_review=True)
        decisions.append(
            ColumnDecision(
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
        )
        # A steward's review stands, but not silently when the data now says more than it did.
        if found and (
            ov is None or rules.rank(rules.level_of(category)) < rules.rank(rules.level_of(detected))
        ):
            alerts.append(_found_alert(rules, dataset, version, r, found))
    # Re-grading a version replaces its decisions; a bulk delete runs now, before the inserts are flushed.
    session.execute(delete(ColumnDecision).where(ColumnDecision.version_id == version.id))
    session.add_all(decisions)
    added = _new_sensitive_alerts(dataset, version, decisions, previous, rules) if previous else []
    alerts += added
    grade = _grade(session, settings, rules, dataset, version, decisions, overrides)
    lapsed = _lapse_outgrown_grade_override(rules, dataset, version, grade, overrides, added)
    if lapsed is not None:
        alerts.append(lapsed)
        grade = _grade(session, settings, rules, dataset, version, decisions, overrides)
    prev_grade = _previous_grade(session, dataset.id, version.id)
    if prev_grade and rules.rank(grade.level) > rules.rank(prev_grade.level):
        alerts.append(
            _alert(
                dataset,
                version,
                "grade_raised",
                None,
                f"数据集级别由 {prev_grade.level} 升为 {grade.level} (grade raised)",
                {"from": prev_grade.level, "to": grade.level, "rule": grade.rule},
            )
        )
    session.add_all(_not_yet_open(session, version, alerts))
    session.flush()
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
    return _alert(
        dataset,
        version,
        "sensitive_values_found",
        result.name,
        f"列「{result.name}」含 {found['valid']} 个有效{cat.get('zh', found['category'])}，"
        f"已按该类别定级 {level}，请复核 (column holds {found['valid']} valid "
        f"{cat.get('en', found['category'])} values among others: graded {level}, please review)",
        {**found, "judged": result.category, "level": level},
    )


def _grade(
    session,
    settings,
    rules: Rules,
    dataset: Dataset,
    version: DatasetVersion,
    decisions: list[ColumnDecision],
    overrides: list[ReviewOverride],
) -> DatasetGrade:
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
        persons=_persons(settings, rules, version, columns),
        min_persons_default=settings.classify.important_data_min_persons,
    )
    grade = _grade_of(session, version)
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
                    "zh": "列中发现有效敏感值，须复核",
                    "en": "valid sensitive values found in the column: review it",
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
            "zh": f"人工复核：{ds_override.reason}",
            "en": f"steward review: {ds_override.reason}",
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
    why = f"新增敏感列使级别升至 {grade.derived_level} new sensitive columns raise the grade"
    ov.active, ov.lapsed_reason = False, why
    return _alert(
        dataset,
        version,
        "override_lapsed",
        None,
        f"数据集级别复核结论失效：{why} (grade review no longer applies)",
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


def _grade_of(session: Session, version: DatasetVersion) -> DatasetGrade | None:
    return session.scalar(select(DatasetGrade).where(DatasetGrade.version_id == version.id))


def _new_sensitive_alerts(dataset, version, decisions, previous: dict[str, ColumnDecision], rules) -> list:
    out = []
    for d in decisions:
        before = previous.get(d.field_name)
        if d.category in ("none", "unknown") or (before and before.category == d.category):
            continue
        what = "新增敏感列 new sensitive column" if before is None else "列变为敏感 column became sensitive"
        label = rules.category(d.category).get("zh", d.category)
        out.append(
            _alert(
                dataset,
                version,
                "sensitive_column_added",
                d.field_name,
                f"{what}：{d.field_name}（{label}，{d.level}）",
                {"category": d.category, "previous": before.category if before else None},
            )
        )
    return out


def _not_yet_open(
    session: Session, version: DatasetVersion, alerts: list[GradingAlert]
) -> list[GradingAlert]:
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
    alert = _alert(
        dataset,
        version,
        "version_damaged",
        None,
        f"版本 v{version.number} 的数据文件已损坏（{version.damage}），读取已暂停；请重新加载该数据 / "
        f"the file of version {version.number} is damaged ({version.damage}); reads are refused until "
        "the data is loaded again",
        {"damage": version.damage, "sha256": version.sha256},
    )
    session.add_all(_not_yet_open(session, version, [alert]))


def _alert(dataset, version, kind, field_name, message, detail) -> GradingAlert:
    return GradingAlert(
        dataset_id=dataset.id,
        version_id=version.id if version else None,
        kind=kind,
        field_name=field_name,
        message=message,
        detail=detail,
        resolved=False,
    )


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


def _active_overrides(session: Session, dataset_id: int) -> list[ReviewOverride]:
    return list(
        session.scalars(
            select(ReviewOverride)
            .where(ReviewOverride.dataset_id == dataset_id, ReviewOverride.active.is_(True))
            .order_by(ReviewOverride.id)
        )
    )


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


# -- reading --------------------------------------------------------------------------------------------
def latest_graded_version(session: Session, dataset: Dataset) -> DatasetVersion | None:
    vid = session.scalar(
        select(DatasetGrade.version_id)
        .where(DatasetGrade.dataset_id == dataset.id)
        .order_by(DatasetGrade.version_id.desc())
        .limit(1)
    )
    return session.get(DatasetVersion, vid) if vid else None


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
        }
    rules = load_rules(settings)
    grade = _grade_of(session, version)
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
            for o in _active_overrides(session, dataset.id)
        ],
    }


# -- steward review -------------------------------------------------------------------------------------
def can_review(principal: Principal, dataset: Dataset) -> bool:
    """Only the owning department's steward, or an admin, reviews a grading."""
    return principal.is_admin or (
        principal.has("steward") and principal.department_id == dataset.department_id
    )


def require_reviewer(principal: Principal, dataset: Dataset) -> None:
    if not can_review(principal, dataset):
        raise Forbidden(
            "只有数据提供部门的数据管理员或平台管理员可以复核分级 "
            "(only the owning department's steward or an admin may review grading)",
            where="classification",
        )


def _require_reason(reason: str | None) -> str:
    if not reason or not reason.strip():
        raise InvalidInput("复核必须填写理由 (a review needs a reason)", where="reason")
    return reason.strip()


def _require_action(action: str) -> None:
    if action not in ("confirm", "override"):
        raise InvalidInput(
            "action 必须为 confirm 或 override (action must be confirm or override)", where="action"
        )


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
) -> ColumnDecision:
    """Confirm the column's category, or override it with another one."""
    require_reviewer(principal, dataset)
    reason = _require_reason(reason)
    version = latest_graded_version(session, dataset)
    decision = version and session.scalar(
        select(ColumnDecision).where(
            ColumnDecision.version_id == version.id, ColumnDecision.field_name == field_name
        )
    )
    if not decision:
        raise NotFound(f"该列尚未分级 (column {field_name!r} has no grading)", where="field")
    rules = load_rules(settings)
    _require_action(action)
    if action == "confirm":
        category = decision.category
    elif category not in _known_categories(settings, rules):
        raise InvalidInput(f"未知类别 unknown category: {category}", where="category")
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
            field_name=field_name,
            field_type=decision.field_type,
            action=action,
            category=category,
            reason=reason,
        ),
        {"field": field_name, "from": before, "to": category},
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
) -> DatasetGrade:
    """Confirm the dataset's derived grade, or set another level and/or data class (no level: keep the one
    in force)."""
    require_reviewer(principal, dataset)
    reason = _require_reason(reason)
    version = latest_graded_version(session, dataset)
    if version is None:
        raise NotFound("数据集尚未分级 (dataset has not been graded)", where="dataset")
    rules = load_rules(settings)
    current = _grade_of(session, version)
    _require_action(action)
    if action == "confirm":
        level, data_class = current.level, current.data_class
    level = level or current.level
    if level not in [lv["code"] for lv in rules.levels]:
        raise InvalidInput(f"未定义的级别 undefined level: {level}", where="level")
    if data_class is not None and data_class not in [c["code"] for c in rules.data_classes]:
        raise InvalidInput(f"未定义的数据类别 undefined data class: {data_class}", where="data_class")
    return _record_review(
        session,
        settings,
        principal,
        dataset,
        version,
        ReviewOverride(field_name=None, action=action, level=level, data_class=data_class, reason=reason),
        {"field": None, "from": [current.level, current.data_class], "to": [level, data_class]},
    )


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


OVERRIDE_COLUMNS = ("action", "category", "level", "data_class")


def active_overrides(session: Session, dataset_id: int) -> dict[str, dict]:
    """The reviews in force on a dataset, by field ('*': the dataset grade): what the next grading will
    follow, so a grading entry records them (an override planted by hand would lower the next grade)."""
    session.flush()
    rows = session.scalars(
        select(ReviewOverride).where(ReviewOverride.dataset_id == dataset_id, ReviewOverride.active.is_(True))
    )
    return {ov.field_name or "*": {c: getattr(ov, c) for c in OVERRIDE_COLUMNS} for ov in rows}


def _column_levels(session: Session, version_id: int) -> dict[str, str]:
    """Field -> level in force on one version: what a grading entry records of the columns."""
    rows = session.execute(
        select(ColumnDecision.field_name, ColumnDecision.level).where(ColumnDecision.version_id == version_id)
    )
    return dict(rows.all())


def resolve_alert(
    session: Session, principal: Principal, dataset: Dataset, alert_id: int, *, note: str | None = None
) -> GradingAlert:
    """Mark an open alert resolved (owner's steward or admin) and write who did it to the ledger."""
    require_reviewer(principal, dataset)
    # Locked, so two people resolving the same alert at once write one entry, not two (PostgreSQL).
    alert = session.get(GradingAlert, alert_id, with_for_update=True)
    if alert is None or alert.dataset_id != dataset.id:
        raise NotFound(f"提醒不存在 (no alert {alert_id})", where="alert")
    if alert.resolved:
        # A second resolve would write a second ledger entry for one act; say so instead.
        raise Conflict(f"提醒 #{alert_id} 已处理 (alert {alert_id} is already resolved)", where="alert")
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


def _regrade(session, settings, dataset, version) -> DatasetGrade:
    decisions = list(session.scalars(select(ColumnDecision).where(ColumnDecision.version_id == version.id)))
    return _grade(
        session,
        settings,
        load_rules(settings),
        dataset,
        version,
        decisions,
        _active_overrides(session, dataset.id),
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


def is_graded(session: Session, version: DatasetVersion) -> bool:
    """Whether the version has a grading with its column decisions (not never graded, rows not gone)."""
    return _grade_of(session, version) is not None and (
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


def _rank(rules: Rules, level: str) -> int:
    # A level the rules no longer define (the rules file changed since) counts as the highest.
    codes = [lv["code"] for lv in rules.levels]
    return codes.index(level) if level in codes else len(codes)
