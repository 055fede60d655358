"""The part of the security state grading keeps: each graded version's dataset grade and column levels
(what masking follows), as the ledger's entries imply them and as the tables hold them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import DatasetVersion
from shuzhi.classify.models import ColumnDecision, DatasetGrade, ReviewOverride
from shuzhi.classify.readmodel import OVERRIDE_COLUMNS
from shuzhi.ledger.reconcile import UNKNOWN, Rows, StateSource, Table

EVENTS = frozenset({"grade.assigned", "grade.overridden", "dataset.deleted"})


class GradeReplay:
    def __init__(self) -> None:
        self.grades: Rows = {}
        self.columns: dict[tuple[int, int], dict[str, object]] = {}
        """(dataset id, version number) -> field -> level."""
        self.unrecorded: set[tuple[int, int]] = set()
        self.overrides: Rows = {}
        """(dataset id, field or '*') -> the review in force, as the latest grading entry lists them."""
        self.overrides_unrecorded: set[tuple[int]] = set()

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        event, ds = doc.get("event"), doc.get("dataset_id")
        if event == "dataset.deleted":
            self.grades = {k: v for k, v in self.grades.items() if k[0] != ds}
            self.columns = {k: v for k, v in self.columns.items() if k[0] != ds}
            self.unrecorded = {k for k in self.unrecorded if k[0] != ds}
            self._replace_overrides(ds, {})
            return
        if not isinstance(d.get("version"), int) or ds is None:
            return
        version = (ds, d["version"])
        if isinstance(d.get("overrides"), dict):
            self._replace_overrides(ds, d["overrides"])
            self.overrides_unrecorded.discard((ds,))
        else:  # written before grading entries listed the reviews in force
            self.overrides_unrecorded.add((ds,))
        level = d.get("level") if event == "grade.assigned" else d.get("dataset_level")
        self.grades[version] = {"level": level or UNKNOWN, "data_class": d.get("data_class", UNKNOWN)}
        levels = d.get("column_levels")
        if isinstance(levels, dict):
            self.columns[version] = dict(levels)
            self.unrecorded.discard(version)
        elif event == "grade.assigned":
            # written before entries carried the column levels: this version's columns are not compared
            self.columns.pop(version, None)
            self.unrecorded.add(version)
        elif d.get("field") is not None and version in self.columns:
            self.columns[version][d["field"]] = UNKNOWN

    def _replace_overrides(self, ds: int, current: dict) -> None:
        self.overrides = {k: v for k, v in self.overrides.items() if k[0] != ds}
        for field, values in current.items():
            self.overrides[(ds, field)] = {c: values.get(c, UNKNOWN) for c in OVERRIDE_COLUMNS}

    def tables(self) -> dict[str, Table]:
        columns: Rows = {
            (ds, v, name): {"level": level}
            for (ds, v), levels in self.columns.items()
            for name, level in levels.items()
        }
        return {
            "classify_dataset_grades": Table(("dataset_id", "version"), self.grades),
            "classify_column_decisions": Table(
                ("dataset_id", "version", "field"), columns, set(self.unrecorded)
            ),
            "classify_overrides": Table(
                ("dataset_id", "field"), self.overrides, set(self.overrides_unrecorded)
            ),
        }


def read(session: Session) -> dict[str, Rows]:
    grades: Rows = {
        (ds, number): {"level": level, "data_class": data_class}
        for ds, number, level, data_class in session.execute(
            select(
                DatasetVersion.dataset_id, DatasetVersion.number, DatasetGrade.level, DatasetGrade.data_class
            ).join(DatasetVersion, DatasetVersion.id == DatasetGrade.version_id)
        )
    }
    columns: Rows = {
        (ds, number, name): {"level": level}
        for ds, number, name, level in session.execute(
            select(
                DatasetVersion.dataset_id,
                DatasetVersion.number,
                ColumnDecision.field_name,
                ColumnDecision.level,
            ).join(DatasetVersion, DatasetVersion.id == ColumnDecision.version_id)
        )
    }
    overrides: Rows = {
        (ov.dataset_id, ov.field_name or "*"): {c: getattr(ov, c) for c in OVERRIDE_COLUMNS}
        for ov in session.scalars(select(ReviewOverride).where(ReviewOverride.active.is_(True)))
    }
    return {
        "classify_dataset_grades": grades,
        "classify_column_decisions": columns,
        "classify_overrides": overrides,
    }


SOURCE = StateSource("classify", EVENTS, GradeReplay, read)
