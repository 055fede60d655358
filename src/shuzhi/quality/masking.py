"""Values of the data in rules and proposals (bounds, enumerations, patterns): masked per field grade.

A field graded L3 or above, or never graded, has the values a rule or a proposal holds of it masked
as failing-row samples are (`service.mask_value`) for everyone but the owning department's members
and admins; whoever is shown them clear is remembered (`Shown.revealed`) for the caller's ledger
entry. Which parameters of a kind hold values, and of which field, the kind says (`value_params`).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset
from shuzhi.orgs.service import Principal
from shuzhi.quality import service
from shuzhi.quality.kinds import RuleKind

VALUE_KEYS = ("min", "max", "values")
"""Keys of a proposal's evidence that carry values of the data (and the value parameters assumed of
a rule whose kind is no longer registered)."""


def sensitive(level: str | None, levels: list[str]) -> bool:
    bar = levels.index("L3") if "L3" in levels else 0
    return level not in levels or levels.index(level) >= bar


def mask(values: dict | None, keys, level: str | None, levels: list[str]) -> dict | None:
    """`values` with those under `keys` masked (each item of a list on its own)."""
    if values is None:
        return None

    def one(v):
        return (
            [service.mask_value(x, level, levels) for x in v]
            if isinstance(v, list)
            else service.mask_value(v, level, levels)
        )

    return {k: one(v) if k in keys else v for k, v in values.items()}


def value_params(kind: RuleKind | None) -> dict[str, str]:
    """Parameter holding values → the parameter naming the field they are values of."""
    if kind is None:
        return {k: "field" for k in VALUE_KEYS}
    return kind.value_params


class Shown:
    """How one reader is shown values: masked per field, or clear and remembered (to be audited)."""

    def __init__(self, grades: dict[str, str], levels: list[str], insider: bool) -> None:
        self.grades, self.levels, self.insider = grades, levels, insider
        self.revealed: set[str] = set()

    def __call__(self, values: dict | None, field: str | None, keys=VALUE_KEYS) -> tuple[dict | None, bool]:
        """The values (a rule, its evidence) as shown, and whether they were masked."""
        level = self.grades.get(field)
        if not values or not any(k in values for k in keys) or not sensitive(level, self.levels):
            return values, False
        if self.insider:
            self.revealed.add(field)
            return values, False
        return mask(values, keys, level, self.levels), True

    def rule(self, rule: dict | None, kinds: dict[str, RuleKind]) -> tuple[dict | None, bool]:
        """A rule (kind and parameters) as shown: each value parameter by its own field's grade."""
        if not rule:
            return rule, False
        params = value_params(kinds.get(rule.get("kind")))
        masked = False
        for field_param in dict.fromkeys(params.values()):
            field = rule.get(field_param)
            if field is None:  # the values apply to no field (an optional one not named)
                continue
            keys = [k for k, f in params.items() if f == field_param]
            rule, one = self(rule, field, keys)
            masked = masked or one
        return rule, masked


def viewer(session: Session, settings, principal: Principal | None, ds: Dataset) -> Shown:
    """How `principal` is shown the values of `ds` (None: as someone outside its department)."""
    from shuzhi.classify.readmodel import column_grades
    from shuzhi.classify.rules import load_rules

    levels = [lv["code"] for lv in load_rules(settings).levels]
    insider = principal is not None and service.can_see_samples(principal, ds)
    return Shown(column_grades(session, settings, ds), levels, insider)
