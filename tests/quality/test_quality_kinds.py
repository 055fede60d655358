"""Each rule kind's semantics: exact failing counts against a plain-Python oracle on generated tables,
absent values (NULL, blank text) per kind, and the documented edge cases."""

from __future__ import annotations

import datetime as dt
import random
import re
import threading
from collections import Counter
from unittest.mock import patch

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.classify.checksums import (
    GB32100_ALPHABET,
    gb11643_check_char,
    gb32100_check_char,
    is_resident_id,
    is_uscc,
)
from shuzhi.quality import duplicates, engine, ruleset
from shuzhi.quality.kinds import BLANK, KINDS, Context, VersionFacts, family
from shuzhi.quality.regions import spans, valid_codes

KIND_MAP = {k.name: k for k in KINDS}
FACTS = VersionFacts("irregular", dt.datetime(2025, 6, 1), None, None)
AS_OF = dt.date(2025, 6, 1)
HYPO = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def run(tmp_path, table: pa.Table, *rules: dict) -> list[tuple[int, int]]:
    """(rows checked, rows failed) of each rule on `table`, run as the platform runs a version."""
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)
    con = engine.connect()
    cols = {n: family(t) for n, t in engine.describe(con, path).items()}
    con.close()
    ctx = Context(columns=cols, as_of=AS_OF)
    rs = ruleset.parse({"rules": list(rules), "sample_size": 2}, KIND_MAP, ctx)
    done = engine.Runner(rs, path, ctx, FACTS).run()
    return [(o.checked, o.failed) for o in done.outcomes]


def one(tmp_path, values, rule: dict, type_=None) -> tuple[int, int]:
    table = pa.table({"v": pa.array(values, type=type_)})
    return run(tmp_path, table, {"field": "v", **rule})[0]


def absent(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip(BLANK) == "" and all(c in BLANK for c in v))


TEXT = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(
            ["", " ", "\u3000", "\t\n", "\u00a0", " a ", "x", "\u3000甲", "\u00a0 \u3000", "\x7f", "\x00"]
        ),
        st.text(max_size=6),
    ),
    max_size=30,
)


# -- completeness --------------------------------------------------------------------------------


@HYPO
@given(values=TEXT)
def test_not_null_counts_nulls_only(tmp_path, values):
    assert one(tmp_path, values, {"kind": "not_null"}, pa.string()) == (
        len(values),
        sum(v is None for v in values),
    )


@HYPO
@given(values=TEXT)
def test_not_blank_counts_nulls_and_blank_text(tmp_path, values):
    assert one(tmp_path, values, {"kind": "not_blank"}, pa.string()) == (
        len(values),
        sum(absent(v) for v in values),
    )


def test_the_blank_characters_are_exactly_the_documented_ones(tmp_path):
    values = ["", " ", "\u3000\u3000", "\u00a0", "\t\r\n\f\v", "\u2003", "\u200b", "·", None]
    assert one(tmp_path, values, {"kind": "not_blank"}) == (9, 6)  # em space, zero-width space, · are values
    assert one(tmp_path, values, {"kind": "not_null"}) == (9, 1)


def test_a_value_is_blank_whatever_character_it_starts_with(tmp_path):
    """Every first character around the edges of the string comparisons that decide most values."""
    edges = [
        0,
        1,
        8,
        9,
        13,
        14,
        31,
        32,
        33,
        126,
        127,
        128,
        159,
        160,
        161,
        0x2FFF,
        0x3000,
        0x3001,
        0xFFFF,
        0x10FFFF,
    ]
    values = [chr(c) + tail for c in edges for tail in ("", " ", "\u3000", "z", "\u00a0\u3000")]
    assert one(tmp_path, values, {"kind": "not_blank"}) == (len(values), sum(absent(v) for v in values))


def test_not_blank_on_a_number_column_counts_nulls(tmp_path):
    assert one(tmp_path, [1, None, 0], {"kind": "not_blank"}, pa.int64()) == (3, 1)


# -- validity ------------------------------------------------------------------------------------


def test_validity_kinds_do_not_check_absent_values(tmp_path):
    values = [None, "", " ", "\u3000", "abc"]
    for rule in (
        {"kind": "regex", "pattern": "[0-9]+"},
        {"kind": "type", "type": "integer"},
        {"kind": "enum", "values": ["x"]},
        {"kind": "resident_id"},
        {"kind": "credit_code"},
        {"kind": "region_code"},
        {"kind": "phone"},
    ):
        assert one(tmp_path, values, rule) == (1, 1), rule


@HYPO
@given(values=st.lists(st.one_of(st.none(), st.from_regex(r"[a-c0-9 ]{0,5}", fullmatch=True)), max_size=30))
def test_regex_matches_the_whole_value(tmp_path, values):
    present = [v for v in values if not absent(v)]
    failed = sum(re.fullmatch(r"[a-c]+[0-9]?", v) is None for v in present)
    assert one(tmp_path, values, {"kind": "regex", "pattern": "[a-c]+[0-9]?"}, pa.string()) == (
        len(present),
        failed,
    )


INT_TEXT = st.one_of(
    st.none(),
    st.from_regex(r"[+-]?[0-9]{1,20}", fullmatch=True),
    st.sampled_from(["1.5", "1e3", " 7", "7 ", "0x1F", "1_000", "٣"]),
    # Around a BIGINT's bounds and the length below which no cast is needed (18 digits, a sign).
    st.sampled_from(["9223372036854775807", "9223372036854775808", "-9223372036854775808"]),
    st.sampled_from(["-9223372036854775809", "0000000000000000000000001", "+999999999999999999"]),
)


@HYPO
@given(values=st.lists(INT_TEXT, max_size=30))
def test_type_integer_reads_text_as_documented(tmp_path, values):
    def ok(v: str) -> bool:
        return re.fullmatch(r"[+-]?[0-9]+", v) is not None and -(2**63) <= int(v) < 2**63

    present = [v for v in values if not absent(v)]
    assert one(tmp_path, values, {"kind": "type", "type": "integer"}, pa.string()) == (
        len(present),
        sum(not ok(v) for v in present),
    )


def test_type_date_and_format(tmp_path):
    values = ["2024-02-29", "2023-02-29", "2024-2-3", "20240203", "2024-02-03 10:00", None]
    assert one(tmp_path, values, {"kind": "type", "type": "date"}) == (5, 4)
    assert one(tmp_path, values, {"kind": "type", "type": "date", "format": "%Y%m%d"}) == (5, 4)
    assert one(tmp_path, ["true", "No", "Y", "2", "maybe"], {"kind": "type", "type": "boolean"}) == (5, 2)
    assert one(tmp_path, [1, 2, None], {"kind": "type", "type": "integer"}, pa.int64()) == (2, 0)


def test_dates_and_timestamps_read_as_text_are_days_from_year_one_and_hours_to_23(tmp_path):
    # DuckDB's cast reads a year 0000 as 1 BC and 24:00 as the next day's midnight.
    dates = ["0000-01-01", "0000-02-29", "0001-01-01", "9999-12-31"]
    assert one(tmp_path, dates, {"kind": "type", "type": "date"}) == (4, 2)
    stamps = ["2025-06-01 24:00", "2025-12-31 24:00:00", "2025-06-01 23:59:59", "0000-01-01 00:00"]
    stamps += ["2025-06-01T00:00", "2025-06-01 23:60"]
    assert one(tmp_path, stamps, {"kind": "type", "type": "timestamp"}) == (6, 4)
    formatted = ["00000101", "00010101", "20240101"]
    assert one(tmp_path, formatted, {"kind": "type", "type": "date", "format": "%Y%m%d"}) == (3, 1)
    assert one(tmp_path, ["0000-01-01", "0001-01-01", "2025-06-02"], {"kind": "not_future"}) == (2, 1)


def test_a_boolean_is_either_case_of_ascii_letters_only(tmp_path):
    ascii_letters = ["TRUE", "tRuE", "False", "yes", "YES", "n", "N", "1", "0", "t", "F"]
    # RE2's (?i) would take the long s for an s; full-width letters, a space or two digits are no boolean.
    others = ["yeſ", "falſe", "FALſE", "ｙｅｓ", "true ", "10"]
    assert one(tmp_path, ascii_letters + others, {"kind": "type", "type": "boolean"}) == (17, 6)


@pytest.mark.parametrize("others", [[5.0], [1.0, 2.0], [5.0, 1e300, -1e300], []])
@pytest.mark.parametrize("null", [True, False])
def test_nan_fails_every_range_and_order_whatever_else_the_file_holds(tmp_path, others, null):
    # The file's min and max (pyarrow's, as any writer's) leave NaN out: DuckDB folded `NaN > 100`
    # to false with only 5.0 beside it, and `isnan(v)` to false beside 1.0 and 2.0 and no NULL.
    nan = float("nan")
    values = [nan, *others, *([None] if null else [])]
    present = 1 + len(others)
    above, below = sum(v > 100 for v in others), sum(v < -100 for v in others)
    assert one(tmp_path, values, {"kind": "range", "max": 100}) == (present, 1 + above)
    assert one(tmp_path, values, {"kind": "range", "min": -100}) == (present, 1 + below)
    assert one(tmp_path, values, {"kind": "not_null"}) == (len(values), int(null))
    table = pa.table({"s": [nan, 1.0, nan, 1.0], "e": [5.0, nan, nan, 5.0], "n": [1, 2, 3, 4]})
    order = {"kind": "field_order", "start": "s", "end": "e"}
    mixed = {"kind": "field_order", "start": "n", "end": "e", "name": "int-double"}
    assert run(tmp_path, table, order, {**order, "name": "strict", "strict": True}, mixed) == [
        (4, 3),
        (4, 3),
        (4, 2),
    ]


@HYPO
@given(
    values=st.lists(st.one_of(st.none(), st.integers(-100, 100)), max_size=40),
    lo=st.integers(-50, 0),
    hi=st.integers(0, 50),
)
def test_range_is_inclusive(tmp_path, values, lo, hi):
    present = [v for v in values if v is not None]
    got = one(tmp_path, values, {"kind": "range", "min": lo, "max": hi}, pa.int64())
    assert got == (len(present), sum(not lo <= v <= hi for v in present))


def test_range_on_dates_and_one_sided(tmp_path):
    days = [dt.date(2020, 1, 1), dt.date(2019, 12, 31), dt.date(2021, 1, 1), None]
    assert one(tmp_path, days, {"kind": "range", "min": "2020-01-01"}) == (3, 1)
    assert one(
        tmp_path, days, {"kind": "range", "min": dt.date(2020, 1, 1), "max": dt.date(2020, 12, 31)}
    ) == (3, 2)


@HYPO
@given(values=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", "A", "c", " a", ""])), max_size=30))
def test_enum_is_exact_and_case_sensitive(tmp_path, values):
    present = [v for v in values if not absent(v)]
    got = one(tmp_path, values, {"kind": "enum", "values": ["a", "b"]}, pa.string())
    assert got == (len(present), sum(v not in ("a", "b") for v in present))


def test_enum_from_a_catalog_vocabulary_takes_codes_and_chinese_labels(tmp_path):
    from shuzhi.quality.service import vocabulary

    ctx_values = ["daily", "每日", "Daily", "hourly"]
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"v": ctx_values}), path)
    ctx = Context(columns={"v": "text"}, as_of=AS_OF, vocabulary=vocabulary)
    rs = ruleset.parse([{"kind": "enum", "field": "v", "vocabulary": "update_frequency"}], KIND_MAP, ctx)
    assert [(o.checked, o.failed) for o in engine.Runner(rs, path, ctx, FACTS).run().outcomes] == [(4, 2)]


def _resident_id(rng: random.Random) -> str:
    region = rng.choice(sorted(valid_codes()))
    born = dt.date(1900, 1, 1) + dt.timedelta(days=rng.randrange(45000))
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + gb11643_check_char(body)


def _mutate(rng: random.Random, value: str, alphabet: str) -> str:
    pick = rng.randrange(6)
    if pick == 0:
        i = rng.randrange(len(value))
        return value[:i] + rng.choice(alphabet) + value[i + 1 :]
    if pick == 1:
        return value[: rng.randrange(len(value))]
    if pick == 2:
        return value.lower()
    if pick == 3:
        return " " + value
    return value


@HYPO
@given(seed=st.integers(0, 10**6), n=st.integers(0, 40))
def test_resident_id_agrees_with_the_grading_checksum(tmp_path, seed, n):
    rng = random.Random(seed)
    values = [
        _mutate(rng, _resident_id(rng), "0123456789Xx") if rng.random() > 0.1 else None for _ in range(n)
    ]
    values += ["110105491231002", "11010519491231002x"]  # a legacy 15-digit number; a lower-case x
    present = [v for v in values if not absent(v)]
    failed = sum(not (v == v.strip() and is_resident_id(v)) for v in present)
    assert one(tmp_path, values, {"kind": "resident_id"}, pa.string()) == (len(present), failed)


@HYPO
@given(seed=st.integers(0, 10**6), n=st.integers(0, 40))
def test_credit_code_agrees_with_the_grading_checksum(tmp_path, seed, n):
    rng = random.Random(seed)

    def code() -> str:
        body = "".join(rng.choice(GB32100_ALPHABET) for _ in range(2)) + f"{rng.randrange(10**6):06d}"
        body += "".join(rng.choice(GB32100_ALPHABET) for _ in range(9))
        return body + gb32100_check_char(body)

    values = [
        _mutate(rng, code(), GB32100_ALPHABET + "IOZSV") if rng.random() > 0.1 else None for _ in range(n)
    ]
    present = [v for v in values if not absent(v)]
    failed = sum(not (v == v.strip() and is_uscc(v)) for v in present)
    assert one(tmp_path, values, {"kind": "credit_code"}, pa.string()) == (len(present), failed)


def test_region_codes_are_judged_in_the_year_asked(tmp_path):
    # 崇文区 [-2010], 房山区 [1986-], 下城区 [1983-2021], 北京市 (no span), a code that never was.
    values = ["110103", "110111", "330103", "110000", "999999"]
    assert one(tmp_path, values, {"kind": "region_code"}) == (5, 1)
    assert one(tmp_path, values, {"kind": "region_code", "year": 2010}) == (5, 1)
    assert one(tmp_path, values, {"kind": "region_code", "year": 2011}) == (5, 2)
    assert one(tmp_path, values, {"kind": "region_code", "year": 1985}) == (5, 2)
    assert one(tmp_path, values, {"kind": "region_code", "year": 2022}) == (5, 3)
    assert one(tmp_path, [110103, 110101, None], {"kind": "region_code", "year": 2011}, pa.int64()) == (2, 1)


@HYPO
@given(year=st.integers(1980, 2030), picks=st.lists(st.integers(0, 10**6), max_size=25))
def test_region_code_validity_follows_the_spans(tmp_path, year, picks):
    codes = sorted(spans())
    values = [codes[p % len(codes)] for p in picks]
    failed = sum(not any(a <= year <= b for a, b in spans()[v]) for v in values)
    assert one(tmp_path, values, {"kind": "region_code", "year": year}, pa.string()) == (len(values), failed)


def test_not_future_is_judged_against_the_versions_arrival(tmp_path):
    days = [AS_OF, AS_OF + dt.timedelta(days=1), dt.date(1999, 1, 1), None]
    assert one(tmp_path, days, {"kind": "not_future"}) == (3, 1)
    text = ["2025-06-01", "2025年6月2日", "20250602", "2025/6/3", "later", ""]
    assert one(tmp_path, text, {"kind": "not_future"}) == (4, 3)  # "later" cannot be read: not checked
    stamps = [dt.datetime(2025, 6, 1, 23, 59), dt.datetime(2025, 6, 2, 0, 0)]
    assert one(tmp_path, stamps, {"kind": "not_future"}) == (2, 1)


def test_phone_numbers(tmp_path):
    good = [
        "13800138000",
        "+86 13912345678",
        "86-15012345678",
        "0571-87654321",
        "01087654321",
        "0571-87654321-123",
    ]
    bad = [
        "12345678901",
        "1380013800",
        "138001380001",
        "+1 4155550100",
        "0571-07654321",
        "87654321",
        "1380013800O",
    ]
    assert one(tmp_path, good + bad, {"kind": "phone"}) == (13, 7)
    assert one(tmp_path, good, {"kind": "phone", "kinds": ["mobile"]}) == (6, 3)
    assert one(tmp_path, [13800138000, None], {"kind": "phone"}, pa.int64()) == (1, 0)


def test_phone_numbers_at_the_documented_edges(tmp_path):
    # +86 or 86 with or without a separator; an extension of 1-6 digits; an area code not 0x.
    good = ["+8613812345678", "8613812345678", "86 13812345678", "0571-87654321-123456"]
    bad = ["0571-87654321-1234567", "0012345678", "001-2345678", "+86--13812345678"]
    assert one(tmp_path, good + bad, {"kind": "phone"}) == (8, 4)


# -- uniqueness ----------------------------------------------------------------------------------


@HYPO
@given(
    rows=st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", None, " "]), st.sampled_from([1, 2, None])), max_size=40
    )
)
def test_unique_fails_every_copy_of_a_shared_key(tmp_path, rows):
    table = pa.table(
        {"k": pa.array([r[0] for r in rows], pa.string()), "j": pa.array([r[1] for r in rows], pa.int64())}
    )
    keyed = [r for r in rows if not absent(r[0]) and r[1] is not None]
    counts = Counter(keyed)
    got = run(tmp_path, table, {"kind": "unique", "fields": ["k", "j"]}, {"kind": "unique", "fields": ["k"]})
    single = Counter(r[0] for r in rows if not absent(r[0]))
    assert got[0] == (len(keyed), sum(n for n in counts.values() if n > 1))
    assert got[1] == (sum(single.values()), sum(n for n in single.values() if n > 1))


@pytest.mark.parametrize("span", [2**engine.PERFECT_HASH_BITS - 1, 2**engine.PERFECT_HASH_BITS + 1, 2**62])
def test_unique_integer_keys_are_exact_whichever_way_duckdb_groups_them(tmp_path, span):
    """Keys spanning up to 2**PERFECT_HASH_BITS values are grouped in an array by value, wider ones
    in a hash table: the counts are the same either way, negative keys and both ends included."""
    con = engine.connect()
    assert (
        con.execute("SELECT current_setting('perfect_ht_threshold')").fetchone()[0]
        == engine.PERFECT_HASH_BITS
    )
    con.close()
    low = -(span // 2)
    keys = [low, low, low + span, low + span, 0, 1, 2, 2, 2, None, None, low + 1]
    got = run(tmp_path, pa.table({"k": pa.array(keys, pa.int64())}), {"kind": "unique", "fields": ["k"]})
    assert got == [(10, 7)]


@HYPO
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", None, " "]),
            st.sampled_from([dt.date(2020, 1, 1), dt.date(2021, 5, 6), None]),
        ),
        max_size=40,
    ),
    n=st.integers(1, 4),
)
def test_unique_samples_are_the_first_rows_with_a_shared_key(tmp_path, rows, n):
    path = tmp_path / "v.parquet"
    table = pa.table(
        {"k": pa.array([r[0] for r in rows], pa.string()), "d": pa.array([r[1] for r in rows], pa.date32())}
    )
    pq.write_table(table, path, row_group_size=7)
    ctx = Context(columns={"k": "text", "d": "date"}, as_of=AS_OF)
    rs = ruleset.parse({"rules": [{"kind": "unique", "fields": ["k", "d"]}], "sample_size": n}, KIND_MAP, ctx)
    o = engine.Runner(rs, path, ctx, FACTS).run().outcomes[0]
    keyed = [(i, r) for i, r in enumerate(rows) if not absent(r[0]) and r[1] is not None]
    counts = Counter(r for _, r in keyed)
    assert [s["row"] for s in o.sample] == [i for i, r in keyed if counts[r] > 1][:n]
    assert all(s["values"] == {"k": rows[s["row"]][0], "d": rows[s["row"]][1]} for s in o.sample)


@pytest.mark.parametrize(
    ("where", "passes"),
    [("start", 1), ("spread", 1), ("end", 2)],  # duplicates at the end: the bounded pass finds too few
)
def test_a_uniqueness_sample_reads_the_file_only_as_far_as_it_must(tmp_path, where, passes, monkeypatch):
    """Grouped by DuckDB (a version above `duplicates.MAX_ROWS`)."""
    monkeypatch.setattr(duplicates, "MAX_ROWS", -1)
    n, rows = 3, 6000
    keys = [f"K{i:06d}" for i in range(rows)]  # text longer than DuckDB's inlined 12 bytes
    first = {"start": 0, "spread": 0, "end": rows - 200}[where]
    step = 30 if where == "spread" else 1
    dup = [first + step * k for k in range(200)]  # 100 pairs: 200 failing rows
    for a, b in zip(dup[::2], dup[1::2], strict=True):
        keys[b] = keys[a]
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"k": keys}), path, row_group_size=500)
    ctx = Context(columns={"k": "text"}, as_of=AS_OF)
    rs = ruleset.parse({"rules": [{"kind": "unique", "fields": ["k"]}], "sample_size": n}, KIND_MAP, ctx)
    done = engine.Runner(rs, path, ctx, FACTS).run()
    o = done.outcomes[0]
    assert (o.failed, [s["row"] for s in o.sample]) == (200, dup[:n])
    reads = [s for s in done.statements if "SEMI JOIN" in s]
    # first the rows before where 4n of 200 spread evenly would lie: 4 * 3 * 6000 // 200 + 1
    assert len(reads) == passes and "WHERE t.file_row_number < 361 " in reads[0]
    assert passes == 1 or "WHERE" not in reads[1]


# -- consistency ---------------------------------------------------------------------------------


def test_id_matches_birth_date_and_sex(tmp_path):
    table = pa.table(
        {
            "id": [
                "11010519491231002X",
                "11010519491231002X",
                "110105491231003",
                "11010519491231002X",
                "bad",
                None,
                "110105194912310011",
            ],
            "birth": ["1949-12-31", "1950-01-01", "1949-12-31", None, "1949-12-31", "1949-12-31", "19491231"],
            "sex": ["女", "女", "男", "男", "女", "女", "unknown"],
        }
    )
    # Row 0 agrees; 1 birth differs; 2 (15 digits, 3rd-last odd → male) agrees; 3 sex differs
    # (2 at position 17: a woman); 4 and 5 have no readable ID; 6 sex unreadable, birth agrees.
    assert run(tmp_path, table, {"kind": "id_matches", "id": "id", "birth": "birth", "sex": "sex"}) == [
        (5, 2)
    ]
    assert run(tmp_path, table, {"kind": "id_matches", "id": "id", "sex": "sex"}) == [(4, 1)]
    assert run(tmp_path, table, {"kind": "id_matches", "id": "id", "birth": "birth"}) == [(4, 1)]


MALE, FEMALE = (
    {"男", "男性", "M", "m", "male", "Male", "1"},
    {"女", "女性", "F", "f", "female", "Female", "2"},
)


def _id_states(v: str | None) -> tuple[dt.date, bool] | None:
    """The birth date and "a man" an ID states, when it has an ID's shape and a real birth date."""
    if v is None:
        return None
    if len(v) == 18 and v[:17].isascii() and v[:17].isdigit() and v[17] in "0123456789Xx":
        digits, sex = v[6:14], v[16]
    elif len(v) == 15 and v.isascii() and v.isdigit():
        digits, sex = "19" + v[6:12], v[14]
    else:
        return None
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])), int(sex) % 2 == 1
    except ValueError:
        return None


def _legacy(rng: random.Random) -> str:
    v = _resident_id(rng)
    return v[:6] + v[8:17]


@HYPO
@given(seed=st.integers(0, 10**6), n=st.integers(0, 40), text_fields=st.booleans())
def test_id_matches_agrees_with_python(tmp_path, seed, n, text_fields):
    """Any ID (mutated, legacy, absent), birth dates that agree, differ or are absent (a DATE
    column, or text some of which cannot be read), sex values of either list or neither."""
    rng = random.Random(seed)
    ids, births, sexes = [], [], []
    for _ in range(n):
        v = rng.choice([_resident_id, _legacy])(rng)
        v = _mutate(rng, v, "0123456789Xx") if rng.random() < 0.4 else v
        ids.append(v if rng.random() > 0.1 else None)
        stated = _id_states(v)
        born = stated[0] if stated else dt.date(1990, 3, 7)
        births.append(rng.choice([born, born, born + dt.timedelta(days=rng.randrange(1, 400)), None]))
        sexes.append(rng.choice(["男", "女", "M", "f", "1", "2", "未知", None]))
    if text_fields:
        births = [b if b is None else rng.choice([b.isoformat(), b.isoformat(), "不详"]) for b in births]
    readable = [
        b if not isinstance(b, str) else (None if b == "不详" else dt.date.fromisoformat(b)) for b in births
    ]
    checked = failed = 0
    for v, born, sex in zip(ids, readable, sexes, strict=True):
        stated = _id_states(v)
        if stated is None or (born is None and sex not in MALE | FEMALE):
            continue
        checked += 1
        failed += (
            (born is not None and born != stated[0])
            or (sex in MALE and not stated[1])
            or (sex in FEMALE and stated[1])
        )
    table = pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "birth": pa.array(births, pa.string() if text_fields else pa.date32()),
            "sex": pa.array(sexes, pa.string()),
        }
    )
    rule = {"kind": "id_matches", "id": "id", "birth": "birth", "sex": "sex"}
    assert run(tmp_path, table, rule, {"kind": "resident_id", "field": "id"})[0] == (checked, failed)


def test_rules_on_one_id_read_its_facts_once_under_a_name_no_column_has(tmp_path):
    ids = [_resident_id(random.Random(i)) for i in range(6)] + [None, "110105491231003"]
    table = pa.table({"id": ids, "_SZ_0": range(8), "birth": pa.nulls(8, pa.date32()), "sex": ["男"] * 8})
    rules = [
        {"kind": "not_null", "field": "id"},
        {"kind": "resident_id", "field": "id"},
        {"kind": "id_matches", "id": "id", "birth": "birth", "sex": "sex"},
    ]
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)
    ctx = Context(columns={f.name: family(str(f.type)) for f in table.schema}, as_of=AS_OF)
    rs = ruleset.parse({"rules": rules, "sample_size": 3}, KIND_MAP, ctx)
    done = engine.Runner(rs, path, ctx, FACTS).run()
    scan = done.statements[0]
    # the facts and the region digits of the one ID column: one fused call, under fresh names
    call = 'sz_fused_gb11643_facts_gb2260_prefix__a0a1_a0(t."id", current_date)'  # the ID handed over once
    assert scan.count(call) == 1 and "sz_gb11643_facts(" not in scan
    assert '"_sz_1"' in scan and '"_sz_2"' in scan and 'AS "_sz_0"' not in scan
    women = sum(int(v[16]) % 2 == 0 for v in ids[:6])  # a man's ID has an odd 17th digit
    assert [(o.checked, o.failed) for o in done.outcomes] == [(8, 1), (7, 0), (7, women)]
    # Row 6 has no ID: the facts, and so id_matches' conditions, are NULL there. It still fails
    # not_null, and is in that rule's sample from the one scan (no second scan for it).
    assert [r["row"] for r in done.outcomes[0].sample] == [6] and len(done.statements) == 2


def test_fuse_makes_the_calls_of_two_or_more_compiled_checks_one_and_leaves_the_rest():
    ctx = Context(columns={"a": "text", "b": "text"})
    facts = ctx.call("sz_gb11643_facts", ctx.col("a"), "current_date")
    code = ctx.call("sz_uscc", ctx.col("b"))
    date = ctx.derive("sz_date(t.a)")  # not a call of a compiled function
    upper = ctx.call("upper", ctx.col("a"))  # a call, of a function that is not compiled
    rest, fusion = engine.fuse([facts, date, code, facts, upper], "_sz_9")  # facts of two rules: once
    assert rest == [date, upper] and fusion.parts == (facts, code) and fusion.column == "_sz_9"
    assert fusion.functions == ("sz_gb11643_facts", "sz_uscc")
    assert fusion.sql == 'sz_fused_gb11643_facts_uscc(t."a", current_date, t."b")'
    assert engine.fuse([facts, date, upper], "_sz_9") == ([facts, date, upper], None)  # one: left alone
    sql = engine.with_derived("src", rest, fusion)
    assert sql.count("sz_fused_gb11643_facts_uscc(") == 1 and 'EXCLUDE ("_sz_9")' in sql
    # Two checks of one column: the column is handed over once.
    region = ctx.call("sz_gb2260_prefix", ctx.col("a"))
    _, shared = engine.fuse([facts, region, code], "_sz_9")
    assert shared.arguments == ('t."a"', "current_date", 't."b"') and shared.layout == ((0, 1), (0,), (2,))
    assert shared.sql == 'sz_fused_gb11643_facts_gb2260_prefix_uscc__a0a1_a0_a2(t."a", current_date, t."b")'


def test_the_compiled_checks_of_a_scan_are_one_call_per_row_under_names_no_column_has(tmp_path):
    rng = random.Random(11)
    n = 3000  # more than one DuckDB vector
    codes = ["91330100MA27XY1234", "91330100MA27XY123X", None, "9133010", "91330100ma27xy1234"]
    table = pa.table(
        {
            "id": [_mutate(rng, _resident_id(rng), "0123456789X") if i % 9 else None for i in range(n)],
            "code": [rng.choice(codes) for _ in range(n)],
            "code2": [rng.choice(codes[::-1]) for _ in range(n)],
            "sex": [rng.choice(["男", "女"]) for _ in range(n)],
            # columns named as the scan names its derived values and the fused call's answers
            **{f"_sz_{i}": range(n) for i in range(3)},
            "_SZ_3": range(n),
        }
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path)
    ctx = Context(columns={f.name: family(str(f.type)) for f in table.schema}, as_of=AS_OF)
    rules = [
        {"kind": "credit_code", "field": "code"},
        {"kind": "resident_id", "field": "id"},
        {"kind": "id_matches", "id": "id", "sex": "sex"},
        {"kind": "credit_code", "field": "code2"},
    ]
    done = engine.Runner(ruleset.parse(rules, KIND_MAP, ctx), path, ctx, FACTS).run()
    scan = done.statements[0]
    assert scan.count("sz_fused_uscc_gb11643_facts_gb2260_prefix_uscc__a0_a1a2_a1_a3(") == 1
    assert "sz_uscc(" not in scan and "sz_gb11643_facts(" not in scan and "sz_gb2260_prefix(" not in scan
    assert '"_sz_4"' in scan and not any(f'AS "_sz_{i}"' in scan for i in range(4))

    def counts(values, valid) -> tuple[int, int]:
        present = [v for v in values if not absent(v)]
        return len(present), sum(not (v == v.strip() and valid(v)) for v in present)

    outcomes = [(o.checked, o.failed) for o in done.outcomes]
    assert outcomes[0] == counts(table["code"].to_pylist(), is_uscc)
    assert outcomes[1] == counts(table["id"].to_pylist(), is_resident_id)
    assert outcomes[3] == counts(table["code2"].to_pylist(), is_uscc)
    # Each rule alone counts the same (fused only in a resident_id rule: its facts and region digits).
    for rule, counted in zip(rules, outcomes, strict=True):
        alone = engine.Runner(ruleset.parse([rule], KIND_MAP, ctx), path, ctx, FACTS).run()
        assert ("sz_fused_" in alone.statements[0]) == (rule["kind"] == "resident_id"), rule
        assert (alone.outcomes[0].checked, alone.outcomes[0].failed) == counted, rule


@HYPO
@given(
    rows=st.lists(
        st.tuples(st.one_of(st.none(), st.integers(0, 5)), st.one_of(st.none(), st.integers(0, 5))),
        max_size=30,
    )
)
def test_field_order_compares_present_pairs(tmp_path, rows):
    table = pa.table(
        {"a": pa.array([r[0] for r in rows], pa.int64()), "b": pa.array([r[1] for r in rows], pa.int64())}
    )
    both = [r for r in rows if None not in r]
    got = run(
        tmp_path,
        table,
        {"kind": "field_order", "start": "a", "end": "b"},
        {"kind": "field_order", "start": "a", "end": "b", "strict": True},
    )
    assert got == [(len(both), sum(b < a for a, b in both)), (len(both), sum(b <= a for a, b in both))]


# -- timeliness ----------------------------------------------------------------------------------


def test_timeliness_judges_arrival_against_the_due_date():
    kind = KIND_MAP["timeliness"]
    p = kind.params(grace_days=2)
    due = dt.datetime(2025, 1, 8)
    assert kind.evaluate(p, VersionFacts("weekly", dt.datetime(2025, 1, 10), dt.datetime(2025, 1, 1), due))[
        :2
    ] == (1, 0)
    late = kind.evaluate(p, VersionFacts("weekly", dt.datetime(2025, 1, 11), dt.datetime(2025, 1, 1), due))
    assert late[:2] == (1, 1) and late[2]["late_days"] == 1
    assert kind.evaluate(
        p, VersionFacts("irregular", dt.datetime(2025, 1, 11), dt.datetime(2025, 1, 1), None)
    )[:2] == (0, 0)


# -- the one scan ----------------------------------------------------------------------------------

ALL_ROW_KINDS = [
    {"kind": "not_null", "field": "id"},
    {"kind": "not_blank", "field": "name"},
    {"kind": "type", "field": "n_text", "type": "integer"},
    {"kind": "range", "field": "n", "min": 0},
    {"kind": "regex", "field": "name", "pattern": ".+"},
    {"kind": "enum", "field": "sex", "values": ["男", "女"]},
    {"kind": "resident_id", "field": "id"},
    {"kind": "credit_code", "field": "code"},
    {"kind": "region_code", "field": "region", "year": 2020},
    {"kind": "not_future", "field": "day"},
    {"kind": "phone", "field": "phone"},
    {"kind": "id_matches", "id": "id", "birth": "day", "sex": "sex"},
    {"kind": "field_order", "start": "day", "end": "day2"},
    {"kind": "timeliness"},
]


def _wide(tmp_path):
    rng = random.Random(5)
    n = 200
    table = pa.table(
        {
            "id": [_resident_id(rng) if i % 7 else None for i in range(n)],
            "name": [rng.choice(["王明", "", " ", None]) for _ in range(n)],
            "n_text": [rng.choice(["1", "x", None]) for _ in range(n)],
            "n": [rng.randrange(-5, 5) for _ in range(n)],
            "sex": [rng.choice(["男", "女", "?"]) for _ in range(n)],
            "code": [rng.choice(["91330100MA27XY1234", None]) for _ in range(n)],
            "region": [rng.choice(["110103", "330106"]) for _ in range(n)],
            "day": [dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(10000)) for _ in range(n)],
            "day2": [dt.date(2000, 1, 1) + dt.timedelta(days=rng.randrange(10000)) for _ in range(n)],
            "phone": [rng.choice(["13800138000", "123"]) for _ in range(n)],
        }
    )
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path)
    return path


def test_every_row_rule_is_counted_in_one_scan_of_the_version(tmp_path):
    path = _wide(tmp_path)
    con = engine.connect()
    cols = {n: family(t) for n, t in engine.describe(con, path).items()}
    con.close()
    ctx = Context(columns=cols, as_of=AS_OF)
    rs = ruleset.parse(ALL_ROW_KINDS, KIND_MAP, ctx)
    done = engine.Runner(rs, path, ctx, FACTS).run()
    # One scan counts every rule; one bounded read then fetches the sampled rows by position.
    assert len(done.statements) == 2
    first, second = done.statements
    assert first.count("read_parquet(") == 1 and first.count("count_if(") == 2 * 13
    assert first.count("THEN (_row << ") == 1  # one packed aggregate keeps every rule's first failing rows
    assert "count_if(" not in second and "file_row_number IN (" in second
    assert done.rows == 200
    assert all(o.error is None for o in done.outcomes)
    # Each rule's counts in the one scan equal the rule run on its own.
    for rule, o in zip(ALL_ROW_KINDS, done.outcomes, strict=True):
        alone = engine.Runner(ruleset.parse([rule], KIND_MAP, ctx), path, ctx, FACTS).run().outcomes[0]
        assert (alone.checked, alone.failed) == (o.checked, o.failed), rule


def test_a_uniqueness_rule_adds_one_pass_and_a_read_of_its_candidates(tmp_path):
    path = _wide(tmp_path)
    con = engine.connect()
    cols = {n: family(t) for n, t in engine.describe(con, path).items()}
    con.close()
    ctx = Context(columns=cols, as_of=AS_OF)
    rules = [*ALL_ROW_KINDS, {"kind": "unique", "fields": ["region"]}, {"kind": "unique", "fields": ["id"]}]
    done = engine.Runner(ruleset.parse(rules, KIND_MAP, ctx), path, ctx, FACTS).run()
    # One scan for the row rules (which also counts the keyed rows) and its sample read; the region
    # key has repeated hashes (one pass for the hashes, one read of those rows), the IDs none: one pass.
    reads = [s for s in done.statements if "read_parquet(" in s]
    assert len(reads) == 2 + 2 + 1
    scans = [s for s in reads if "count_if(" in s]
    assert len(scans) == 1 and scans[0].count("count_if(") == 2 * 13 + 2
    passes = [s for s in reads if " AS h, t.file_row_number AS r " in s]
    assert len(passes) == 2 and 'hash(t."region")' in passes[0] and 'hash(t."id")' in passes[1]
    assert not any("GROUP BY" in s for s in reads)  # only the candidates are grouped
    by = {o.rule.name: o for o in done.outcomes}
    ids = by["unique(id)"]
    assert (ids.checked, ids.failed, ids.sample) == (sum(1 for i in range(200) if i % 7), 0, [])
    regions = by["unique(region)"]  # two values over 200 rows: every row fails, the first five are the sample
    assert (regions.checked, regions.failed, regions.detail) == (200, 200, {"duplicate_keys": 2})
    assert [r["row"] for r in regions.sample] == [0, 1, 2, 3, 4]


def test_the_compiled_loops_load_while_the_groupings_run_and_only_when_a_rule_calls_one(tmp_path):
    path = _wide(tmp_path)
    con = engine.connect()
    ctx = Context(columns={n: family(t) for n, t in engine.describe(con, path).items()}, as_of=AS_OF)
    con.close()
    loads = []

    def load() -> None:
        loads.append(threading.current_thread().name)
        raise RuntimeError("a broken cache")  # the scan loads what it calls on its own, and reports

    unique = {"kind": "unique", "fields": ["region"]}
    with patch.object(engine.vectorised, "load", load):
        for rules, loaded in [
            ([unique, {"kind": "resident_id", "field": "id"}], ["sz-load-compiled"]),
            # two compiled checks: one fused call (engine.fuse), which loads them too
            (
                [unique, {"kind": "credit_code", "field": "code"}, {"kind": "resident_id", "field": "id"}],
                ["sz-load-compiled"],
            ),
            ([unique, {"kind": "regex", "field": "name", "pattern": ".+"}], []),  # no compiled loop
            ([{"kind": "credit_code", "field": "code"}], []),  # no grouping to overlap with
        ]:
            loads.clear()
            done = engine.Runner(ruleset.parse(rules, KIND_MAP, ctx), path, ctx, FACTS).run()
            assert loads == loaded and all(o.error is None for o in done.outcomes)
            alone = engine.Runner(ruleset.parse(rules[-1:], KIND_MAP, ctx), path, ctx, FACTS).run()
            assert (done.outcomes[-1].checked, done.outcomes[-1].failed) == (
                alone.outcomes[0].checked,
                alone.outcomes[0].failed,
            )
    first_scan = next(i for i, s in enumerate(done.statements) if "count_if(" in s)
    assert first_scan == 0  # no grouping: the scan first
    grouped = engine.Runner(ruleset.parse([unique, rules[-1]], KIND_MAP, ctx), path, ctx, FACTS).run()
    order = ["GROUP BY" in s for s in grouped.statements if "count_if(" in s or "GROUP BY" in s]
    assert order == [True, False]  # the grouping, then the scan


def test_samples_are_bounded_and_the_first_failing_rows(tmp_path):
    values = ["x" if i % 3 else None for i in range(1000)]
    path = tmp_path / "v.parquet"
    pq.write_table(pa.table({"v": values}), path, row_group_size=100)
    ctx = Context(columns={"v": "text"}, as_of=AS_OF)
    rs = ruleset.parse({"rules": [{"kind": "not_null", "field": "v"}], "sample_size": 4}, KIND_MAP, ctx)
    o = engine.Runner(rs, path, ctx, FACTS).run().outcomes[0]
    assert o.failed == 334 and [s["row"] for s in o.sample] == [0, 3, 6, 9]
    assert all(s["values"] == {"v": None} for s in o.sample)
    none = ruleset.parse({"rules": [{"kind": "not_null", "field": "v"}], "sample_size": 0}, KIND_MAP, ctx)
    done = engine.Runner(none, path, ctx, FACTS).run()
    assert done.outcomes[0].sample == [] and len(done.statements) == 1


def test_a_rule_whose_failures_come_after_the_window_gets_its_sample_from_one_more_scan(tmp_path):
    rows = engine.SAMPLE_WINDOW + 2000
    late = [engine.SAMPLE_WINDOW + 500 + 7 * k for k in range(6)]
    table = pa.table(
        {
            "a": pa.array([None] * rows, pa.string()),  # fails on every row: fills the window
            "b": pa.array([-1 if i in late else 1 for i in range(rows)]),
        }
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path, row_group_size=3000)
    ctx = Context(columns={"a": "text", "b": "integer"}, as_of=AS_OF)
    rules = [{"kind": "not_null", "field": "a"}, {"kind": "range", "field": "b", "min": 0}]
    done = engine.Runner(
        ruleset.parse({"rules": rules, "sample_size": 5}, KIND_MAP, ctx), path, ctx, FACTS
    ).run()
    a, b = done.outcomes
    assert (a.failed, b.failed) == (rows, 6)
    assert [s["row"] for s in a.sample] == [0, 1, 2, 3, 4] and [s["row"] for s in b.sample] == late[:5]
    assert [s["values"]["b"] for s in b.sample] == [-1] * 5
    # the scan, the rule's own scan for its first failures, the sample read
    assert len(done.statements) == 3 and "HUGEINT" not in done.statements[1]


@HYPO
@given(
    st.lists(
        st.tuples(st.none() | st.integers(-3, 3), st.none() | st.sampled_from(["", "x", " "])), max_size=60
    ),
    st.integers(1, 6),
    st.integers(1, 4),
)
def test_samples_are_each_rules_first_failing_rows_whatever_the_window(tmp_path, rows, window, n):
    table = pa.table(
        {"i": pa.array([r[0] for r in rows], pa.int64()), "s": pa.array([r[1] for r in rows], pa.string())}
    )
    path = tmp_path / "v.parquet"
    pq.write_table(table, path, row_group_size=7)
    ctx = Context(columns={"i": "integer", "s": "text"}, as_of=AS_OF)
    rules = [
        {"kind": "not_null", "field": "i"},
        {"kind": "range", "field": "i", "min": 0},
        {"kind": "not_blank", "field": "s"},
        {"kind": "enum", "field": "s", "values": ["x"]},
    ]
    fails = [
        lambda r: r[0] is None,
        lambda r: r[0] is not None and r[0] < 0,
        lambda r: absent(r[1]),
        lambda r: not absent(r[1]) and r[1] != "x",
    ]
    rs = ruleset.parse({"rules": rules, "sample_size": n}, KIND_MAP, ctx)
    # two packed aggregates, and a window small enough that some rules need their own scan
    with patch.object(engine, "MASK_BITS", 2), patch.object(engine, "SAMPLE_WINDOW", window):
        done = engine.Runner(rs, path, ctx, FACTS).run()
    for o, fail in zip(done.outcomes, fails, strict=True):
        failing = [k for k, r in enumerate(rows) if fail(r)]
        assert o.failed == len(failing) and [s["row"] for s in o.sample] == failing[:n]


@pytest.mark.parametrize("kind", sorted(KIND_MAP))
def test_every_built_in_kind_is_documented(kind):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "quality.md").read_text("utf-8")
    assert f"| `{kind}` |" in text


@pytest.mark.parametrize(
    ("rules", "rows", "sizes"),
    [
        (20, 10_000_000, [20]),  # positions of 24 bits: 39 rules fit beside one
        (100, 10_000_000, [39, 39, 22]),
        (100, 2, [62, 38]),  # at most MASK_BITS, however small the file
        (3, 0, [3]),
        (5, 2**61, [2, 2, 1]),  # positions of 61 bits leave two for the rules
        (0, 1000, []),
    ],
)
def test_packed_rows_fit_a_bigint_whatever_the_row_count(rules, rows, sizes):
    chunks = engine._chunks(range(rules), rows)
    assert [len(c) for c in chunks] == sizes
    assert [i for c in chunks for i in c] == list(range(rules))
    for c in chunks:  # the last row's position above one bit per rule of the chunk: below 2**63
        assert (max(rows - 1, 0) << len(c)) | ((1 << len(c)) - 1) < 2**63


def test_the_packed_aggregate_gives_back_positions_as_large_as_fit():
    import duckdb

    rows = 2**61
    (chunk,) = engine._chunks(range(2), rows)
    data = [(rows - 1, True, False), (rows - 2, True, True), (5, False, True), (7, False, False)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t (_row BIGINT, f0 BOOLEAN, f1 BOOLEAN)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", data)
    (packed,) = con.execute(f"SELECT {engine._first_failing(chunk, 10)} FROM t").fetchall()[0]
    positions: dict[int, list[int]] = {}
    engine._unpack(chunk, packed, 5, positions)
    assert positions == {0: [rows - 2, rows - 1], 1: [5, rows - 2]}
