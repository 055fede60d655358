"""Multidimensional Mondrian: the table cut at medians, one dimension at a time, into k-sized boxes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import Conflict, InvalidInput
from shuzhi.i18n import M_
from shuzhi.opendata.disclosure.encoding import distinct, encode
from shuzhi.opendata.disclosure.plan import Plan, Release, finish


@dataclass(frozen=True)
class Dimension:
    """A quasi-identifier as ordered positions: a number's rank among the column's values, or a value's place
    in its hierarchy read depth-first (so every subtree is a run of positions and a box's generalisation is
    the common ancestor of its first and last). `ancestors[level][position]` is the group at that level."""

    column: str
    rows: np.ndarray
    numbers: np.ndarray | None = None
    ancestors: np.ndarray | None = None
    labels: list[np.ndarray] | None = None
    ncp: list[np.ndarray] | None = None

    def common_level(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return np.argmax(self.ancestors[:, lo] == self.ancestors[:, hi], axis=0)

    def loss(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        if self.numbers is not None:
            span = self.numbers[-1] - self.numbers[0]
            return (self.numbers[hi] - self.numbers[lo]) / span if span > 0 else np.zeros(len(lo))
        level = self.common_level(lo, hi)
        groups = self.ancestors[level, lo]
        return np.array([self.ncp[lv][g] for lv, g in zip(level, groups, strict=True)])

    def cuts(self, lo: int, hi: int) -> np.ndarray:
        """Where a box spanning positions lo..hi may be cut (after each position): anywhere for numbers;
        between children of the common ancestor for a hierarchy, so each side keeps to whole subtrees."""
        if self.numbers is not None:
            return np.ones(hi - lo, dtype=bool)
        level = int(self.common_level(np.array([lo]), np.array([hi]))[0])
        child = self.ancestors[level - 1, lo : hi + 1]
        return child[:-1] != child[1:]

    def label(self, lo: np.ndarray, hi: np.ndarray) -> tuple[pa.Array, dict]:
        if self.numbers is not None:
            a, b = _number_text(self.numbers[lo]), _number_text(self.numbers[hi])
            text = np.where(a == b, a, a + "-" + b)
            ranges = sorted(
                {(float(x), float(y)) for x, y in zip(self.numbers[lo], self.numbers[hi], strict=True)}
            )
            return pa.array(text, pa.string()), {"ranges": [list(r) for r in ranges]}
        level = self.common_level(lo, hi)
        groups = self.ancestors[level, lo]
        text = [self.labels[lv][g] for lv, g in zip(level, groups, strict=True)]
        return pa.array(text, pa.string()), {
            "levels": sorted({int(v) for v in level}),
            "labels": len(set(text)),
        }


def _number_text(x: np.ndarray) -> np.ndarray:
    whole = np.all(x == np.floor(x))
    return (x.astype(np.int64) if whole else x).astype(str).astype(object)


def _dimension(table: pa.Table, column: str, spec) -> Dimension:
    if spec is None:
        col = table.column(column)
        if col.null_count:
            raise InvalidInput(
                M_("Column %(column)s has missing values: give it a hierarchy to cut it", column=column),
                where=f"quasi_identifiers.{column}",
            )
        x = pc.cast(col, pa.float64()).to_numpy()
        if not np.isfinite(x).all():  # no span to cut, and no label to publish
            raise InvalidInput(
                M_(
                    "Column %(column)s holds NaN or infinite values: give it a hierarchy to cut it",
                    column=column,
                ),
                where=f"quasi_identifiers.{column}",
            )
        numbers, rows = np.unique(x, return_inverse=True)
        return Dimension(column, rows.astype(np.int64), numbers=numbers)
    enc = encode(table, column, spec)
    order = np.lexsort(enc.maps)  # the top level last: the primary key, so subtrees come out contiguous
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    ancestors = np.stack([m[order] for m in enc.maps])
    return Dimension(column, place[enc.codes], ancestors=ancestors, labels=enc.labels, ncp=enc.ncp)


def _split(dim: Dimension, col: np.ndarray, lo: int, hi: int, k: int) -> np.ndarray | None:
    """The side of a median cut holding the lower positions, or None when no cut leaves k rows each side."""
    counts = np.bincount(col - lo, minlength=hi - lo + 1)
    before = np.cumsum(counts)[:-1]
    size = len(col)
    valid = dim.cuts(lo, hi) & (before >= k) & (size - before >= k)
    if not valid.any():
        return None
    at = np.flatnonzero(valid)
    t = at[np.argmin(np.abs(before[at] - size / 2))]
    return col <= lo + t


def _diverse(sensitive: list[np.ndarray], idx: np.ndarray, l_min: int) -> bool:
    return all(len(np.unique(s[idx])) >= l_min for s in sensitive)


def partition(dims: list[Dimension], sensitive: list[np.ndarray], k: int, l_min: int) -> list[tuple]:
    """Strict Mondrian: cut the widest dimension (by normalised loss) at its median, both sides at least
    k rows (and l-diverse); try the next widest when it cannot be cut; a box no dimension can cut is final."""
    matrix = np.stack([d.rows for d in dims], axis=1)
    done = []
    todo = [np.arange(len(matrix))]
    while todo:
        idx = todo.pop()
        box = matrix[idx]
        lo, hi = box.min(axis=0), box.max(axis=0)
        widths = np.array([d.loss(lo[j : j + 1], hi[j : j + 1])[0] for j, d in enumerate(dims)])
        halves = None
        for j in np.argsort(-widths, kind="stable"):
            if widths[j] <= 0:
                break
            side = _split(dims[j], box[:, j], int(lo[j]), int(hi[j]), k)
            if side is None:
                continue
            left, right = idx[side], idx[~side]
            if l_min == 1 or (_diverse(sensitive, left, l_min) and _diverse(sensitive, right, l_min)):
                halves = [left, right]
                break
        if halves is None:
            done.append((idx, lo, hi))
        else:
            todo += halves
    return done


def mondrian(table: pa.Table, plan: Plan) -> Release:
    """k-anonymise (and l-diversify) `table` by strict multidimensional Mondrian: numeric quasi-identifiers
    without a hierarchy become ranges, the others their rows' common ancestor in the hierarchy."""
    plan.validate(table, hierarchies_required=False)
    dims = [_dimension(table, col, spec) for col, spec in plan.quasi_identifiers.items()]
    sensitive = [distinct(table.column(s))[0] for s in plan.sensitive]
    n = table.num_rows
    everyone = np.arange(n)
    if n < plan.k or (plan.diversity > 1 and not _diverse(sensitive, everyone, plan.diversity)):
        reached_l = min((len(np.unique(s)) for s in sensitive), default=None)
        raise Conflict(
            M_(
                "k=%(k)s (l=%(l)s) cannot be reached: the whole table has %(rows)s rows and l=%(reached)s",
                k=plan.k,
                l=plan.diversity,
                rows=n,
                reached=reached_l,
            ),
            where="k",
        )
    boxes = partition(dims, sensitive, plan.k, plan.diversity)
    box_of = np.empty(n, dtype=np.int64)
    for b, (idx, _, _) in enumerate(boxes):
        box_of[idx] = b
    sizes = np.array([len(idx) for idx, _, _ in boxes], dtype=np.float64)
    lows, highs = np.stack([lo for _, lo, _ in boxes]), np.stack([hi for _, _, hi in boxes])
    released, ncp_per_qi, generalisation = table, {}, {}
    rows = pa.array(box_of)
    for j, d in enumerate(dims):
        text, summary = d.label(lows[:, j], highs[:, j])
        released = released.set_column(
            released.schema.get_field_index(d.column), d.column, pc.take(text, rows)
        )
        ncp_per_qi[d.column] = float((d.loss(lows[:, j], highs[:, j]) * sizes).sum() / n)
        generalisation[d.column] = summary
    return finish("mondrian", released, everyone, n, plan, ncp_per_qi, generalisation)
