"""Differentially private figures: the spec refused where it is wrong, the noise at the scale and
within the accuracy OpenDP states."""

from __future__ import annotations

import math
import statistics

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.errors import InvalidInput
from shuzhi.opendata.disclosure.dp import compute, parse_spec

LIMITS = {"max_epsilon": 5.0, "max_delta": 1e-4}
GROUPS = 400
"""Cells of one figure in the statistical tests: each cell is one independent draw of noise."""


def spec(**kw):
    base = {"epsilon": 1.0, "figures": [{"kind": "count"}]}
    return parse_spec(base | kw, **LIMITS)


def refused(where: str, **kw) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        spec(**kw)
    assert e.value.where == where, (e.value.where, e.value.message)
    return e.value


def grouped_table(per_group: int = 3) -> pa.Table:
    """GROUPS groups of `per_group` rows each, every row's value 10: every true count is `per_group`
    and every true sum 10 × `per_group`."""
    keys = [f"g{i:03d}" for i in range(GROUPS) for _ in range(per_group)]
    return pa.table({"key": keys, "value": [10.0] * len(keys)})


GROUP_KEYS = [f"g{i:03d}" for i in range(GROUPS)]


# -- the spec ----------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [0, -1, 0.0, float("nan"), float("inf"), "1", True])
def test_epsilon_must_be_a_positive_number(eps):
    refused("epsilon", epsilon=eps)


def test_missing_or_absurd_epsilon_is_refused():
    with pytest.raises(InvalidInput) as e:
        parse_spec({"figures": [{"kind": "count"}]}, **LIMITS)
    assert e.value.where == "epsilon"
    err = refused("epsilon", epsilon=50)
    assert "5.0" in err.message


@given(st.floats(max_value=0, allow_nan=False))
@settings(max_examples=30, deadline=None)
def test_no_epsilon_at_or_below_zero_passes(eps):
    refused("epsilon", epsilon=eps)


@pytest.mark.parametrize(
    ("delta", "mechanism"),
    [(-1e-9, "laplace"), (0.5, "gaussian"), (1e-6, "laplace"), (0, "gaussian")],
)
def test_delta_fits_the_mechanism(delta, mechanism):
    refused("delta", delta=delta, mechanism=mechanism)


@pytest.mark.parametrize(
    ("figure", "where"),
    [
        ({"kind": "sum", "field": "value"}, "figures[0].bounds"),
        ({"kind": "mean", "field": "value", "bounds": [5, 1]}, "figures[0].bounds"),
        ({"kind": "mean", "field": "value", "bounds": [0, float("inf")]}, "figures[0].bounds"),
        ({"kind": "sum", "bounds": [0, 1]}, "figures[0].field"),
        ({"kind": "median", "field": "value"}, "figures[0].kind"),
        ({"kind": "count", "by": "key"}, "figures[0].groups"),
        ({"kind": "count", "groups": ["a"]}, "figures[0].by"),
        ({"kind": "count", "by": "key", "groups": ["a", "a"]}, "figures[0].groups"),
        ({"kind": "count", "by": "key", "groups": [""]}, "figures[0].groups"),
        ({"kind": "histogram", "field": "value"}, "figures[0].categories"),
        ({"kind": "histogram", "field": "value", "edges": [3, 2]}, "figures[0].edges"),
        ({"kind": "count", "share": 0}, "figures[0].share"),
    ],
)
def test_bad_figures_are_refused_where_they_are(figure, where):
    refused(where, figures=[figure])


def test_confidence_and_contributions_are_checked():
    refused("confidence", confidence=1.0)
    refused("contributions", contributions=0)
    refused("figures", figures=[])


def test_columns_must_exist_and_sums_be_numeric():
    table = pa.table({"key": ["a", "b"], "value": [1.0, 2.0]})
    for figure, where in [
        ({"kind": "count", "by": "nope", "groups": ["a"]}, "figures[0].by"),
        ({"kind": "sum", "field": "key", "bounds": [0, 1]}, "figures[0].field"),
    ]:
        with pytest.raises(InvalidInput) as e:
            compute(table, spec(figures=[figure]))
        assert e.value.where == where


# -- the noise ---------------------------------------------------------------------------------


def errors_against(figure: dict, truth: float) -> tuple[list[float], dict]:
    """The declared groups' errors (noisy minus true value) and the figure itself."""
    [out] = compute(grouped_table(), spec(epsilon=0.5, figures=[figure]))
    cells = [c for c in out["cells"] if not c.get("other")]
    assert [c["group"] for c in cells] == GROUP_KEYS
    return [c["value"] - truth for c in cells], out


def check_spread(errors: list[float], mean_abs: float, accuracy: float) -> None:
    """The errors look like the stated noise: their mean absolute size is the one the scale gives
    (within 25%, five standard errors over 400 draws: absent or mis-scaled noise fails), and about
    the stated share of them lie within the stated accuracy."""
    spread = statistics.fmean(abs(e) for e in errors)
    assert 0.75 * mean_abs < spread < 1.25 * mean_abs, (spread, mean_abs)
    within = sum(abs(e) <= accuracy for e in errors) / len(errors)
    assert 0.9 <= within <= 0.995, within


def test_counts_by_group_have_laplace_noise_at_the_stated_scale():
    errors, out = errors_against({"kind": "count", "by": "key", "groups": GROUP_KEYS}, truth=3)
    scale = out["noise"]["scale"]
    assert scale == pytest.approx(1 / 0.5, rel=1e-6)  # sensitivity 1 over ε
    assert all(isinstance(e, int) for e in errors)  # counts get integer (discrete Laplace) noise
    accuracy = out["cells"][0]["accuracy"]
    assert accuracy == pytest.approx(-scale * math.log(0.05), abs=1.0)
    # E|X| of the discrete Laplace with scale b: 2·p/(1−p²) with p = e^(−1/b).
    p = math.exp(-1 / scale)
    check_spread(errors, 2 * p / (1 - p * p), accuracy)


def test_sums_by_group_are_clamped_and_noised_by_their_bounds():
    figure = {"kind": "sum", "field": "value", "bounds": [0, 4], "by": "key", "groups": GROUP_KEYS}
    errors, out = errors_against(figure, truth=3 * 4.0)  # each 10 clamped to 4
    scale = out["noise"]["scale"]
    assert scale == pytest.approx(4 / 0.5, rel=1e-3)
    check_spread(errors, scale, out["cells"][0]["accuracy"])


def test_gaussian_noise_matches_its_scale():
    figure = {"kind": "count", "by": "key", "groups": GROUP_KEYS}
    [out] = compute(
        grouped_table(),
        spec(epsilon=0.5, delta=1e-6, mechanism="gaussian", figures=[figure]),
    )
    errors = [c["value"] - 3 for c in out["cells"] if not c.get("other")]
    sigma = out["noise"]["scale"]
    assert 5 < sigma < 20  # the (ε, δ) → σ of the Gaussian mechanism at ε 0.5, δ 1e-6
    check_spread(errors, sigma * math.sqrt(2 / math.pi), out["cells"][0]["accuracy"])


def test_means_lie_within_their_stated_accuracy():
    figure = {"kind": "mean", "field": "value", "bounds": [0, 20], "by": "key", "groups": GROUP_KEYS}
    [out] = compute(grouped_table(per_group=40), spec(epsilon=2.0, figures=[figure]))
    cells = [c for c in out["cells"] if not c.get("other")]
    stated = [c for c in cells if c["value"] is not None]
    assert len(stated) > 0.9 * GROUPS
    assert all(0 <= c["value"] <= 20 for c in stated)
    within = sum(abs(c["value"] - 10) <= c["accuracy"] for c in stated) / len(stated)
    assert within >= 0.9
    assert statistics.pstdev(c["value"] for c in stated) > 0.05  # noise is there


def test_budget_is_split_across_figures_by_share():
    s = spec(
        epsilon=1.2,
        figures=[{"kind": "count", "share": 2}, {"kind": "count", "name": "other_count"}],
    )
    a, b = compute(pa.table({"x": [1, 2, 3]}), s)
    assert (a["epsilon"], b["epsilon"]) == pytest.approx((0.8, 0.4))
    assert a["noise"]["scale"] == pytest.approx(1 / 0.8)
    assert a["name"] == "count_1" and b["name"] == "other_count"


def test_histograms_and_a_duckdb_query():
    con = duckdb.connect()
    rel = con.sql("SELECT i AS age, CASE WHEN i % 2 = 0 THEN 'F' ELSE 'M' END AS sex FROM range(100) t(i)")
    figures = [
        {"kind": "histogram", "field": "age", "edges": [0, 18, 65, 99]},
        {"kind": "histogram", "field": "sex", "categories": ["F", "M"]},
    ]
    ages, sexes = compute(rel, spec(epsilon=4.0, figures=figures))
    assert [c["group"] for c in ages["cells"]] == ["[0, 18)", "[18, 65)", "[65, 99]", None]
    assert ages["cells"][-1]["other"] is True
    for cell, truth in zip(ages["cells"], [18, 47, 35, 0], strict=True):
        assert abs(cell["value"] - truth) <= 3 * cell["accuracy"]
    assert [c["group"] for c in sexes["cells"]] == ["F", "M", None]
