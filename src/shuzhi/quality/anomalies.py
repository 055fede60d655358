"""Anomalies in a version's metrics: pure comparisons with the dataset's earlier versions.

Metrics are the row count and, per column, the null share, the distinct count and (numeric columns)
the mean. Each metric of the new version is compared with the same metric of the earlier versions
(oldest first, the previous version last):

- with at least `min_points` earlier values whose spread is not nil, by its z-score against their
  mean and sample standard deviation: |z| ≥ `z` is an anomaly, unless the change against that mean
  is below `min_change` (relative; share points for null shares);
- otherwise, against the previous version alone: a relative change of the rows, distinct count or
  mean of at least its limit, or a rise of a null share of at least `null_rise` share points.

A null share is only anomalous when it rises (fewer empty values is no warning); a distinct count
that moved with the column's non-empty rows and no further is not reported (the rows say it).
docs/quality-supervision.md.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Limits:
    """The thresholds (the `[quality]` settings of the same names, without `anomaly_`)."""

    min_points: int = 4
    z: float = 3.0
    min_change: float = 0.05
    rows_change: float = 0.3
    null_rise: float = 0.2
    distinct_change: float = 0.5
    mean_change: float = 0.5

    @classmethod
    def of(cls, settings) -> Limits:
        q = settings.quality
        return cls(
            min_points=q.anomaly_min_points,
            z=q.anomaly_z,
            min_change=q.anomaly_min_change,
            rows_change=q.anomaly_rows_change,
            null_rise=q.anomaly_null_rise,
            distinct_change=q.anomaly_distinct_change,
            mean_change=q.anomaly_mean_change,
        )


@dataclass(frozen=True)
class Anomaly:
    """One metric out of line, with the figures that show it."""

    metric: str
    """rows, null_share, distinct or mean."""
    column: str | None
    value: float
    previous: float
    """The previous version's value."""
    baseline: float
    """What it was judged against: the earlier values' mean (z-score) or the previous value (ratio)."""
    change: float
    """Relative change against the baseline (share points for null shares)."""
    method: str
    """zscore or ratio."""
    z: float | None
    threshold: float
    """The limit crossed: |z| for a z-score, the change for a ratio."""

    def as_dict(self) -> dict:
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _relative(value: float, base: float) -> float:
    if base == 0:
        return 0.0 if value == 0 else math.inf
    return (value - base) / abs(base)


def _change(metric: str, value: float, base: float) -> float:
    return value - base if metric == "null_share" else _relative(value, base)


def _ratio_limit(metric: str, limits: Limits) -> float:
    return {
        "rows": limits.rows_change,
        "null_share": limits.null_rise,
        "distinct": limits.distinct_change,
        "mean": limits.mean_change,
    }[metric]


def judge(metric: str, column: str | None, value, history: Sequence, limits: Limits) -> Anomaly | None:
    """The anomaly of one metric against its earlier values (oldest first), or None."""
    earlier = [float(v) for v in history if v is not None]
    if value is None or not earlier:
        return None
    value, previous = float(value), earlier[-1]
    rising_only = metric == "null_share"
    if len(earlier) >= limits.min_points:
        mean, spread = statistics.fmean(earlier), statistics.stdev(earlier)
        if spread > 0:
            z = (value - mean) / spread
            change = _change(metric, value, mean)
            out_of_line = (z >= limits.z) if rising_only else (abs(z) >= limits.z)
            if out_of_line and abs(change) >= limits.min_change:
                return Anomaly(metric, column, value, previous, mean, _finite(change), "zscore", z, limits.z)
            return None
    limit = _ratio_limit(metric, limits)
    change = _change(metric, value, previous)
    crossed = change >= limit if rising_only else abs(change) >= limit
    if crossed:
        return Anomaly(metric, column, value, previous, previous, _finite(change), "ratio", None, limit)
    return None


def _finite(change: float) -> float:
    """JSON has no infinity: a change from nothing counts as a 100-fold one."""
    return change if math.isfinite(change) else math.copysign(100.0, change)


def compare(current: dict, earlier: Sequence[dict], limits: Limits) -> list[Anomaly]:
    """Every anomaly of a version's metrics (`{"rows", "columns": {name: {...}}}`) against the
    earlier versions' metrics, oldest first. A column the earlier versions lack is not judged."""
    found = []
    hit = judge("rows", None, current["rows"], [m["rows"] for m in earlier], limits)
    if hit:
        found.append(hit)
    for name, col in current["columns"].items():
        for metric in ("null_share", "distinct", "mean"):
            past = [m["columns"].get(name, {}).get(metric) for m in earlier]
            hit = judge(metric, name, col.get(metric), past, limits)
            if hit and not (metric == "distinct" and _follows_rows(hit, current, earlier, name, limits)):
                found.append(hit)
    return found


def _present(metrics: dict, name: str) -> float | None:
    col = metrics["columns"].get(name)
    if col is None or col.get("null_share") is None:
        return None
    return metrics["rows"] * (1 - col["null_share"])


def _follows_rows(hit: Anomaly, current: dict, earlier: Sequence[dict], name: str, limits: Limits) -> bool:
    """A distinct count that moved with the column's non-empty rows, and no further, tells nothing
    the row count and null share do not: half the rows, half the distinct keys."""
    now, before = _present(current, name), _present(earlier[-1], name)
    if not now or not before:
        return False
    moved = now / before - 1
    return hit.change * moved >= 0 and abs(hit.change) <= abs(moved) + limits.min_change


def severity(found: Sequence[Anomaly], limits: Limits) -> str:
    """critical when the rows or a null share moved twice their limit or more; warning otherwise."""
    for a in found:
        if a.metric in ("rows", "null_share") and abs(a.change) >= 2 * _ratio_limit(a.metric, limits):
            return "critical"
    return "warning"
