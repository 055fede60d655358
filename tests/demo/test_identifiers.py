"""ID numbers and credit codes built by the demo agree with GB 11643 / GB 32100 and with python-stdnum."""

from __future__ import annotations

import datetime as dt

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from shuzhi.demo import AS_OF
from shuzhi.demo.flaws import corrupt_rics, corrupt_usccs
from shuzhi.demo.geography import load_city
from shuzhi.demo.identifiers import USCC_ALPHABET, make_rics, make_uscc, ric_is_valid, uscc_is_valid

CITY = load_city()


@given(st.dates(dt.date(1930, 1, 1), AS_OF), st.integers(0, len(CITY.districts) - 1), st.integers(0, 999))
def test_built_id_numbers_pass_our_check_and_stdnum(born, district, order):
    prefixes = CITY.id_prefixes(CITY.districts[district], born.year) or CITY.any_prefixes(born.year)
    number = make_rics(
        np.array([int(prefixes[0])]), np.array([born], dtype="datetime64[D]"), np.array([order])
    )[0]
    assert ric_is_valid(number, CITY, AS_OF)
    assert stdnum_ric.is_valid(number)


@given(st.sampled_from(["91", "92", "93", "N2", "Y1"]), st.text(USCC_ALPHABET, min_size=8, max_size=8))
def test_built_credit_codes_pass_our_check(kind, body):
    code = make_uscc(kind[0], kind[1], CITY.districts[0].code, body)
    assert uscc_is_valid(code, CITY)
    assert stdnum_uscc.is_valid(code) == kind[0].isdigit()


def test_corrupted_identifiers_are_invalid():
    rng = np.random.default_rng(1)
    born = np.array(["1980-05-04"] * 300, dtype="datetime64[D]")
    ids = make_rics(np.full(300, 330122), born, np.arange(300) * 3 % 1000)
    broken, status = corrupt_rics(ids, 0.5, 0.1, rng)
    assert {"checksum", "date", "short15", "missing"} <= set(status)
    for value, kind in zip(broken, status, strict=True):
        assert ric_is_valid(value, CITY, AS_OF) == (kind == "")
    codes = np.array([make_uscc("9", "1", "330106", f"{k:08d}") for k in range(300)], dtype=object)
    broken, status = corrupt_usccs(codes, 0.5, 0.1, rng)
    assert {"checksum", "regno15", "orgcode", "missing"} <= set(status)
    for value, kind in zip(broken, status, strict=True):
        assert uscc_is_valid(value, CITY) == (kind == "")


def test_districts_are_current_codes_of_the_city():
    assert len(CITY.districts) >= 10
    for d in CITY.districts:
        assert d.code.startswith("3301")
        assert any(r.code == d.code and r.end == 9999 for r in CITY.regions)
