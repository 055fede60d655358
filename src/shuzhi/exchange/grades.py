"""Column grades as the exchange needs them: those of the version being read, from the grading domain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify.readmodel import column_grades, is_graded
from shuzhi.classify.rules import load_rules
from shuzhi.errors import Forbidden
from shuzhi.i18n import M_

DEFAULT_GRADE = "L2"
"""A field no version has graded (a catalog field no file has carried yet)."""

CANONICAL = ("L1", "L2", "L3", "L4")
"""The levels the masking defaults are written for (masking.GRADE_DEFAULTS)."""


def version_grades(session: Session, settings, dataset: Dataset, version: DatasetVersion) -> dict[str, str]:
    """Field name -> grade (L1..L4) a read of this version is masked by; Forbidden when the version has
    no grading, for nobody but its owner may read what has not been graded.

    Every field takes the highest grade any graded version gives it, this one included: a column's
    protection never drops because another version looks cleaner, nor stays low on an old version
    when a later grading or review raises it."""
    if not is_graded(session, version):
        raise Forbidden(
            M_(
                "version %(number)s of %(identifier)s has not been graded: only its own department may read it until it is",
                identifier=dataset.identifier,
                number=version.number,
            ),
            refused=[f"{dataset.identifier}@{version.number}"],
            dataset=dataset.identifier,
            version=version.number,
        )
    return dataset_grades(session, settings, dataset)


def dataset_grades(session: Session, settings, dataset: Dataset) -> dict[str, str]:
    """Field name -> the highest grade any version gives it: what a steward approving a grant sees, since
    a grant covers every version, the old ones included."""
    wide = column_grades(session, settings, dataset)
    return canonical(settings, {f.name: wide.get(f.name) or DEFAULT_GRADE for f in dataset.fields})


def canonical(settings, levels: dict[str, str]) -> dict[str, str]:
    """A deployment's own level codes as L1..L4 by rank (its highest level is L4), so a renamed level
    never falls through to the mask of an unknown grade."""
    codes = [lv["code"] for lv in load_rules(settings).levels]
    if codes == list(CANONICAL):
        return levels
    out = {}
    for name, level in levels.items():
        if level in CANONICAL and level not in codes:
            out[name] = level
            continue
        # Unknown codes (rules changed since grading) count as the highest.
        rank = codes.index(level) if level in codes else len(codes) - 1
        from_top = len(codes) - 1 - rank
        out[name] = CANONICAL[max(0, len(CANONICAL) - 1 - from_top)]
    return out
