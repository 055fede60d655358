"""Differentially private statistics: counts, sums, means and histograms by declared groups, with OpenDP.

Every noisy figure comes from an OpenDP measurement (a transformation chained to a noise mechanism);
nothing here draws random numbers itself. A release has one total ε (and δ for the Gaussian
mechanism), split across its figures by their shares: sequential composition, so the release costs
the sum of its figures' budgets. Within one figure the groups are disjoint slices of the rows by a
public, declared key, so the figure costs its budget once (parallel composition), whatever the number
of groups; rows whose key is not declared fall into one "other" cell. Keys are never taken from the
data: a group that appears only because one person is in it would tell that the person is there.

OpenDP keeps most of its combinators behind the "contrib" feature (components whose proofs are
written but not yet reviewed by its maintainers): every one used here — count, count by categories,
clamp, sum, the Laplace and Gaussian mechanisms and the zCDP→(ε, δ) conversion — needs it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_

KINDS = ("count", "sum", "mean", "histogram")
MECHANISMS = ("laplace", "gaussian")
MAX_FIGURES = 50
MAX_CELLS = 1000
"""Groups (or bins) of one figure: each is a cell of the release."""
MAX_CONTRIBUTIONS = 1000


@cache
def _opendp():
    import opendp.prelude as dp

    dp.enable_features("contrib")  # every combinator used here is a "contrib" one (see the module's doc)
    return dp


@dataclass(frozen=True)
class Figure:
    """One statistic: its kind, the field it is over, the grouping field and its declared groups (or a
    histogram's declared categories or bin edges), the clamping bounds of a sum or mean, its share of
    the release's budget."""

    name: str
    kind: str
    field: str | None = None
    by: str | None = None
    groups: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    edges: tuple[float, ...] = ()
    bounds: tuple[float, float] | None = None
    share: float = 1.0


@dataclass(frozen=True)
class Spec:
    """What to release, under which budget: `epsilon` (and `delta`) for the whole release, each person
    in at most `contributions` rows, intervals at `confidence`."""

    figures: tuple[Figure, ...]
    epsilon: float
    delta: float = 0.0
    mechanism: str = "laplace"
    confidence: float = 0.95
    contributions: int = 1

    def budget_of(self, figure: Figure) -> tuple[float, float]:
        """The (ε, δ) a figure gets: its share of the release's (sequential composition)."""
        part = figure.share / sum(f.share for f in self.figures)
        return self.epsilon * part, self.delta * part

    def columns(self) -> list[str]:
        return sorted({c for f in self.figures for c in (f.field, f.by) if c})

    def to_dict(self) -> dict[str, Any]:
        return {
            "epsilon": self.epsilon,
            "delta": self.delta,
            "mechanism": self.mechanism,
            "confidence": self.confidence,
            "contributions": self.contributions,
            "figures": [_figure_dict(f) for f in self.figures],
        }


def _figure_dict(f: Figure) -> dict[str, Any]:
    out: dict[str, Any] = {"name": f.name, "kind": f.kind, "share": f.share}
    for key in ("field", "by", "bounds"):
        if getattr(f, key) is not None:
            out[key] = list(f.bounds) if key == "bounds" else getattr(f, key)
    for key in ("groups", "categories", "edges"):
        if getattr(f, key):
            out[key] = list(getattr(f, key))
    return out


# -- reading a spec ------------------------------------------------------------------------------


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput(
            M_("%(field)s must be a finite number, not %(value)r", field=where, value=value), where=where
        )
    return float(value)


def _required(data: Mapping, key: str, where: str) -> Any:
    if data.get(key) is None:
        raise InvalidInput(M_("%(field)s is required", field=where), where=where)
    return data[key]


def _epsilon(data: Mapping, max_epsilon: float) -> float:
    eps = _number(_required(data, "epsilon", "epsilon"), "epsilon")
    if eps <= 0:
        raise InvalidInput(M_("ε must be greater than 0, not %(value)s", value=eps), where="epsilon")
    if eps > max_epsilon:
        raise InvalidInput(
            M_("ε of %(value)s is more than the %(max)s one release may spend", value=eps, max=max_epsilon),
            where="epsilon",
        )
    return eps


def _delta(data: Mapping, mechanism: str, max_delta: float) -> float:
    delta = _number(data.get("delta", 0.0), "delta")
    if delta < 0 or delta > max_delta:
        raise InvalidInput(
            M_("δ must be between 0 and %(max)s, not %(value)s", max=max_delta, value=delta), where="delta"
        )
    if mechanism == "gaussian" and delta == 0:
        raise InvalidInput(M_("The Gaussian mechanism needs a δ greater than 0"), where="delta")
    if mechanism == "laplace" and delta > 0:
        raise InvalidInput(
            M_(
                "The Laplace mechanism is pure ε-differential privacy: δ must be 0, not %(value)s",
                value=delta,
            ),
            where="delta",
        )
    return delta


def _choice(data: Mapping, key: str, allowed: Sequence[str], default: str | None, where: str) -> str:
    value = data.get(key, default)
    if value not in allowed:
        raise InvalidInput(
            M_(
                "%(field)s must be one of %(allowed)s, not %(value)r",
                field=where,
                allowed=", ".join(allowed),
                value=value,
            ),
            where=where,
        )
    return value


def _labels(value: Any, where: str) -> tuple[str, ...]:
    """Declared group keys or categories: a non-empty list of distinct values, kept as text."""
    if not isinstance(value, list | tuple) or not value:
        raise InvalidInput(
            M_("%(field)s must be a non-empty list of declared values", field=where), where=where
        )
    if len(value) > MAX_CELLS:
        raise InvalidInput(
            M_("%(field)s has more than %(max)s values", field=where, max=MAX_CELLS), where=where
        )
    labels = tuple(str(v) for v in value)
    if "" in labels:  # the empty text stands for a missing key (see _counts_by)
        raise InvalidInput(M_("%(field)s lists an empty value", field=where), where=where)
    if len(set(labels)) != len(labels):
        raise InvalidInput(M_("%(field)s lists a value twice", field=where), where=where)
    return labels


def _bounds(data: Mapping, where: str) -> tuple[float, float]:
    raw = _required(data, "bounds", where)
    if not isinstance(raw, list | tuple) or len(raw) != 2:
        raise InvalidInput(M_("%(field)s must be two numbers: lower and upper", field=where), where=where)
    lo, hi = _number(raw[0], where), _number(raw[1], where)
    if lo >= hi:
        raise InvalidInput(
            M_("%(field)s: the lower bound must be below the upper one", field=where), where=where
        )
    return lo, hi


def _edges(value: Any, where: str) -> tuple[float, ...]:
    if not isinstance(value, list | tuple) or not 2 <= len(value) <= MAX_CELLS:
        raise InvalidInput(M_("%(field)s must list at least two bin edges", field=where), where=where)
    edges = tuple(_number(v, where) for v in value)
    if any(a >= b for a, b in zip(edges, edges[1:], strict=False)):
        raise InvalidInput(M_("%(field)s must be strictly increasing", field=where), where=where)
    return edges


def _figure(data: Any, i: int) -> Figure:
    at = f"figures[{i}]"
    if not isinstance(data, Mapping):
        raise InvalidInput(M_("%(field)s must be an object", field=at), where=at)
    kind = _choice(data, "kind", KINDS, None, f"{at}.kind")
    field = data.get("field")
    if kind != "count" and not field:
        raise InvalidInput(M_("%(field)s is required", field=at + ".field"), where=f"{at}.field")
    by = data.get("by")
    if kind == "histogram" and by:
        raise InvalidInput(
            M_("A histogram is grouped by its own bins: leave out %(field)s", field=at + ".by"),
            where=f"{at}.by",
        )
    groups = _labels(data.get("groups"), f"{at}.groups") if by else ()
    if data.get("groups") and not by:
        raise InvalidInput(M_("Groups need a grouping field (%(field)s)", field=at + ".by"), where=f"{at}.by")
    categories, edges = (), ()
    if kind == "histogram":
        if (data.get("categories") is None) == (data.get("edges") is None):
            raise InvalidInput(
                M_(
                    "A histogram needs either declared categories or bin edges (%(field)s)",
                    field=at + ".categories",
                ),
                where=f"{at}.categories",
            )
        if data.get("edges") is not None:
            edges = _edges(data["edges"], f"{at}.edges")
        else:
            categories = _labels(data["categories"], f"{at}.categories")
    share = _number(data.get("share", 1.0), f"{at}.share")
    if share <= 0:
        raise InvalidInput(M_("%(field)s must be greater than 0", field=at + ".share"), where=f"{at}.share")
    return Figure(
        name=str(data.get("name") or f"{kind}_{i + 1}"),
        kind=kind,
        field=str(field) if field else None,
        by=str(by) if by else None,
        groups=groups,
        categories=categories,
        edges=edges,
        bounds=_bounds(data, f"{at}.bounds") if kind in ("sum", "mean") else None,
        share=share,
    )


def parse_spec(data: Any, *, max_epsilon: float, max_delta: float) -> Spec:
    """A spec from its JSON form, every field checked: a bad one is refused naming where it is."""
    if not isinstance(data, Mapping):
        raise InvalidInput(M_("The statistics spec must be an object"), where="spec")
    mechanism = _choice(data, "mechanism", MECHANISMS, "laplace", "mechanism")
    figures = data.get("figures")
    if not isinstance(figures, list) or not figures:
        raise InvalidInput(M_("Name at least one figure to release"), where="figures")
    if len(figures) > MAX_FIGURES:
        raise InvalidInput(M_("At most %(max)s figures per release", max=MAX_FIGURES), where="figures")
    parsed = tuple(_figure(f, i) for i, f in enumerate(figures))
    names = [f.name for f in parsed]
    if len(set(names)) != len(names):
        raise InvalidInput(M_("Two figures have the same name"), where="figures")
    confidence = _number(data.get("confidence", 0.95), "confidence")
    if not 0.5 <= confidence < 1:
        raise InvalidInput(
            M_("confidence must be at least 0.5 and below 1, not %(value)s", value=confidence),
            where="confidence",
        )
    contributions = data.get("contributions", 1)
    if (
        isinstance(contributions, bool)
        or not isinstance(contributions, int)
        or not 1 <= contributions <= MAX_CONTRIBUTIONS
    ):
        raise InvalidInput(
            M_(
                "contributions (rows per person at most) must be a whole number from 1 to %(max)s",
                max=MAX_CONTRIBUTIONS,
            ),
            where="contributions",
        )
    return Spec(
        figures=parsed,
        epsilon=_epsilon(data, max_epsilon),
        delta=_delta(data, mechanism, max_delta),
        mechanism=mechanism,
        confidence=confidence,
        contributions=contributions,
    )


def check_columns(spec: Spec, schema: pa.Schema) -> None:
    """Every field the spec names is a column; sums, means and binned histograms are over numbers."""
    for i, f in enumerate(spec.figures):
        for key in ("field", "by"):
            name = getattr(f, key)
            if name and name not in schema.names:
                raise InvalidInput(
                    M_("Column %(column)s is not in the table", column=name), where=f"figures[{i}].{key}"
                )
        numeric = f.kind in ("sum", "mean") or bool(f.edges)
        if numeric and not _is_number(schema.field(f.field).type):
            raise InvalidInput(
                M_("Column %(column)s is not numeric: it cannot be summed or binned", column=f.field),
                where=f"figures[{i}].field",
            )


def _is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)


# -- measurements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Noise:
    """A figure's noise: the measurement made for one scale, the scale OpenDP's search found for the
    figure's budget, and the accuracy OpenDP states for that scale."""

    measurement: Any
    scale: float
    accuracy: float


def _noise(spec: Spec, budget: tuple[float, float], make_query, *, integer: bool, alpha: float) -> Noise:
    """The chain `make_query()` with noise scaled so that it spends no more than `budget` (ε, δ) on
    `spec.contributions` rows per person: OpenDP's binary search over the scale finds it."""
    dp = _opendp()
    eps, delta = budget

    def chain(scale: float):
        query = make_query()
        if spec.mechanism == "laplace":
            return query >> dp.m.then_laplace(scale=scale)
        zcdp = query >> dp.m.then_gaussian(scale=scale)
        return dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(zcdp), delta=delta)

    target = eps if spec.mechanism == "laplace" else (eps, delta)
    scale = dp.binary_search_param(
        chain, d_in=spec.contributions, d_out=target, bounds=_scale_bounds(spec, make_query(), eps, delta)
    )
    return Noise(chain(scale), scale, _accuracy(spec.mechanism, scale, alpha, integer=integer))


def _scale_bounds(spec: Spec, query, eps: float, delta: float) -> tuple[float, float]:
    """Where OpenDP's search looks for the scale: up to well beyond the textbook one, so that it never
    wanders into scales whose privacy loss overflows (large bounds under the Gaussian mechanism)."""
    sensitivity = max(float(query.map(spec.contributions)), 1.0)
    textbook = sensitivity / eps
    if spec.mechanism == "gaussian":
        textbook *= math.sqrt(2 * math.log(1.25 / delta))
    return textbook / 10, textbook * 10


def _accuracy(mechanism: str, scale: float, alpha: float, *, integer: bool) -> float:
    """Half-width of the (1 - alpha) interval around one noisy value, as OpenDP states it."""
    dp = _opendp()
    fn = {
        ("laplace", True): dp.discrete_laplacian_scale_to_accuracy,
        ("laplace", False): dp.laplacian_scale_to_accuracy,
        ("gaussian", True): dp.discrete_gaussian_scale_to_accuracy,
        ("gaussian", False): dp.gaussian_scale_to_accuracy,
    }[(mechanism, integer)]
    return float(fn(scale, alpha))


def _text_space():
    dp = _opendp()
    return dp.vector_domain(dp.atom_domain(T=str)), dp.symmetric_distance()


def _number_space():
    dp = _opendp()
    return dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()


def _counts_by(
    spec: Spec, figure: Figure, labels: list[str | None], keys: tuple[str, ...], alpha: float
) -> tuple[list[dict], dict]:
    """Noisy counts of rows per declared key (and one "other" cell for the rest): one OpenDP vector
    query, each row in exactly one cell."""
    dp = _opendp()
    metric = dp.L1Distance[int] if spec.mechanism == "laplace" else dp.L2Distance[int]

    def query():
        return _text_space() >> dp.t.then_count_by_categories(
            categories=list(keys), null_category=True, MO=metric
        )

    noise = _noise(spec, spec.budget_of(figure), query, integer=True, alpha=alpha)
    # The "other" cell counts the rows whose key is null or not declared: the text a null never matches.
    values = noise.measurement([v if v is not None else "" for v in labels])
    cells = [_cell(k, v, noise.accuracy) for k, v in zip(keys, values, strict=False)]
    return cells + [_cell(None, values[-1], noise.accuracy) | {"other": True}], {"scale": noise.scale}


def _cell(group: str | None, value: float | None, accuracy: float | None) -> dict:
    return {"group": group, "value": value, "accuracy": accuracy}


def _sum_noise(spec: Spec, figure: Figure, budget: tuple[float, float], alpha: float) -> Noise:
    dp = _opendp()

    def query():
        return _number_space() >> dp.t.then_clamp(figure.bounds) >> dp.t.then_sum()

    return _noise(spec, budget, query, integer=False, alpha=alpha)


def _count_noise(spec: Spec, budget: tuple[float, float], alpha: float) -> Noise:
    dp = _opendp()
    return _noise(spec, budget, lambda: _number_space() >> dp.t.then_count(), integer=True, alpha=alpha)


class _Groups:
    """The rows of a table sliced by a figure's declared groups (the whole table when it has none);
    rows whose key is not declared go to the "other" slice. The slices are disjoint."""

    def __init__(self, table: pa.Table, figure: Figure) -> None:
        self.keys: list[str | None] = [*figure.groups, None] if figure.by else [None]
        self.labels = _as_text(table.column(figure.by)) if figure.by else None

    def values(self, column: pa.ChunkedArray) -> list[list[float]]:
        """The non-null, non-NaN values of `column` per slice, as floats."""
        floats = pc.cast(column, pa.float64()).to_pylist()
        slots: dict[str | None, list[float]] = {k: [] for k in self.keys}
        for i, v in enumerate(floats):
            if v is None or math.isnan(v):
                continue
            key = None if self.labels is None else self.labels[i]
            slots[key if key in slots else None].append(v)
        return [slots[k] for k in self.keys]

    def cell(self, key: str | None, value, accuracy) -> dict:
        cell = _cell(key, value, accuracy)
        return cell | {"other": True} if self.labels is not None and key is None else cell


def _as_text(column: pa.ChunkedArray) -> list[str | None]:
    return pc.cast(column, pa.string()).to_pylist()


def _sums(spec: Spec, figure: Figure, table: pa.Table, alpha: float) -> tuple[list[dict], dict]:
    groups = _Groups(table, figure)
    noise = _sum_noise(spec, figure, spec.budget_of(figure), alpha)
    cells = [
        groups.cell(k, noise.measurement(vals), noise.accuracy)
        for k, vals in zip(groups.keys, groups.values(table.column(figure.field)), strict=True)
    ]
    return cells, {"scale": noise.scale}


def _means(spec: Spec, figure: Figure, table: pa.Table, alpha: float) -> tuple[list[dict], dict]:
    """Noisy sum over noisy count per slice, each at half the figure's budget. Its interval joins the
    two OpenDP states (each at alpha / 2, so both hold with 1 - alpha): |S/C - s/c| <= (a_s + m a_c) / |C|,
    m the larger bound in magnitude (the true mean lies within the bounds)."""
    eps, delta = spec.budget_of(figure)
    half = (eps / 2, delta / 2)
    sum_noise, count_noise = _sum_noise(spec, figure, half, alpha / 2), _count_noise(spec, half, alpha / 2)
    m = max(abs(b) for b in figure.bounds)
    groups = _Groups(table, figure)
    cells = []
    for key, vals in zip(groups.keys, groups.values(table.column(figure.field)), strict=True):
        total, count = sum_noise.measurement(vals), count_noise.measurement(vals)
        if count < 1:
            cells.append(groups.cell(key, None, None))  # too few values to divide by: no mean to state
            continue
        lo, hi = figure.bounds
        mean = min(max(total / count, lo), hi)
        cells.append(groups.cell(key, mean, (sum_noise.accuracy + m * count_noise.accuracy) / count))
    return cells, {"sum_scale": sum_noise.scale, "count_scale": count_noise.scale}


def _bins(table: pa.Table, figure: Figure) -> tuple[list[str | None], tuple[str, ...]]:
    """Each row's bin label ("[a, b)", the last one closed), None outside the edges or null."""
    edges = figure.edges
    names = tuple(
        f"[{_fmt(a)}, {_fmt(b)}{']' if i == len(edges) - 2 else ')'}"
        for i, (a, b) in enumerate(zip(edges, edges[1:], strict=False))
    )
    labels: list[str | None] = []
    for v in pc.cast(table.column(figure.field), pa.float64()).to_pylist():
        if v is None or math.isnan(v) or not edges[0] <= v <= edges[-1]:
            labels.append(None)
            continue
        labels.append(names[min(bisect.bisect_right(edges, v) - 1, len(names) - 1)])
    return labels, names


def _fmt(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


def _figure_cells(spec: Spec, figure: Figure, table: pa.Table, alpha: float) -> tuple[list[dict], dict]:
    """The figure's cells, and the scale of the noise OpenDP added to them."""
    if figure.kind == "sum":
        return _sums(spec, figure, table, alpha)
    if figure.kind == "mean":
        return _means(spec, figure, table, alpha)
    if figure.kind == "histogram":
        if figure.edges:
            labels, names = _bins(table, figure)
            return _counts_by(spec, figure, labels, names, alpha)
        return _counts_by(spec, figure, _as_text(table.column(figure.field)), figure.categories, alpha)
    if figure.by:
        return _counts_by(spec, figure, _as_text(table.column(figure.by)), figure.groups, alpha)
    count = lambda: _text_space() >> _opendp().t.then_count()  # noqa: E731
    noise = _noise(spec, spec.budget_of(figure), count, integer=True, alpha=alpha)
    return [_cell(None, noise.measurement([""] * table.num_rows), noise.accuracy)], {"scale": noise.scale}


def compute(source: Any, spec: Spec) -> list[dict]:
    """The spec's figures over `source` (an Arrow table, or a DuckDB relation read into one), each
    with its budget, mechanism and cells: group, noisy value and the half-width of its interval at the
    spec's confidence (`accuracy`, per cell: each holds with that confidence, not all at once)."""
    table = source if isinstance(source, pa.Table) else source.to_arrow_table()
    check_columns(spec, table.schema)
    alpha = 1 - spec.confidence
    out = []
    for figure in spec.figures:
        eps, delta = spec.budget_of(figure)
        cells, noise = _figure_cells(spec, figure, table, alpha)
        out.append(
            _figure_dict(figure)
            | {
                "epsilon": eps,
                "delta": delta,
                "mechanism": spec.mechanism,
                "confidence": spec.confidence,
                "noise": noise,
                "cells": cells,
            }
        )
    return out
