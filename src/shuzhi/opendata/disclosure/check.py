"""The released table checked on its own: the k and l it achieves and its equivalence classes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class Check:
    """k: the smallest class; diversity: the fewest distinct values of a sensitive column in a class (None
    without sensitive columns); discernibility: the sum of squared class sizes (suppressed rows not counted)."""

    k: int
    diversity: int | None
    classes: int
    rows: int
    discernibility: float


def check(table: pa.Table, quasi_identifiers: Sequence[str], sensitive: Sequence[str] = ()) -> Check:
    """Group the released rows by their quasi-identifiers, as an attacker holding them would."""
    qis = list(quasi_identifiers)
    if table.num_rows == 0:
        return Check(0, 0 if sensitive else None, 0, 0, 0.0)
    all_values = pc.CountOptions(mode="all")
    aggregates = [([], "count_all")] + [(s, "count_distinct", all_values) for s in sensitive]
    groups = table.select([*qis, *sensitive]).group_by(qis).aggregate(aggregates)
    sizes = groups.column("count_all").to_numpy().astype(np.int64)
    diversity = None
    if sensitive:
        diversity = min(int(pc.min(groups.column(f"{s}_count_distinct")).as_py()) for s in sensitive)
    return Check(
        k=int(sizes.min()),
        diversity=diversity,
        classes=len(sizes),
        rows=int(sizes.sum()),
        discernibility=float((sizes.astype(np.float64) ** 2).sum()),
    )
