"""CSV downloads never carry a cell a spreadsheet program would run as a formula."""

from __future__ import annotations

import csv
import io

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.web.portal.files import FORMULA_TRIGGERS, csv_chunks, neutralised

texts = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=12)
trigger_led = st.builds(lambda c, rest: c + rest, st.sampled_from(FORMULA_TRIGGERS), texts)


def _csv_of(tmp_path, table: pa.Table) -> list[list[str]]:
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    text = b"".join(csv_chunks(path)).decode("utf-8").removeprefix("\ufeff")
    return list(csv.reader(io.StringIO(text, newline="")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(st.one_of(texts, trigger_led, st.none()), min_size=1, max_size=8),
    numbers=st.lists(st.integers(-(10**12), 10**12), min_size=8, max_size=8),
    reals=st.lists(st.floats(-1e9, 1e9, allow_nan=False), min_size=8, max_size=8),
)
def test_no_text_cell_starts_with_a_formula_trigger(tmp_path, words, numbers, reals):
    n = len(words)
    table = pa.table({"=cmd|' /C calc'!A0": words, "n": numbers[:n], "x": reals[:n]})
    header, *rows = _csv_of(tmp_path, table)
    assert header == ["'=cmd|' /C calc'!A0", "n", "x"]
    assert len(rows) == n
    for word, number, real, (cell, n_cell, x_cell) in zip(words, numbers, reals, rows, strict=False):
        assert cell[:1] not in FORMULA_TRIGGERS or cell == ""
        assert cell == ("" if word is None else neutralised(word))
        assert int(n_cell) == number  # numbers as written, a negative one unquoted
        assert float(x_cell) == real and x_cell[:1] != "'"


def test_neutralised_quotes_only_a_leading_trigger():
    for trigger in FORMULA_TRIGGERS:
        assert neutralised(trigger + "1+1") == "'" + trigger + "1+1"
    assert neutralised("") == ""
    assert neutralised("a=1") == "a=1" and neutralised("'=x") == "'=x" and neutralised("王") == "王"


def test_dictionary_text_columns_are_neutralised_too(tmp_path):
    table = pa.table({"c": pa.array(["=SUM(A1)", "ok", "@x"]).dictionary_encode(), "n": [-1, -2, 3]})
    assert _csv_of(tmp_path, table)[1:] == [["'=SUM(A1)", "-1"], ["ok", "-2"], ["'@x", "3"]]
