"""The check-character functions over whole arrays give the Python checksums' answer for every value."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.classify import sqlfuncs, vectorised
from shuzhi.classify.checksums import GB32100_ALPHABET, gb11643_check_char, gb32100_check_char

ID_CHARS = "0123456789Xx"
CODE_CHARS = GB32100_ALPHABET + GB32100_ALPHABET.lower() + "IOZSVio"


def id_expected(v: str | None) -> bool | None:
    if v is None:
        return None
    return (
        len(v) == 18 and v[:17].isascii() and v[:17].isdigit() and gb11643_check_char(v[:17]) == v[17].upper()
    )


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


def _right(check, body: str) -> str:
    try:
        return check(body.upper())
    except (ValueError, KeyError):
        return "0"


ANY = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=20)
IDS = st.lists(st.none() | fixed(gb11643_check_char) | ANY | st.text("0123456789", min_size=18, max_size=18))
CODES = st.lists(st.none() | fixed(gb32100_check_char) | ANY | st.text(CODE_CHARS, min_size=18, max_size=18))


@settings(max_examples=150, deadline=None)
@given(IDS, st.integers(0, 3))
def test_gb11643_check_agrees_with_python(values, cut):
    array = pa.array(values, pa.string())[cut:]  # a slice: the offsets start inside the buffer
    got = vectorised.gb11643_check(array).to_pylist()
    assert got == [id_expected(v) for v in values[cut:]]


@settings(max_examples=150, deadline=None)
@given(CODES, st.integers(0, 3))
def test_gb32100_check_agrees_with_python(values, cut):
    array = pa.chunked_array(
        [pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.large_string()).cast(pa.string())]
    )
    got = vectorised.gb32100_check(array).to_pylist()
    assert got == [code_expected(v) for v in values]


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.string_view()])
def test_every_string_layout_is_read(kind):
    body = "11010119900307123"
    good = body + gb11643_check_char(body)
    array = pa.array(
        [good, None, good.lower(), "中" * 6, good[:-1] + "0" if good[-1] != "0" else good[:-1] + "1"], kind
    )
    assert vectorised.gb11643_check(array).to_pylist() == [True, None, True, False, False]


def test_in_duckdb_across_vectors_and_against_the_portable_macros():
    """Over more rows than one vector, with NULLs: the functions equal the SQL-only macros on the
    values both are meant for (18 characters of the alphabet) and the Python checksums on all."""
    values = []
    for i in range(5000):
        body = f"{110101 + i % 7:06d}{19500101 + i * 37 % 500000:08d}{i % 1000:03d}"[:17]
        values.append(body + (gb11643_check_char(body) if i % 3 else "5"))
        code = "91" + f"{330100 + i:06d}" + "".join(GB32100_ALPHABET[(i * 7 + k) % 31] for k in range(9))
        values.append(code + (gb32100_check_char(code) if i % 4 else "0"))
        values.append(None if i % 50 == 0 else f"x{i}")
    con = sqlfuncs.connect()
    con.register("t", pa.table({"v": pa.array(values, pa.string())}))
    for name in ("sz_gb11643_check", "sz_gb32100"):
        got = [r[0] for r in con.execute(f"SELECT {name}(v) FROM t").fetchall()]
        expected = id_expected if name == "sz_gb11643_check" else code_expected
        assert got == [expected(v) for v in values]
    portable = duckdb.connect()
    for head, body in sqlfuncs.PORTABLE_MACROS.items():
        portable.execute(f"CREATE MACRO {head} AS ({body})")
    portable.register("t", pa.table({"v": pa.array(values, pa.string())}))
    shapes = {"sz_gb32100": "[0-9A-HJ-NPQRTUWXY]{18}", "sz_gb11643": "[0-9]{17}[0-9X]"}
    for name, shape in shapes.items():
        query = f"SELECT {name}(v) FROM t WHERE regexp_full_match(v, '{shape}')"
        old, new = portable.execute(query).fetchall(), con.execute(query).fetchall()
        assert old == new and len(new) > 4000 and {r[0] for r in new} == {True, False}
