"""Full-domain generalisation: the least lossy level per quasi-identifier that makes the table k-anonymous."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from shuzhi.errors import Conflict, InvalidInput
from shuzhi.i18n import M_
from shuzhi.opendata.disclosure.encoding import Encoded, combine, distinct, encode
from shuzhi.opendata.disclosure.plan import Plan, Release, finish

MAX_NODES = 2_000_000
"""Combinations of levels the search will consider; more is a plan to narrow (fewer columns or levels)."""


@dataclass(frozen=True)
class Node:
    """One combination of levels, evaluated: whether it fits the budget, what it costs, and a lower bound
    on the cost of every generalisation of it (the same classes with none suppressed)."""

    anonymous: bool
    suppressed: int
    discernibility: float
    bound: float


class Lattice:
    """The table reduced to its distinct tuples (quasi-identifiers, sensitive values) with their counts, and
    every combination of levels, evaluated by integer group-bys over those tuples."""

    def __init__(self, qis: list[Encoded], sensitive: list[np.ndarray], plan: Plan, rows: int) -> None:
        self.qis, self.plan, self.rows = qis, plan, rows
        columns = [q.codes for q in qis] + sensitive
        cards = [len(q.maps[0]) for q in qis] + [int(s.max(initial=-1)) + 1 for s in sensitive]
        _, first, self.row_tuple, counts = np.unique(
            combine(columns, cards), return_index=True, return_inverse=True, return_counts=True
        )
        self.weights = counts.astype(np.int64)
        # groups[j][level]: each distinct tuple's group in quasi-identifier j at that level
        self.groups = [[m[q.codes[first]] for m in q.maps] for q in qis]
        self.sensitive = [s[first] for s in sensitive]
        self.heights = np.array([q.height for q in qis])
        shape = tuple(self.heights + 1)
        size = int(np.prod(shape, dtype=np.float64))
        if size > MAX_NODES:
            raise InvalidInput(
                M_("Too many combinations of levels (%(n)s): use fewer quasi-identifiers or levels", n=size),
                where="quasi_identifiers",
            )
        self.nodes = np.indices(shape).reshape(len(qis), -1).T.astype(np.int16)
        self.budget = plan.budget(rows)
        # NCP without suppression is a sum over columns of each column's mean loss at its level.
        self.level_ncp = [
            np.array([(q.ncp[lv][g[lv]] * self.weights).sum() / rows for lv in range(q.height + 1)])
            for q, g in zip(qis, self.groups, strict=True)
        ]
        self.cache: dict[int, Node] = {}

    def classes(self, levels: np.ndarray) -> tuple[np.ndarray, int]:
        """Each distinct tuple's class at these levels, and the number of class codes: a dense key when the
        levels leave few combinations (a count per key, no sort), else the keys renumbered."""
        groups = [g[lv] for g, lv in zip(self.groups, levels, strict=True)]
        cards = [len(q.labels[lv]) for q, lv in zip(self.qis, levels, strict=True)]
        key = combine(groups, cards)
        space = float(np.prod(cards, dtype=np.float64))
        if space <= 4 * len(key) + 1024:
            return key, int(space)
        uniq, cls = np.unique(key, return_inverse=True)
        return cls, len(uniq)

    def kept(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Class per distinct tuple, class sizes, and which classes are kept (k rows, l sensitive values)."""
        cls, n_classes = self.classes(self.nodes[index])
        sizes = np.bincount(cls, weights=self.weights, minlength=n_classes).astype(np.int64)
        ok = sizes >= self.plan.k
        for s in self.sensitive if self.plan.diversity > 1 else ():
            card = int(s.max()) + 1
            pairs = np.unique(cls * card + s)
            ok &= np.bincount(pairs // card, minlength=n_classes) >= self.plan.diversity
        return cls, sizes, ok

    def evaluate(self, index: int) -> Node:
        if index in self.cache:
            return self.cache[index]
        _, sizes, ok = self.kept(index)
        suppressed = int(sizes[~ok].sum())
        squares = sizes.astype(np.float64) ** 2
        node = Node(
            anonymous=suppressed <= self.budget,
            suppressed=suppressed,
            discernibility=float(squares[ok].sum() + float(suppressed) * self.rows),
            bound=float(squares.sum()) if self.plan.loss == "discernibility" else self.ncp_bound(index),
        )
        self.cache[index] = node
        return node

    def passing(self, index: int) -> np.ndarray:
        """Per distinct tuple: whether its class is kept at this node."""
        cls, _, ok = self.kept(index)
        return ok[cls]

    def ncp(self, index: int) -> float:
        """Mean loss over rows and quasi-identifiers, a suppressed row losing everything (1)."""
        return float(np.mean(list(self.ncp_per_qi(index).values())))

    def ncp_per_qi(self, index: int) -> dict[str, float]:
        passing, suppressed = self.passing(index), self.evaluate(index).suppressed
        out = {}
        for q, g, lv in zip(self.qis, self.groups, self.nodes[index], strict=True):
            loss = (q.ncp[lv][g[lv]] * self.weights)[passing].sum() + suppressed
            out[q.column] = float(loss / self.rows)
        return out

    def ncp_bound(self, index: int) -> float:
        levels = self.nodes[index]
        return float(sum(c[lv] for c, lv in zip(self.level_ncp, levels, strict=True)) / len(self.qis))

    def loss(self, index: int) -> float:
        return self.evaluate(index).discernibility if self.plan.loss == "discernibility" else self.ncp(index)

    def above(self, index: int) -> np.ndarray:
        return np.all(self.nodes >= self.nodes[index], axis=1)

    def below(self, index: int) -> np.ndarray:
        return np.all(self.nodes <= self.nodes[index], axis=1)


def _tag(lattice: Lattice) -> np.ndarray:
    """Anonymity of every node, evaluating few (Flash-style): binary searches along chains from the bottom
    up, since a generalisation of an anonymous node is anonymous and a specialisation of one that is not,
    is not."""
    status = np.zeros(len(lattice.nodes), dtype=np.int8)
    order = np.argsort(lattice.nodes.sum(axis=1), kind="stable")
    strides = np.cumprod((lattice.heights + 1)[::-1])[::-1]
    strides = np.append(strides[1:], 1)
    for start in order:
        if status[start]:
            continue
        path = [int(start)]
        while True:
            here = lattice.nodes[path[-1]]
            up = [path[-1] + int(strides[d]) for d in range(len(here)) if here[d] < lattice.heights[d]]
            up = [u for u in up if status[u] == 0]
            if not up:
                break
            path.append(up[0])
        lo, hi = 0, len(path) - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if lattice.evaluate(path[mid]).anonymous:
                status[lattice.above(path[mid]) & (status == 0)] = 1
                hi = mid - 1
            else:
                status[lattice.below(path[mid]) & (status == 0)] = -1
                lo = mid + 1
    return status


def search(lattice: Lattice) -> int | None:
    """The anonymous node of least loss. Anonymous nodes are visited bottom-up; one whose lower bound
    (inherited from the nodes below it) already reaches the best loss found is passed over with all above it."""
    status = _tag(lattice)
    candidates = np.flatnonzero(status == 1)
    if not len(candidates):
        return None
    candidates = candidates[np.argsort(lattice.nodes[candidates].sum(axis=1), kind="stable")]
    bound = np.zeros(len(lattice.nodes))
    if lattice.plan.loss == "ncp":
        bound = np.array([lattice.ncp_bound(i) for i in range(len(lattice.nodes))])
    best, best_loss = None, np.inf
    for c in candidates:
        if bound[c] >= best_loss:
            continue
        node = lattice.evaluate(int(c))
        loss = lattice.loss(int(c))
        if loss < best_loss:
            best, best_loss = int(c), loss
        if node.bound > bound[c]:
            above = lattice.above(int(c))
            bound[above] = np.maximum(bound[above], node.bound)
    return best


def generalise(table: pa.Table, plan: Plan) -> Release:
    """k-anonymise (and l-diversify) `table` by full-domain generalisation over the plan's hierarchies,
    suppressing the rows of classes still too small within the budget, at the least loss."""
    plan.validate(table, hierarchies_required=True)
    qis = [encode(table, col, spec) for col, spec in plan.quasi_identifiers.items()]
    sensitive = [distinct(table.column(s))[0] for s in plan.sensitive]
    lattice = Lattice(qis, sensitive, plan, table.num_rows)
    best = search(lattice)
    if best is None:
        top = lattice.evaluate(len(lattice.nodes) - 1)
        raise Conflict(
            M_(
                "k=%(k)s (l=%(l)s) cannot be reached with at most %(budget)s rows suppressed: even with every "
                "quasi-identifier generalised to * the release would need %(needed)s of %(rows)s rows suppressed",
                k=plan.k,
                l=plan.diversity,
                budget=lattice.budget,
                needed=top.suppressed,
                rows=table.num_rows,
            ),
            where="k",
        )
    levels = lattice.nodes[best]
    kept = np.flatnonzero(lattice.passing(best)[lattice.row_tuple])
    released = table
    for q, lv in zip(qis, levels, strict=True):
        released = released.set_column(
            released.schema.get_field_index(q.column), q.column, q.released(int(lv))
        )
    released = released.take(pa.array(kept))
    ncp_per_qi = lattice.ncp_per_qi(best)
    generalisation = {
        q.column: {"level": int(lv), "height": q.height} for q, lv in zip(qis, levels, strict=True)
    }
    return finish("full-domain", released, kept, table.num_rows, plan, ncp_per_qi, generalisation)
