"""Why two records are (or are not) one entity: the comparison levels that applied and their match weights.

A pair's match weight is the prior's weight, log2(λ / (1 − λ)) with λ the probability that two
random records match, plus for each comparison the weight of the level that applied,
log2(m / u), plus the term frequency adjustment of that level when it has one. `explain` lists
these terms as rows; they sum to the pair's match weight.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.registry.linkage import Linkage


@dataclass(frozen=True)
class Term:
    comparison: str
    """The compared column, or "prior"."""
    level: str
    """The label of the level that applied (Splink's label), or the prior's description."""
    gamma: int | None
    m_probability: float | None
    u_probability: float | None
    match_weight: float
    """This term's share of the pair's match weight (log2 of its Bayes factor), tf adjustment included."""
    tf_adjustment: float = 0.0
    """Of `match_weight`, the part due to the frequency of the shared value."""

    @property
    def bayes_factor(self) -> float:
        return 2.0**self.match_weight


@dataclass(frozen=True)
class Explanation:
    record_key_l: str
    record_key_r: str
    match_weight: float
    match_probability: float
    terms: list[Term] = field(default_factory=list)
    matched_by: str | None = None
    """How the linkage linked the pair ("identifier" | "probabilistic"), or none when it did not."""
    decision: str | None = None
    """"link" | "review", or none: the pair scored below the bands or was never compared."""

    def as_dict(self) -> dict:
        out = asdict(self)
        for term, row in zip(self.terms, out["terms"], strict=True):
            row["bayes_factor"] = term.bayes_factor
        return out


def explain(linkage: Linkage, key_l: str, key_r: str) -> Explanation:
    """The terms of the match weight of records `key_l` and `key_r` under the linkage's trained
    model (whether or not blocking put them side by side)."""
    record_l, record_r = _record(linkage, key_l), _record(linkage, key_r)
    linker, db_api = _scorer(linkage)
    scored = linker.inference.score_pair(db_api.register(record_l), db_api.register(record_r))
    scored = scored.as_record_list()[0]
    model = linkage.model
    prior = model["probability_two_random_records_match"]
    terms = [Term("prior", "probability two random records match", None, None, None, _logit2(prior))]
    terms += [_term(comparison, scored) for comparison in model["comparisons"]]
    matched_by, decision = _outcome(linkage.pairs, key_l, key_r)
    return Explanation(
        key_l, key_r, scored["match_weight"], scored["match_probability"], terms, matched_by, decision
    )


def _outcome(pairs: pa.Table, key_l: str, key_r: str) -> tuple[str | None, str | None]:
    low, high = sorted((key_l, key_r))
    found = pairs.filter(pc.and_(pc.equal(pairs["record_key_l"], low), pc.equal(pairs["record_key_r"], high)))
    if found.num_rows == 0:
        return None, None
    row = found.slice(0, 1).to_pylist()[0]
    return row["matched_by"], row["decision"]


def _term(comparison: dict, scored: dict) -> Term:
    name = comparison["output_column_name"]
    gamma = scored[f"gamma_{name}"]
    level = _level(comparison["comparison_levels"], gamma)
    weight = scored[f"mw_{name}"]
    tf = scored.get(f"mw_tf_adj_{name}") or 0.0
    label = level.get("label_for_charts") or level.get("sql_condition", "")
    return Term(name, label, gamma, level.get("m_probability"), level.get("u_probability"), weight + tf, tf)


def _level(levels: list[dict], gamma: int) -> dict:
    # Splink numbers a comparison's levels from the top: the null level is -1, the others count down
    # to 0 (the else level) in the order they are listed.
    counted = [lv for lv in levels if not lv.get("is_null_level")]
    if gamma == -1:
        return next(lv for lv in levels if lv.get("is_null_level"))
    return counted[len(counted) - 1 - gamma]


def _logit2(p: float) -> float:
    return math.log2(p / (1 - p))


def _record(linkage: Linkage, key: str) -> pa.Table:
    """The record as a one-row table: its column types kept, which a dict would lose for nulls."""
    rows = linkage.records.filter(pc.equal(linkage.records.column("record_key"), key))
    if rows.num_rows == 0:
        raise NotFound(M_("registry record %(key)s not found", key=key))
    return rows.slice(0, 1)


def _scorer(linkage: Linkage):
    """A linker of the trained model that keeps each comparison's weight (made once per linkage)."""
    cached = getattr(linkage, "_scorer", None)
    if cached is not None:
        return cached
    from splink import DuckDBAPI, Linker

    db_api = DuckDBAPI()
    # Term frequencies come from the records themselves, as when the pairs were predicted.
    frame = db_api.register(linkage.records, table_name="__registry_records")
    model = {
        **linkage.model,
        "retain_intermediate_calculation_columns": True,
        "retain_matching_columns": True,
    }
    model["blocking_rules_to_generate_predictions"] = [
        {k: v for k, v in rule.items() if k != "sql_dialect"} if isinstance(rule, dict) else rule
        for rule in model.get("blocking_rules_to_generate_predictions", [])
    ]
    linker = Linker(frame, model, log_level=logging.ERROR)
    linkage._scorer = (linker, db_api)
    return linkage._scorer
