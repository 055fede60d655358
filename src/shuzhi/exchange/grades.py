"""Column grades as the exchange needs them: read through the grading domain, L2 when unknown."""

from __future__ import annotations

import importlib

from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset

DEFAULT_GRADE = "L2"

# The grading domain owns per-column grades; we only ask. Its function is looked up at call time
# so that the exchange works (with the L2 default) before or without that domain.
_PROVIDERS = (
    ("shuzhi.classify.service", "column_grades"),
    ("shuzhi.classify.grades", "column_grades"),
    ("shuzhi.classify", "column_grades"),
)


def _provider():
    for module_name, attr in _PROVIDERS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        fn = getattr(module, attr, None)
        if callable(fn):
            return fn
    return None


def column_grades(session: Session, dataset: Dataset) -> dict[str, str]:
    """Field name -> grade (L1..L4) for every field of the dataset; missing grades are L2."""
    fn = _provider()
    known: dict[str, str | None] = {}
    if fn is not None:
        known = dict(fn(session, dataset) or {})
    return {f.name: (known.get(f.name) or DEFAULT_GRADE) for f in dataset.fields}
