"""Uniqueness by sorting keys' hashes: exact against a plain-Python oracle and against DuckDB's grouping,
whatever the key's types, whatever collides, with the first rows of shared keys as the sample."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.quality import duplicates, engine, ruleset
from shuzhi.quality.kinds import BLANK, KINDS, Context, VersionFacts, family

KIND_MAP = {k.name: k for k in KINDS}
FACTS = VersionFacts("irregular", dt.datetime(2025, 6, 1), None, None)
AS_OF = dt.date(2025, 6, 1)
HYPO = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COLLIDING = "hash({}) % 3"
"""A hash with three values: nearly every key collides with another that differs."""


def _absent(v) -> bool:
    return v is None or (isinstance(v, str) and all(c in BLANK for c in v))


def _unique(tmp_path, table: pa.Table, fields: list[str], n: int = 3) -> engine.Execution:
    path = tmp_path / "v.parquet"
    pq.write_table(table, path, row_group_size=7)
    con = engine.connect()
    cols = {name: family(t) for name, t in engine.describe(con, path).items()}
    con.close()
    ctx = Context(columns=cols, as_of=AS_OF)
    rules = {"rules": [{"kind": "unique", "fields": fields}], "sample_size": n}
    return engine.Runner(ruleset.parse(rules, KIND_MAP, ctx), path, ctx, FACTS).run()


def _oracle(rows: list[tuple], n: int) -> tuple:
    """(checked, failed, shared keys, first n rows with their keys) of plain Python."""
    keyed = [(i, r) for i, r in enumerate(rows) if not any(_absent(v) for v in r)]
    counts = Counter(r for _, r in keyed)
    failing = [(i, r) for i, r in keyed if counts[r] > 1]
    shared = sum(1 for c in counts.values() if c > 1)
    return len(keyed), len(failing), shared, failing[:n]


def _found(done: engine.Execution, fields: list[str]) -> tuple:
    o = done.outcomes[0]
    sample = [(s["row"], tuple(s["values"][f] for f in fields)) for s in o.sample]
    return o.checked, o.failed, o.detail["duplicate_keys"], sample


TEXTS = st.sampled_from(["a", "b", "c", "甲", "", " ", "\u3000", None, "k" * 20, "k" * 19 + "l"])


@HYPO
@given(
    rows=st.lists(st.tuples(TEXTS, st.sampled_from([1, 2, -(2**62), None])), max_size=40),
    n=st.integers(0, 4),
    colliding=st.booleans(),
)
def test_text_and_composite_keys_are_exact_even_when_every_hash_collides(tmp_path, rows, n, colliding):
    table = pa.table(
        {"k": pa.array([r[0] for r in rows], pa.string()), "j": pa.array([r[1] for r in rows], pa.int64())}
    )
    with pytest.MonkeyPatch.context() as mp:
        if colliding:
            mp.setattr(duplicates, "HASH", COLLIDING)
        for fields in (["k", "j"], ["k"]):
            done = _unique(tmp_path, table, fields, n)
            picked = [tuple(r[["k", "j"].index(f)] for f in fields) for r in rows]
            assert _found(done, fields) == _oracle(picked, n)


INTEGERS = {
    pa.int8(): st.integers(-128, 127),
    pa.int32(): st.integers(-(2**31), 2**31 - 1),
    pa.int64(): st.sampled_from([-(2**63), 2**63 - 1, 0, -1, 1]),
    pa.uint32(): st.integers(0, 2**32 - 1),
    pa.uint64(): st.sampled_from([0, 2**63, 2**64 - 1, 2**63 - 1]),
}


@HYPO
@given(data=st.data(), kind=st.sampled_from(list(INTEGERS)), n=st.integers(1, 3))
def test_integer_keys_are_sorted_by_value_every_width_and_sign(tmp_path, data, kind, n):
    values = data.draw(st.lists(st.one_of(st.none(), INTEGERS[kind]), max_size=30))
    done = _unique(tmp_path, pa.table({"k": pa.array(values, kind)}), ["k"], n)
    assert _found(done, ["k"]) == _oracle([(v,) for v in values], n)
    passes = [s for s in done.statements if "read_parquet(" in s and "count_if(" not in s]
    # exact by value: one pass, no hash, no second read of the file
    assert "hash(" not in " ".join(done.statements)
    assert len([s for s in passes if "AS h" in s]) == 1


@HYPO
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from([dt.date(2020, 1, 1), dt.date(2021, 5, 6), None]),
            st.sampled_from([0.5, -0.0, 0.0, 2.25, None]),
        ),
        max_size=30,
    )
)
def test_sorting_finds_what_duckdbs_grouping_finds(tmp_path, rows):
    """Dates, doubles (0.0 and -0.0 one key to DuckDB's grouping, so to its hash too): both ways agree."""
    table = pa.table(
        {"d": pa.array([r[0] for r in rows], pa.date32()), "x": pa.array([r[1] for r in rows], pa.float64())}
    )
    for fields in (["d", "x"], ["x"]):
        by_sorting = _found(_unique(tmp_path, table, fields), fields)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(duplicates, "MAX_ROWS", -1)
            grouped = _unique(tmp_path, table, fields)
        assert any("GROUP BY ALL HAVING" in s and "read_parquet(" in s for s in grouped.statements)
        assert by_sorting == _found(grouped, fields)


def test_only_the_rows_of_repeated_hashes_are_read_again(tmp_path):
    keys = [f"K{i:06d}" for i in range(3000)]
    keys[2999] = keys[5]
    done = _unique(tmp_path, pa.table({"k": keys}), ["k"])
    assert _found(done, ["k"]) == (3000, 2, 1, [(5, ("K000005",)), (2999, ("K000005",))])
    again = [s for s in done.statements if s.startswith("CREATE TEMP TABLE") and "read_parquet(" in s]
    assert len(again) == 1 and "SEMI JOIN" in again[0]
    # nothing grouped over the file itself: only the candidates are
    assert not any("GROUP BY" in s and "read_parquet(" in s for s in done.statements)


def test_no_repeated_hash_reads_the_file_once(tmp_path):
    done = _unique(tmp_path, pa.table({"k": [f"K{i}" for i in range(100)]}), ["k"])
    assert _found(done, ["k"]) == (100, 0, 0, [])
    assert len([s for s in done.statements if "read_parquet(" in s and "count_if(" not in s]) == 1
