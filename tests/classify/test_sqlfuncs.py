"""The check-digit macros give the Python checksums' answers, value by value, for any text."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.classify.checksums import (
    GB32100_ALPHABET,
    birth_date_of,
    gb11643_check_char,
    gb32100_check_char,
    luhn_ok,
)
from shuzhi.classify.sqlfuncs import PORTABLE_MACROS, connect

CON = connect()  # one connection: the macros are pure functions of the value
PORTABLE = duckdb.connect()  # the SQL-only forms, as a DuckDB without our functions runs them
for _head, _body in PORTABLE_MACROS.items():
    PORTABLE.execute(f"CREATE MACRO {_head} AS ({_body})")
DIGITS = st.text("0123456789", min_size=1, max_size=24)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=24) | st.text(
    "0123456789Xx -ßa", max_size=24
)


def sql(query: str, value: str | None):
    return CON.execute(query, [value]).fetchone()[0]


def id_ok(value: str) -> bool:
    """`sz_gb11643` on a value already shaped as 17 digits + digit/X, or 15 digits (callers check the shape)."""
    s = value.upper()
    if len(s) == 18 and gb11643_check_char(s[:17]) != s[17]:
        return False
    return birth_date_of(s) is not None


@settings(max_examples=100, deadline=None)
@given(
    body=st.text("0123456789", min_size=17, max_size=17),
    born=st.dates(dt.date(1850, 1, 1), dt.date(2100, 12, 31)),
    last=st.sampled_from("0123456789Xx"),
    real=st.booleans(),
)
def test_gb11643_agrees_with_python(body, born, last, real):
    if real:  # half the values carry a real birth date and their right check character
        body = body[:6] + born.strftime("%Y%m%d") + body[14:]
        last = gb11643_check_char(body)
    for value in (body + last, body[:6] + body[8:14] + body[14:]):  # 18 characters, or legacy 15 digits
        assert sql("SELECT sz_gb11643(?)", value) is id_ok(value)


@settings(max_examples=100, deadline=None)
@given(st.text(GB32100_ALPHABET + "abcdxy", min_size=18, max_size=18), st.booleans())
def test_gb32100_agrees_with_python(code, fix):
    upper = code.upper()
    if fix:
        upper = upper[:17] + gb32100_check_char(upper[:17])
        code = code[:17] + upper[17]
    assert sql("SELECT sz_gb32100(?)", code) is (gb32100_check_char(upper[:17]) == upper[17])


@settings(max_examples=100, deadline=None)
@given(DIGITS, st.sampled_from(["", " ", "-"]))
def test_luhn_agrees_with_python(digits, sep):
    value = sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    fits = len(digits) <= 19  # a card number has at most 19 digits (ISO/IEC 7812)
    assert sql("SELECT sz_luhn(?)", value) is (fits and luhn_ok(digits))
    assert PORTABLE.execute("SELECT sz_luhn(?)", [value]).fetchone()[0] is (fits and luhn_ok(digits))


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_macros_answer_any_text_without_error(value):
    # Any text at all: an answer (never an error), and a check character is case-insensitive.
    row = CON.execute(
        "SELECT sz_gb11643(?1), sz_gb11643(upper(?1)), sz_gb32100(?1), sz_gb32100(upper(?1)),"
        " sz_luhn(?1), sz_gb11714(?1), sz_id_birth(?1)",
        [value],
    ).fetchone()
    assert row[0] is row[1] and row[2] is row[3]
    assert row[0] in (True, False) and row[4] in (True, False)


# What the macros answered before they dropped their scalar subqueries.
EDGES = {
    None: (False, None, None, None),  # sz_luhn, a function now, answers NULL for NULL as sz_gb32100 does
    "": (False, False, False, False),
    "1": (False, False, False, False),
    "12345678901234567": (False, False, False, False),
    "110101900307447": (True, False, False, False),
    "-1101011990030744X": (False, False, False, False),
    "4111-1111 1111 1111": (False, True, False, False),
    "y1110000600037341y": (False, False, True, False),
    "ß": (False, False, False, False),
}


@pytest.mark.parametrize("value", list(EDGES))
def test_edge_values(value):
    row = CON.execute(
        "SELECT sz_gb11643(?1), sz_luhn(?1), sz_gb32100(?1), sz_gb11714(?1)", [value]
    ).fetchone()
    assert row == EDGES[value]
