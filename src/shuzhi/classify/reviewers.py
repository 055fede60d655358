"""Who may review a dataset's grading and resolve its alerts: the owning department's steward or an admin."""

from __future__ import annotations

from shuzhi.catalog.models import Dataset
from shuzhi.errors import Forbidden
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal


def can_review(principal: Principal, dataset: Dataset) -> bool:
    """Only the owning department's steward, or an admin, reviews a grading."""
    return principal.is_admin or (
        principal.has("steward") and principal.department_id == dataset.department_id
    )


def require_reviewer(principal: Principal, dataset: Dataset) -> None:
    if not can_review(principal, dataset):
        raise Forbidden(
            M_("only the owning department's steward or an admin may review grading"),
            where="classification",
        )
