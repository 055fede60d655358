"""The check-character functions over whole arrays give the Python checksums' answer for every value."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.classify import sqlfuncs, vectorised
from shuzhi.classify.checksums import (
    GB32100_ALPHABET,
    gb11643_check_char,
    gb32100_check_char,
    is_uscc,
    luhn_ok,
    region_codes,
)

ID_CHARS = "0123456789Xx"
CODE_CHARS = GB32100_ALPHABET + GB32100_ALPHABET.lower() + "IOZSVio"


TODAY = dt.date(2026, 12, 6)


def birth_ok(digits: str, today: dt.date = TODAY) -> bool:
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return False
    return dt.date(1890, 1, 1) <= born <= today


def id_expected(v: str | None, today: dt.date = TODAY) -> bool | None:
    if v is None:
        return None
    shape = len(v) == 18 and v[:17].isascii() and v[:17].isdigit()
    return shape and gb11643_check_char(v[:17]) == v[17].upper() and birth_ok(v[6:14], today)


def uscc_expected(v: str | None) -> bool | None:
    return None if v is None else v.isascii() and v == v.strip() and is_uscc(v)


def code_expected(v: str | None) -> bool | None:
    if v is None:
        return None
    u = v.upper()
    ok = len(v) == 18 and all(c in GB32100_ALPHABET for c in u)
    return ok and gb32100_check_char(u[:17]) == u[17]


def fixed(check) -> st.SearchStrategy[str]:
    """17 characters with their right check character half the time."""
    return st.tuples(
        st.text(ID_CHARS if check is gb11643_check_char else CODE_CHARS, min_size=17, max_size=17),
        st.booleans(),
        st.sampled_from(ID_CHARS + "Yy"),
    ).map(lambda t: t[0] + (_right(check, t[0]) if t[1] else t[2]))


BIRTHS = st.dates(dt.date(1880, 1, 1), dt.date(2030, 12, 31)).map(lambda d: d.strftime("%Y%m%d")) | st.text(
    "0123456789", min_size=8, max_size=8
)
IDS_WITH_BIRTHS = st.tuples(
    st.text("0123456789", min_size=6, max_size=6),
    BIRTHS,
    st.text("0123456789", min_size=3, max_size=3),
    st.booleans(),
).map(lambda t: (t[0] + t[1] + t[2]) + (_right(gb11643_check_char, t[0] + t[1] + t[2]) if t[3] else "0"))
CODES_WITH_REGIONS = st.tuples(
    st.text(CODE_CHARS, min_size=2, max_size=2),
    st.text("0123456789", min_size=6, max_size=6) | st.text(CODE_CHARS, min_size=6, max_size=6),
    st.text(CODE_CHARS, min_size=9, max_size=9),
).map(lambda t: (body := "".join(t)) + _right(gb32100_check_char, body))


def _right(check, body: str) -> str:
    try:
        return check(body.upper())
    except (ValueError, KeyError):
        return "0"


ANY = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
IDS = st.lists(
    st.none()
    | fixed(gb11643_check_char)
    | IDS_WITH_BIRTHS
    | ANY
    | st.text("0123456789", min_size=18, max_size=18)
)
CODES = st.lists(st.none() | fixed(gb32100_check_char) | ANY | st.text(CODE_CHARS, min_size=18, max_size=18))


@settings(max_examples=150, deadline=None)
@given(IDS, st.integers(0, 3))
def test_resident_id18_agrees_with_python(values, cut):
    array = pa.array(values, pa.string())[cut:]  # a slice: the offsets start inside the buffer
    got = vectorised.resident_id18(array, TODAY).to_pylist()
    assert got == [id_expected(v) for v in values[cut:]]


def facts_expected(v: str | None, today: dt.date = TODAY) -> tuple | None:
    """(birth date, valid, odd) of an ID-shaped value with a real birth date; 0 for any other."""
    if v is None:
        return None
    if len(v) == 18 and v[:17].isascii() and v[:17].isdigit() and v[17] in "0123456789Xx":
        digits, sex = v[6:14], v[16]
        right = gb11643_check_char(v[:17]) == v[17].upper()
    elif len(v) == 15 and v.isascii() and v.isdigit():
        digits, sex, right = "19" + v[6:12], v[14], True
    else:
        return 0
    try:
        born = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return 0
    return born, right and birth_ok(digits, today), int(sex) % 2 == 1


def facts_read(packed: int | None) -> tuple | int | None:
    from shuzhi.classify.kernels import FACTS_DAY_OFFSET

    if packed is None or packed == 0:
        return packed
    born = dt.date(1970, 1, 1) + dt.timedelta(days=(packed >> 2) - FACTS_DAY_OFFSET)
    return born, bool(packed & 2), bool(packed & 1)


LEGACY_IDS = st.tuples(
    st.text("0123456789", min_size=6, max_size=6), BIRTHS, st.text("0123456789", min_size=3, max_size=3)
).map(lambda t: t[0] + t[1][2:] + t[2])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.none() | IDS_WITH_BIRTHS | LEGACY_IDS | fixed(gb11643_check_char) | ANY), st.integers(0, 3)
)
def test_resident_id_facts_agree_with_python(values, cut):
    array = pa.array(values, pa.string())[cut:]
    got = [facts_read(p) for p in vectorised.resident_id_facts(array, TODAY).to_pylist()]
    assert got == [facts_expected(v) for v in values[cut:]]
    # Where the value is an 18-character ID, "valid" is exactly resident_id18's answer.
    valid = vectorised.resident_id18(array, TODAY).to_pylist()
    assert all(f[1] == ok for f, ok, v in zip(got, valid, values[cut:], strict=True) if f and len(v) == 18)


def test_resident_id_facts_at_the_edges():
    from shuzhi.classify.kernels import FACTS_DAY_OFFSET
    from shuzhi.quality.kinds import FACTS_DAY_OFFSET as decoded_with

    assert decoded_with == FACTS_DAY_OFFSET  # the rules decode what the loop packs
    bodies = ["11010199991231123", "11010118891231123", "11010120000229124", "11010100000101123"]
    values = [b + gb11643_check_char(b) for b in bodies] + ["110101000229123", "110101990229123", "11010119"]
    packed = vectorised.resident_id_facts(pa.array(values), TODAY).to_pylist()
    assert [facts_read(p) for p in packed[:3]] == [
        (dt.date(9999, 12, 31), False, True),  # a real date, but after today
        (dt.date(1889, 12, 31), False, True),  # a real date, but before 1890
        (dt.date(2000, 2, 29), True, False),  # a leap day; the sex digit 2, a woman's
    ]
    # The year 0 (1 BC) is a real date as DuckDB counts them: 719,528 days before 1970.
    assert packed[3] >> 2 == FACTS_DAY_OFFSET - 719_528 and packed[3] & 2 == 0
    # 1900 and 1999 were no leap years; eight characters are no ID.
    assert packed[4:] == [0, 0, 0]


def test_a_birth_date_is_judged_against_the_day_given():
    body = "11010120261206123"
    born_today = body + gb11643_check_char(body)
    for today, expected in ((dt.date(2026, 12, 6), True), (dt.date(2026, 12, 5), False)):
        assert vectorised.resident_id18(pa.array([born_today]), today).to_pylist() == [expected]
    leap, not_leap = "11010120000229123", "11010119000229123"  # 2000 is a leap year, 1900 is not
    got = vectorised.resident_id18(
        pa.array([leap + gb11643_check_char(leap), not_leap + gb11643_check_char(not_leap)])
    )
    assert got.to_pylist() == [True, False]
    first, before = (
        "11010118900101123",
        "11010118891231123",
    )  # the earliest birth date accepted, the day before
    got = vectorised.resident_id18(
        pa.array([first + gb11643_check_char(first), before + gb11643_check_char(before)])
    )
    assert got.to_pylist() == [True, False]


def test_x_stands_for_ten_only_as_the_check_character():
    """An X among the first 17 characters is not a digit, even where its value ten would make the
    check character right."""
    from shuzhi.classify.checksums import GB11643_WEIGHTS

    values = []
    for at in (0, 5, 14, 16):  # outside the birth date, which an X would spoil anyway
        body = "11010119900307123"
        body = body[:at] + "X" + body[at + 1 :]
        total = sum((10 if c == "X" else int(c)) * w for c, w in zip(body, GB11643_WEIGHTS, strict=True))
        values.append(body + "10X98765432"[total % 11])
    assert vectorised.resident_id18(pa.array(values), TODAY).to_pylist() == [False] * 4


@settings(max_examples=150, deadline=None)
@given(st.lists(st.none() | CODES_WITH_REGIONS | fixed(gb32100_check_char) | ANY))
def test_uscc_agrees_with_is_uscc(values):
    assert vectorised.uscc(pa.array(values, pa.string())).to_pylist() == [uscc_expected(v) for v in values]


REGION_CODES = sorted(region_codes())
PREFIXED = st.tuples(st.sampled_from(REGION_CODES) | st.text("0123456789", min_size=6, max_size=6), ANY).map(
    "".join
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.none() | PREFIXED | ANY | st.sampled_from(REGION_CODES).map(lambda c: c[:5])),
    st.integers(0, 3),
)
def test_gb2260_prefix_agrees_with_the_region_codes(values, cut):
    # As SQL's `left(v, 6) IN (codes)` reads it: the first six characters, whatever follows.
    array = pa.chunked_array([pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.string())])
    expected = [None if v is None else v[:6] in region_codes() for v in values]
    assert vectorised.gb2260_prefix(array).to_pylist() == expected


def test_gb2260_prefix_at_the_edges():
    values = ["110105", "110105X", "11010", "", "999999", "１10105", "中国110105", " 110105", "000000", None]
    assert vectorised.gb2260_prefix(pa.array(values)).to_pylist() == [
        True, True, False, False, False, False, False, False, False, None,
    ]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(CODES, st.integers(0, 3))
def test_gb32100_check_agrees_with_python(values, cut):
    array = pa.chunked_array(
        [pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.large_string()).cast(pa.string())]
    )
    got = vectorised.gb32100_check(array).to_pylist()
    assert got == [code_expected(v) for v in values]


def card_expected(v: str | None) -> bool | None:
    if v is None:
        return None
    digits = v.replace(" ", "").replace("-", "")
    return 0 < len(digits) <= 19 and digits.isascii() and digits.isdigit() and luhn_ok(digits)


CARDS = st.lists(
    st.none()
    | ANY
    | st.text("0123456789 -", max_size=26)
    | st.text("0123456789", min_size=12, max_size=21).map(lambda d: d[:-1] + _luhn_digit(d[:-1]))
)


def _luhn_digit(body: str) -> str:
    return next(c for c in "0123456789" if luhn_ok(body + c))


@settings(max_examples=150, deadline=None)
@given(CARDS, st.integers(0, 3))
def test_luhn_agrees_with_python(values, cut):
    array = pa.array(values, pa.large_string())[cut:]
    assert vectorised.luhn(array).to_pylist() == [card_expected(v) for v in values[cut:]]


def test_luhn_reads_groups_and_refuses_the_rest():
    card = "6222021234567890128"[:-1]
    card += _luhn_digit(card)
    values = [
        card,
        " ".join([card[:4], card[4:8], card[8:12], card[12:16], card[16:]]),
        card + "0",
        "+" + card,
        card[:4] + "." + card[4:],
        "",
        " - ",
        "０" + card[1:],
        card + card[:1],
    ]
    got = vectorised.luhn(pa.array(values)).to_pylist()
    assert got == [True, True, False, False, False, False, False, False, False]
    assert got == [card_expected(v) for v in values]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view()])
def test_every_string_layout_is_read(kind):
    body = "11010119900307123"
    good = body + gb11643_check_char(body)
    array = pa.array(
        [good, None, good.lower(), "中" * 6, good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1"], kind
    )
    assert vectorised.resident_id18(array).to_pylist() == [True, None, True, False, False]


def _mixed_values() -> list[str | None]:
    """20,000 values: resident IDs, credit codes and card numbers, right and wrong, text and NULLs."""
    values = []
    for i in range(5000):
        body = f"{110101 + i % 7:06d}{19500101 + i * 37 % 500000:08d}{i % 1000:03d}"[:17]
        values.append(body + (gb11643_check_char(body) if i % 3 else "5"))
        code = "91" + f"{330100 + i:06d}" + "".join(GB32100_ALPHABET[(i * 7 + k) % 31] for k in range(9))
        values.append(code + (gb32100_check_char(code) if i % 4 else "0"))
        values.append(None if i % 50 == 0 else f"x{i}")
        card = f"62{i * 7919:014d}"
        values.append(card + (_luhn_digit(card) if i % 5 else "x"))
    return values


def test_in_duckdb_across_vectors_and_against_the_portable_macros():
    """Over more rows than one vector, with NULLs: the functions equal the SQL-only macros on the
    values both are meant for (18 characters of the alphabet) and the Python checksums on all."""
    values = _mixed_values()
    con = sqlfuncs.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.string())}))
    today = con.execute("SELECT current_date").fetchone()[0]
    calls = {
        "sz_gb11643_18(v, current_date)": lambda v: id_expected(v, today),
        "sz_gb32100(v)": code_expected,
        "sz_uscc(v)": uscc_expected,
        "sz_luhn(v)": card_expected,
    }
    for call, expected in calls.items():
        got = [r[0] for r in con.execute(f"SELECT {call} FROM t").fetchall()]
        assert got == [expected(v) for v in values], call
    portable = duckdb.connect()
    for head, body in sqlfuncs.PORTABLE_MACROS.items():
        portable.execute(f"CREATE MACRO {head} AS ({body})")
    portable.register("t", pa.table({"v": pa.array(values, pa.string())}))
    shapes = {"sz_gb32100": "[0-9A-HJ-NPQRTUWXY]{18}", "sz_gb11643": "[0-9]{17}[0-9X]", "sz_luhn": ".*"}
    for name, shape in shapes.items():
        query = f"SELECT {name}(v) FROM t WHERE regexp_full_match(v, '{shape}')"
        old, new = portable.execute(query).fetchall(), con.execute(query).fetchall()
        assert old == new and len(new) > 4000 and {r[0] for r in new} == {True, False}


def test_a_fused_function_answers_as_its_functions_do_each_alone():
    """Across vectors, with NULLs, the same function twice among them: each field of the STRUCT is
    what that function answers alone, and the fused call counts as calling a compiled loop."""
    values = _mixed_values()
    con = sqlfuncs.connect()
    con.register(
        "t", pa.table({"a": pa.array(values, pa.string()), "b": pa.array(values[::-1], pa.string())})
    )
    name = vectorised.install_fused(con, ("sz_gb11643_facts", "sz_uscc", "sz_luhn", "sz_uscc"))
    assert name == "sz_fused_gb11643_facts_uscc_luhn_uscc"
    call = f"{name}(a, current_date, a, b, b)"
    fused = con.execute(f"SELECT x.d0, x.d1, x.d2, x.d3 FROM (SELECT {call} AS x FROM t)").fetchall()
    alone = con.execute("SELECT sz_gb11643_facts(a, current_date), sz_uscc(a), sz_luhn(b), sz_uscc(b) FROM t")
    assert fused == alone.fetchall()
    assert all({r[k] for r in fused} >= {True, False, None} for k in (1, 2, 3))
    assert sqlfuncs.calls_compiled(f"NOT coalesce({name.upper()} (a, b), false)")
    # The same functions with their shared arguments handed over once: a, the date, b.
    layout = ((0, 1), (0,), (2,), (2,))
    shared = vectorised.install_fused(con, ("sz_gb11643_facts", "sz_uscc", "sz_luhn", "sz_uscc"), layout)
    assert shared == name + "__a0a1_a0_a2_a2" and sqlfuncs.calls_compiled(f"{shared}(a)")
    once = con.execute(
        f"SELECT x.d0, x.d1, x.d2, x.d3 FROM (SELECT {shared}(a, current_date, b) AS x FROM t)"
    )
    assert once.fetchall() == fused


def test_a_fused_layout_must_place_every_argument_with_one_type():
    con = sqlfuncs.connect()
    functions = ("sz_gb11643_facts", "sz_uscc")
    with pytest.raises(ValueError, match="argument 1 is DATE for one function and VARCHAR"):
        vectorised.install_fused(con, functions, ((0, 1), (1,)))
    with pytest.raises(ValueError, match="leaves arguments out"):
        vectorised.install_fused(con, functions, ((0, 1), (3,)))
    assert (
        vectorised.fused_name(functions, ((0, 1), (2,))) == "sz_fused_gb11643_facts_uscc"
    )  # their own order


LOAD_THEN_QUERY = """
import json
from shuzhi.classify import kernels, sqlfuncs, vectorised
loops = [kernels.resident_id18, kernels.resident_id_facts, kernels.gb32100, kernels.luhn, kernels.digits_known]
before = [len(loop.signatures) for loop in loops]
vectorised.load()
loaded = [[str(sig[1]) for sig in loop.signatures] for loop in loops]
con = sqlfuncs.connect()
con.execute(
    "SELECT sz_gb11643_18(v, current_date), sz_gb11643_facts(v, current_date), sz_uscc(v), sz_gb32100(v),"
    " sz_luhn(v), sz_gb2260_prefix(v) FROM (SELECT '11010519491231002X' || range::VARCHAR AS v FROM range(5000))"
).fetchall()
print(json.dumps({"before": before, "loaded": loaded, "after": [len(loop.signatures) for loop in loops]}))
"""


def test_load_compiles_in_a_new_process_every_loop_a_duckdb_query_then_calls():
    """In a process of its own (another test may have compiled them here): nothing is loaded before
    `load`; after it, a query calling every function finds each loop ready for what DuckDB hands
    over (an Arrow string array: read-only bytes and 32-bit offsets), and compiles nothing more."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(vectorised.__file__).parents[2])  # the tree under test, whatever is installed
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")])))
    out = subprocess.run([sys.executable, "-c", LOAD_THEN_QUERY], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["before"] == [0] * 5
    assert all(sigs == ["readonly array(int32, 1d, C)"] for sigs in found["loaded"]), found["loaded"]
    assert found["after"] == [1] * 5


def test_the_names_that_run_a_compiled_loop_are_closed_under_the_macros():
    names = sqlfuncs.CALLING_COMPILED
    assert set(vectorised.FUNCTIONS) <= names and "sz_gb11643" in names  # a macro calling one
    for head, body in sqlfuncs.MACROS.items():
        assert (head.split("(")[0] in names) == any(f"{n}(" in body for n in names), head
    assert sqlfuncs.calls_compiled('NOT coalesce(sz_gb11643(t."id"), false)')
    assert sqlfuncs.calls_compiled("sz_gb11643_facts(x, DATE '2026-12-01') // 4")
    assert sqlfuncs.calls_compiled("SZ_LUHN (v)") and sqlfuncs.calls_compiled("x OR\tsz_uscc\n(v)")
    assert not sqlfuncs.calls_compiled("NOT regexp_full_match(x, '[0-9]{6}') AND sz_ymd_ok(x)")
    assert not sqlfuncs.calls_compiled("my_sz_luhn(v) OR sz_luhn_count")
