"""A pattern over a field stored with a small dictionary is judged once per distinct value: the same
answers as RE2's `regexp_full_match` for any pattern and text, chosen from the Parquet footer alone."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import hypothesis.strategies as st
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings

from shuzhi.quality import engine, ruleset
from shuzhi.quality.kinds import KINDS, Context, VersionFacts, by_dictionary, family, full_match

CON = duckdb.connect()
KIND_MAP = {k.name: k for k in KINDS}
FACTS = VersionFacts("irregular", dt.datetime(2025, 6, 1), None, None)
PATTERNS = [
    r"[0-9]{6}",
    r"a*",
    r"",
    r"a|",
    r"(?i)ab|c",
    r"(?m)^a$",
    r"(?s).+",
    r".*",
    r"^[0-9]+$|x",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"(\+?86[ -]?)?1[3-9][0-9]{9}",
    r"\p{Han}+",
    r"[^@]+@.*",
    r"\)|\(",
    r"[)(]+",
    r"a{0}",
]
RULE_PATTERNS = [r"[0-9]{6}", r"a*", r"(?i)ab|c", r"(?s).+", r"[^@]+@.*", r"\p{Han}+", r"[)(]+"]
TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "a", "A", "ab", "c", "\n", "a\nb", "123456", "１２３", "名字", "x@y.cn", ")", "(("]),
    st.text(alphabet="aAbc1)(\n@.名 ", max_size=6),
)


def _both(pattern: str, values: list[str | None]) -> list[tuple]:
    return CON.execute(
        f"SELECT {by_dictionary('v', pattern)}, regexp_full_match(v, ?)"
        " FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS u(v, i) ORDER BY i",
        [pattern, values],
    ).fetchall()


@settings(max_examples=60, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), values=st.lists(TEXT, min_size=1, max_size=12))
def test_the_dictionary_form_answers_as_re2(pattern, values):
    for ours, re2 in _both(pattern, values):
        assert ours == re2, (pattern, values)


@pytest.mark.parametrize("pattern", [r"a)(b", r"(", r"[a-", r"x{2,1}"])
def test_a_pattern_re2_refuses_is_refused_in_the_dictionary_form_too(pattern):
    # wrapped, "a)(b" would read as a valid "^(?:a)(b)$": the pattern as written is compiled as well
    with pytest.raises(duckdb.Error):
        _both(pattern, ["ab"])


def _write(path, table: pa.Table, **options) -> None:
    pq.write_table(table, path, row_group_size=1000, **options)


def test_small_dictionaries_are_read_from_the_footer(tmp_path):
    rng, n = random.Random(7), 3000
    table = pa.table(
        {
            "few": [rng.choice(["a@x.cn", "b@y.cn", "bad"]) for _ in range(n)],
            "many": [f"{rng.randrange(10**9):09d}-{i}" for i in range(n)],
            "plain": [rng.choice(["a", "b"]) for _ in range(n)],
        }
    )
    path = tmp_path / "v.parquet"
    # "many" outgrows its dictionary page and falls back to plain values; "plain" never had one
    _write(path, table, use_dictionary=["few", "many"], dictionary_pagesize_limit=4096, write_batch_size=100)
    con = engine.connect()
    assert engine.small_dictionaries(con, path, ["few", "many", "plain"]) == {"few"}
    # a dictionary larger than the bound is left to RE2 row by row
    table = pa.table({"few": ["".join(rng.choices("0123456789abcdef", k=48)) for _ in range(n)]})
    pq.write_table(table, tmp_path / "w.parquet", row_group_size=n)
    assert engine.small_dictionaries(con, tmp_path / "w.parquet", ["few"]) == set()
    con.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(TEXT, min_size=1, max_size=60), pattern=st.sampled_from(RULE_PATTERNS))
def test_a_rule_counts_the_same_over_a_dictionary_as_over_plain_values(tmp_path, values, pattern):
    table = pa.table({"v": pa.array(values, pa.string())})
    runs = []
    for dictionary in (True, False):
        path = tmp_path / f"{dictionary}.parquet"
        _write(path, table, use_dictionary=dictionary)
        ctx = Context(columns={"v": family("VARCHAR")}, as_of=dt.date(2025, 6, 1))
        rs = ruleset.parse(
            {"rules": [{"kind": "regex", "field": "v", "pattern": pattern}], "sample_size": 3}, KIND_MAP, ctx
        )
        done = engine.Runner(rs, path, ctx, FACTS).run()
        scan = next(s for s in done.statements if "count_if(" in s)
        assert ("regexp_replace(" in scan) is dictionary
        runs.append([(o.checked, o.failed, o.sample) for o in done.outcomes])
    assert runs[0] == runs[1]


def test_over_a_small_dictionary_a_pattern_does_not_ride_along():
    """Judged per distinct value, a pattern costs less than handed to Python per row; RE2 alone
    sees a pattern quoting with \\Q, which could reach outside the group it is wrapped in."""
    ctx = Context(columns={"v": "text", "w": "text"}, automata=True, dictionary=frozenset({"v"}))
    sql, derived = full_match(ctx, ctx.col("v"), "[0-9]{6}")
    assert "regexp_replace(" in sql and derived == ()
    sql, derived = full_match(ctx, ctx.col("w"), "[0-9]{6}")
    assert "regexp_replace(" not in sql and derived
    sql, derived = full_match(ctx, ctx.col("v"), r"\Q1)\E")
    assert sql == "regexp_full_match(t.\"v\", '\\Q1)\\E')" and derived == ()
