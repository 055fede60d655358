"""What to de-identify and how far (the plan), and what came out (the release and its report)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.opendata.disclosure.check import check
from shuzhi.opendata.disclosure.hierarchies import HierarchySpec

LOSSES = ("discernibility", "ncp")


@dataclass(frozen=True)
class Plan:
    """Quasi-identifiers and their hierarchies (None: a numeric column cut into ranges, Mondrian only), the k
    of k-anonymity, distinct l-diversity (`diversity`) over the sensitive columns, the share of rows that may
    be suppressed, and the loss the full-domain search minimises."""

    quasi_identifiers: Mapping[str, HierarchySpec | None]
    k: int = 5
    sensitive: tuple[str, ...] = ()
    diversity: int = 1
    suppression: float = 0.0
    loss: str = "discernibility"

    def validate(self, table: pa.Table, *, hierarchies_required: bool) -> None:
        names = set(table.column_names)
        if not self.quasi_identifiers:
            raise InvalidInput(M_("Name at least one quasi-identifier"), where="quasi_identifiers")
        for role, cols in (("quasi_identifiers", self.quasi_identifiers), ("sensitive", self.sensitive)):
            for col in cols:
                if col not in names:
                    raise InvalidInput(
                        M_("Column %(column)s is not in the table", column=col), where=f"{role}.{col}"
                    )
        both = set(self.quasi_identifiers) & set(self.sensitive)
        if both:
            col = sorted(both)[0]
            raise InvalidInput(
                M_("Column %(column)s cannot be both a quasi-identifier and sensitive", column=col),
                where=f"sensitive.{col}",
            )
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 2:
            raise InvalidInput(M_("k must be a whole number of at least 2, not %(k)s", k=self.k), where="k")
        if not 0.0 <= self.suppression <= 1.0:
            raise InvalidInput(
                M_(
                    "The suppression budget is a share of rows between 0 and 1, not %(s)s", s=self.suppression
                ),
                where="suppression",
            )
        if self.diversity < 1 or self.diversity > self.k:
            raise InvalidInput(
                M_("l must be between 1 and k (%(k)s), not %(l)s", k=self.k, l=self.diversity),
                where="diversity",
            )
        if self.diversity > 1 and not self.sensitive:
            raise InvalidInput(M_("l-diversity needs at least one sensitive column"), where="sensitive")
        if self.loss not in LOSSES:
            raise InvalidInput(
                M_("Unknown loss %(loss)s: use discernibility or ncp", loss=self.loss), where="loss"
            )
        for col, spec in self.quasi_identifiers.items():
            numeric = pa.types.is_integer(table.schema.field(col).type) or pa.types.is_floating(
                table.schema.field(col).type
            )
            if spec is None and (hierarchies_required or not numeric):
                raise InvalidInput(
                    M_("Quasi-identifier %(column)s needs a hierarchy", column=col),
                    where=f"quasi_identifiers.{col}",
                )

    def budget(self, rows: int) -> int:
        """Rows that may be suppressed: the share, rounded down (a budget never grows past what was given)."""
        return int(np.floor(self.suppression * rows + 1e-9))


@dataclass(frozen=True)
class Report:
    """What a release achieved, recomputed on the released table, and what it cost."""

    method: str
    k: int
    diversity: int | None
    rows: int
    suppressed: int
    classes: int
    discernibility: float
    ncp: float
    ncp_per_qi: dict[str, float]
    generalisation: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class Release:
    """The de-identified table (quasi-identifiers as text labels, suppressed rows left out), the positions of
    its rows in the input, and the report."""

    table: pa.Table
    kept: np.ndarray
    report: Report


def finish(
    method: str,
    released: pa.Table,
    kept: np.ndarray,
    rows_in: int,
    plan: Plan,
    ncp_per_qi: dict[str, float],
    generalisation: dict[str, dict],
) -> Release:
    """The release with its report: k, l and the classes recomputed from the released rows alone; a
    suppressed row costs the whole table in discernibility and full loss (1) in NCP."""
    seen = check(released, list(plan.quasi_identifiers), plan.sensitive)
    suppressed = rows_in - seen.rows
    report = Report(
        method=method,
        k=seen.k,
        diversity=seen.diversity,
        rows=seen.rows,
        suppressed=suppressed,
        classes=seen.classes,
        discernibility=seen.discernibility + float(suppressed) * rows_in,
        ncp=float(np.mean(list(ncp_per_qi.values()))),
        ncp_per_qi=ncp_per_qi,
        generalisation=generalisation,
    )
    return Release(released, kept, report)
