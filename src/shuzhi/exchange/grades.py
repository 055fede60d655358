"""Column grades as the exchange needs them: read from the grading domain, L2 when not graded yet."""

from __future__ import annotations

from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset
from shuzhi.classify.service import column_grades as graded_columns

DEFAULT_GRADE = "L2"


def column_grades(session: Session, dataset: Dataset) -> dict[str, str]:
    """Field name -> grade (L1..L4) for every field of the dataset; fields not yet graded are L2."""
    known = graded_columns(session, dataset)
    return {f.name: (known.get(f.name) or DEFAULT_GRADE) for f in dataset.fields}
