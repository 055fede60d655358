"""Quality scores: per rule, per dimension (GB/T 36344 / ISO 8000) and per version (docs/quality.md).

- A rule's score is 100 × (1 − failed / checked); a rule that checked nothing has none.
- A dimension's score is the weighted mean of its rules' scores (a rule's `weight`, 1 by default);
  a dimension with no scored rule is absent (None), never 0 nor 100.
- The version's score is the mean of the present dimensions' scores, each weighing the same: an
  absent dimension is left out and the others share its weight. No present dimension: no score.
- Blocked: a blocking rule failed at least one row (or, for a version rule, the version failed).
"""

from __future__ import annotations

from dataclasses import dataclass

from shuzhi.quality.kinds import DIMENSIONS


def rule_score(checked: int, failed: int) -> float | None:
    if checked <= 0:
        return None
    return round(100.0 * (1 - failed / checked), 4)


@dataclass(frozen=True)
class Scored:
    """One rule's part in the scores: its dimension, weight, score and whether it blocks."""

    dimension: str
    weight: float
    score: float | None
    failed: int = 0
    blocking: bool = False


def dimension_scores(results: list[Scored]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for dim in DIMENSIONS:
        scored = [r for r in results if r.dimension == dim and r.score is not None]
        total = sum(r.weight for r in scored)
        out[dim] = round(sum(r.weight * r.score for r in scored) / total, 4) if total else None
    return out


def version_score(dimensions: dict[str, float | None]) -> float | None:
    present = [v for v in dimensions.values() if v is not None]
    return round(sum(present) / len(present), 4) if present else None


def blocked(results: list[Scored]) -> bool:
    return any(r.blocking and r.failed > 0 for r in results)
