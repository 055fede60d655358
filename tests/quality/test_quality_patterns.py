"""The rule kinds of patterns count the same rows run by their automata (`Context.automata`) as by RE2."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.classify import vectorised
from shuzhi.quality import engine, ruleset
from shuzhi.quality.kinds import KINDS, Context, VersionFacts, family

KIND_MAP = {k.name: k for k in KINDS}
FACTS = VersionFacts("irregular", dt.datetime(2025, 6, 1), None, None)
RULES = [
    {"kind": "regex", "field": "v", "pattern": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"},
    {"kind": "regex", "field": "v", "pattern": r"^[0-9]{6}$"},
    {"kind": "regex", "field": "v", "pattern": r"[^@]*"},
    {"kind": "phone", "field": "v"},
    {"kind": "phone", "field": "v", "kinds": ["landline"]},
    {"kind": "type", "field": "v", "type": "integer"},
    {"kind": "type", "field": "v", "type": "number"},
    {"kind": "type", "field": "v", "type": "date"},
    {"kind": "type", "field": "v", "type": "timestamp"},
    {"kind": "type", "field": "v", "type": "boolean"},  # (?i): RE2 either way
]
PIECES = [
    "",
    " ",
    "\u3000",
    "a",
    "Z",
    "0",
    "1",
    "9",
    "13812345678",
    "+86 ",
    "010-",
    "12345678",
    "@",
    ".",
    "-",
    "+",
    "e",
    "2026-12-07",
    " 10:30:00",
    "T",
    ".5",
    "gov.cn",
    "é",
    "中",
    "１",
    "\n",
    "true",
]
VALUES = st.lists(
    st.one_of(st.none(), st.lists(st.sampled_from(PIECES), max_size=4).map("".join), st.text(max_size=8)),
    min_size=1,
    max_size=40,
)


def counts(tmp_path, values: list, automata: bool) -> tuple[list[tuple[int, int]], list[str]]:
    path = tmp_path / "v.parquet"
    # without a dictionary: over a small one a pattern is judged per distinct value instead
    pq.write_table(pa.table({"v": pa.array(values, pa.string())}), path, use_dictionary=False)
    ctx = Context(columns={"v": family("VARCHAR")}, as_of=FACTS.arrived.date(), automata=automata)
    rs = ruleset.parse({"rules": RULES, "sample_size": 3}, KIND_MAP, Context(columns={"v": "text"}))
    done = engine.Runner(rs, path, ctx, FACTS).run()
    return [(o.checked, o.failed, o.sample) for o in done.outcomes], done.statements


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=VALUES)
def test_patterns_count_alike_by_automaton_and_by_re2(tmp_path, values):
    by_automata, statements = counts(tmp_path, values, True)
    by_re2, plain = counts(tmp_path, values, False)
    assert by_automata == by_re2
    assert any(vectorised.FUSED_PREFIX in s for s in statements)
    assert not any(vectorised.MATCH_PREFIX in s or vectorised.FUSED_PREFIX in s for s in plain)


def test_a_lone_pattern_runs_by_its_automaton_registered_on_the_run(tmp_path):
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"v": ["100010", "10001", "１０００１０", None, " "]}), path, use_dictionary=False
    )
    ctx = Context(columns={"v": "text"}, automata=True)
    rule = {"kind": "regex", "field": "v", "pattern": "[0-9]{6}"}
    rs = ruleset.parse({"rules": [rule]}, KIND_MAP, Context(columns={"v": "text"}))
    done = engine.Runner(rs, path, ctx, FACTS).run()
    assert (done.outcomes[0].checked, done.outcomes[0].failed) == (3, 2)
    assert any(vectorised.matcher("[0-9]{6}") in s for s in done.statements)


@pytest.mark.parametrize("pattern", [r"(?i)[a-z]+", r"\s+", r"[[:digit:]]+"])
def test_a_pattern_outside_the_subset_is_left_to_re2(pattern):
    ctx = Context(columns={"v": "text"}, automata=True)
    regex = KIND_MAP["regex"]
    check = regex.compile(regex.params(field="v", pattern=pattern), ctx)
    assert check.derived == () and "regexp_full_match" in check.fails
