"""k-anonymity and l-diversity: full-domain generalisation and Mondrian, checked on what they release."""

from __future__ import annotations

import io
import itertools
from collections import Counter, defaultdict

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.errors import Conflict, InvalidInput
from shuzhi.opendata.disclosure import Hierarchy, Plan, Regions, ages, check, generalise, mondrian

SEX = Hierarchy.from_csv(io.StringIO("F;*\nM;*\n"))
DIAGNOSES = ["flu", "asthma", "diabetes", "gout"]
DISTRICTS = ["110101", "110102", "110105", "120101", "120102", "440305"]
HIERARCHIES = {"age": ages(), "sex": SEX, "district": Regions()}


def people(draw_rows: list[tuple[int, int, int, int]]) -> pa.Table:
    return pa.table(
        {
            "age": pa.array([r[0] for r in draw_rows], pa.int64()),
            "sex": [("F", "M")[r[1]] for r in draw_rows],
            "district": [DISTRICTS[r[2]] for r in draw_rows],
            "diagnosis": [DIAGNOSES[r[3]] for r in draw_rows],
        }
    )


ROWS = st.lists(
    st.tuples(st.integers(18, 90), st.integers(0, 1), st.integers(0, len(DISTRICTS) - 1), st.integers(0, 3)),
    min_size=1,
    max_size=120,
)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def labels(table: pa.Table, column: str, spec) -> list[list]:
    """Every level's label of every row, straight from the hierarchy (level by level, row by row)."""
    levels = spec.labels(table.column(column).combine_chunks(), column)
    return [list(row) for row in zip(*levels, strict=True)]


def released_ok(release, plan: Plan, table: pa.Table) -> None:
    """What every release must satisfy, recomputed from its rows."""
    out = release.table
    seen = check(out, list(plan.quasi_identifiers), plan.sensitive)
    assert out.num_rows == 0 or seen.k >= plan.k
    if plan.diversity > 1 and out.num_rows:
        assert seen.diversity >= plan.diversity
    assert release.report.suppressed == table.num_rows - out.num_rows <= plan.budget(table.num_rows)
    assert release.report.k == seen.k
    original = table.take(pa.array(release.kept))
    assert out.column("diagnosis").equals(original.column("diagnosis"))
    return original


@FAST
@given(ROWS, st.integers(2, 5), st.integers(1, 2), st.sampled_from([0.0, 0.05, 0.3]))
def test_full_domain_releases_are_k_anonymous_l_diverse_and_generalise_their_rows(rows, k, l_min, budget):
    table = people(rows)
    plan = Plan(HIERARCHIES, k=k, sensitive=("diagnosis",), diversity=l_min, suppression=budget)
    try:
        release = generalise(table, plan)
    except Conflict:
        assert brute_force(table, plan, "discernibility") is None
        return
    original = released_ok(release, plan, table)
    for col, spec in HIERARCHIES.items():
        level = release.report.generalisation[col]["level"]
        want = [row[level] for row in labels(original, col, spec)]
        assert release.table.column(col).to_pylist() == want


def brute_force(table: pa.Table, plan: Plan, loss: str) -> float | None:
    """The least loss over every combination of levels, computed row by row."""
    cols = list(plan.quasi_identifiers)
    per_col = {c: labels(table, c, plan.quasi_identifiers[c]) for c in cols}
    n, sens = table.num_rows, table.column("diagnosis").to_pylist()
    best = None
    for levels in itertools.product(*(range(len(per_col[c][0])) for c in cols)):
        keys = [tuple(per_col[c][i][lv] for c, lv in zip(cols, levels, strict=True)) for i in range(n)]
        sizes, kinds = Counter(keys), defaultdict(set)
        for key, s in zip(keys, sens, strict=True):
            kinds[key].add(s)
        small = {key for key in sizes if sizes[key] < plan.k or len(kinds[key]) < plan.diversity}
        suppressed = sum(sizes[key] for key in small)
        if suppressed > plan.budget(n):
            continue
        if loss == "discernibility":
            cost = sum(v * v for key, v in sizes.items() if key not in small) + suppressed * n
        else:
            cost = sum(
                row_ncp(table, c, lv, per_col[c], i)
                for c, lv in zip(cols, levels, strict=True)
                for i in range(n)
                if keys[i] not in small
            ) + suppressed * len(cols)
            cost /= n * len(cols)
        best = cost if best is None else min(best, cost)
    return best


def row_ncp(table: pa.Table, col: str, level: int, rows: list[list], i: int) -> float:
    """A row's loss in one column at one level: the share of the range (numbers) or of the values its
    label covers; 1 at the top."""
    if level == len(rows[0]) - 1:
        return 1.0
    label = rows[i][level]
    members = [j for j in range(len(rows)) if rows[j][level] == label]
    values = table.column(col).to_pylist()
    if col == "age":
        span = max(values) - min(values)
        return (max(values[j] for j in members) - min(values[j] for j in members)) / span if span else 0.0
    distinct = len(set(values))
    return (len({values[j] for j in members}) - 1) / max(distinct - 1, 1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.integers(18, 60), st.integers(0, 1), st.integers(0, 5), st.integers(0, 3)),
        min_size=8,
        max_size=40,
    ),
    st.sampled_from([0.0, 0.1]),
    st.sampled_from(["discernibility", "ncp"]),
)
def test_full_domain_finds_the_optimum_of_the_whole_lattice(rows, budget, loss):
    table = people(rows)
    plan = Plan(HIERARCHIES, k=3, sensitive=("diagnosis",), suppression=budget, loss=loss)
    best = brute_force(table, plan, loss)
    try:
        report = generalise(table, plan).report
    except Conflict:
        assert best is None
        return
    got = report.discernibility if loss == "discernibility" else report.ncp
    assert got == pytest.approx(best)


def test_crafted_table_reaches_the_known_optimum():
    # Ages in pairs a year apart within one 5-year band; everyone in the same city, two districts.
    rows = [(30 + i % 2, i % 2, i % 2, i % 4) for i in range(8)] + [
        (52, 0, 5, 0),
        (53, 0, 5, 1),
        (54, 0, 5, 2),
    ]
    table = people(rows)
    release = generalise(table, Plan(HIERARCHIES, k=3, suppression=0.0))
    assert release.report.discernibility == brute_force(table, Plan(HIERARCHIES, k=3), "discernibility")
    assert release.report.generalisation["age"]["level"] == 1
    assert release.report.suppressed == 0


@FAST
@given(ROWS, st.integers(2, 6), st.integers(1, 2))
def test_mondrian_boxes_hold_their_rows_and_are_k_anonymous(rows, k, l_min):
    table = people(rows)
    plan = Plan(
        {"age": None, "sex": SEX, "district": Regions()}, k=k, sensitive=("diagnosis",), diversity=l_min
    )
    try:
        release = mondrian(table, plan)
    except Conflict:
        assert table.num_rows < k or len(set(table.column("diagnosis").to_pylist())) < l_min
        return
    original = released_ok(release, plan, table)
    assert release.report.suppressed == 0
    for age, box in zip(
        original.column("age").to_pylist(), release.table.column("age").to_pylist(), strict=True
    ):
        lo, _, hi = box.partition("-")
        assert int(lo) <= age <= int(hi or lo)
    for col in ("sex", "district"):
        every = labels(original, col, plan.quasi_identifiers[col])
        for row, out in zip(every, release.table.column(col).to_pylist(), strict=True):
            assert out in row


def test_mondrian_cuts_until_classes_are_small():
    rows = [(20 + i % 50, i % 2, i % 6, i % 4) for i in range(1000)]
    release = mondrian(people(rows), Plan({"age": None, "sex": SEX, "district": Regions()}, k=5))
    assert release.report.k >= 5
    assert release.report.classes > 50
    assert release.report.generalisation["age"]["ranges"]


def bad(**change):
    base = dict(quasi_identifiers=HIERARCHIES, k=5, sensitive=("diagnosis",))
    return Plan(**(base | change))


@pytest.mark.parametrize(
    ("plan", "where"),
    [
        (bad(quasi_identifiers={"height": ages()}), "quasi_identifiers.height"),
        (bad(sensitive=("salary",)), "sensitive.salary"),
        (bad(k=1), "k"),
        (bad(suppression=1.5), "suppression"),
        (bad(suppression=-0.1), "suppression"),
        (bad(diversity=6), "diversity"),
        (bad(diversity=2, sensitive=()), "sensitive"),
        (bad(loss="entropy"), "loss"),
        (bad(quasi_identifiers={"age": None}), "quasi_identifiers.age"),
        (bad(sensitive=("age",)), "sensitive.age"),
    ],
)
def test_bad_plans_name_the_field(plan, where):
    table = people([(30, 0, 0, 0)] * 10)
    with pytest.raises(InvalidInput) as e:
        generalise(table, plan)
    assert e.value.where == where


def test_mondrian_needs_a_hierarchy_for_text():
    with pytest.raises(InvalidInput) as e:
        mondrian(people([(30, 0, 0, 0)] * 10), Plan({"sex": None}, k=2))
    assert e.value.where == "quasi_identifiers.sex"


@pytest.mark.parametrize("odd", [float("nan"), float("inf"), float("-inf")])
def test_mondrian_refuses_to_cut_numbers_holding_nan_or_infinities(odd):
    # No span to cut over (a loss of 0 or NaN), no label to publish ("14660-nan"), no JSON for the report.
    table = pa.table({"income": [1000.0, 2000.0, odd, 3000.0] * 3, "diagnosis": DIAGNOSES[:3] * 4})
    with pytest.raises(InvalidInput, match="NaN or infinite") as e:
        mondrian(table, Plan({"income": None}, k=2))
    assert e.value.where == "quasi_identifiers.income"


def test_unreachable_k_says_what_was_reached():
    table = people([(30, 0, 0, 0), (40, 1, 1, 1), (50, 0, 2, 2)])
    with pytest.raises(Conflict, match="3 of 3"):
        generalise(table, Plan(HIERARCHIES, k=5))
    with pytest.raises(Conflict, match="3 rows"):
        mondrian(table, Plan({"age": None}, k=5))


def test_missing_values_are_a_value_of_their_own():
    table = pa.table({"sex": ["F", None, "M", None, "F", "M"], "diagnosis": DIAGNOSES[:2] * 3})
    release = generalise(table, Plan({"sex": SEX}, k=2))
    assert release.table.column("sex").to_pylist() == ["F", None, "M", None, "F", "M"]
