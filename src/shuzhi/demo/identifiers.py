"""Identifiers of the demo city: GB 11643 ID numbers and GB 32100 credit codes, built and checked in bulk.

What "valid" means here (also in docs/demo-city.md):

居民身份证号 (GB 11643-1999), valid when all of:
  1. 18 characters: 17 digits and a check character (digit or ``X``);
  2. the check character is the ISO 7064 MOD 11-2 value of the first 17 digits;
  3. digits 7–14 are a real calendar date, not after the city's reference date and not before 1900;
  4. digits 1–6 are a GB/T 2260 county-level code *of the demo city* that was in force in the birth
     year (the rule python-stdnum applies, so every valid number also passes `stdnum.cn.ric.is_valid`).
  The order code (digits 15–17) is odd for men and even for women; a number whose sex disagrees with
  the record is a data-quality finding, not an invalid number.

统一社会信用代码 (GB 32100-2015), valid when all of:
  1. 18 characters from the GB 32100 alphabet (digits and capitals without I, O, Z, S, V);
  2. characters 1–2 are a registration-authority and entity-category pair defined by the standard
     (91 enterprise, 92 individual business, 93 farmers' co-operative, N1–N3/N9 rural collective
     economic organisations, Y1 other, …);
  3. characters 3–8 are the GB/T 2260 code of the city or of one of its county-level divisions,
     current or historical (a code, once issued, never changes when districts merge);
  4. characters 9–17 are an organisation code with a valid GB 11714 check character;
  5. character 18 is the GB 32100 check character (`stdnum.cn.uscc.calc_check_digit`).
  stdnum's `validate` rejects every code whose first character is a letter (N…, Y…), although the
  standard defines them; our check accepts them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from stdnum.cn import uscc as stdnum_uscc

from shuzhi.classify.checksums import GB11643_WEIGHTS, gb11643_check_char, gb11714_check_char
from shuzhi.classify.checksums import GB32100_ALPHABET as USCC_ALPHABET
from shuzhi.demo.geography import City

RIC_WEIGHTS = np.array(GB11643_WEIGHTS, dtype=np.int64)
USCC_CATEGORIES = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "1239",
    "Y": "1",
}
"""Registration authority → entity categories it may issue, after GB 32100-2015 and its amendments."""

_DIGITS = np.frombuffer(b"0123456789", dtype=np.uint8)


# -- 居民身份证号 -------------------------------------------------------------------------------


def ric_check_chars(body: np.ndarray) -> np.ndarray:
    """Check characters of many 17-digit bodies (an int array of shape (n, 17)), as a str array.

    `gb11643_check_char` in bulk: one matrix product instead of a Python loop per number."""
    value = (12 - (body @ RIC_WEIGHTS) % 11) % 11
    return np.where(value == 10, "X", value.astype(str))


def make_rics(prefix: np.ndarray, birth: np.ndarray, order: np.ndarray) -> np.ndarray:
    """ID numbers from region codes (int), birth dates (datetime64[D]) and order codes (0–999)."""
    ymd = np.char.replace(np.datetime_as_string(birth, unit="D"), "-", "").astype("U8")
    body_str = np.char.add(np.char.add(prefix.astype("U6"), ymd), np.char.zfill(order.astype("U3"), 3))
    body = _digit_matrix(body_str, 17)
    return np.char.add(body_str, ric_check_chars(body))


def _digit_matrix(strings: np.ndarray, width: int) -> np.ndarray:
    raw = np.frombuffer(np.asarray(strings, dtype=f"S{width}").tobytes(), dtype=np.uint8)
    return (raw.reshape(-1, width) - ord("0")).astype(np.int64)


def ric_is_valid(number: str | None, city: City, as_of: dt.date) -> bool:
    """Our definition of a valid ID number (see the module docstring)."""
    if not number or len(number) != 18 or not number[:17].isdigit() or number[17] not in "0123456789X":
        return False
    if gb11643_check_char(number[:17]) != number[17]:
        return False
    try:
        born = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not dt.date(1900, 1, 1) <= born <= as_of:
        return False
    return any(r.code == number[:6] and r.valid_in(born.year) for r in city.regions)


def ric_sex(number: str) -> str:
    """男 or 女 from the order code's parity."""
    return "男" if int(number[16]) % 2 else "女"


# -- 统一社会信用代码 ------------------------------------------------------------------------------


def make_uscc(authority: str, category: str, region: str, org_body: str) -> str:
    """A credit code from its parts; the organisation-code and GB 32100 check characters are computed."""
    head = f"{authority}{category}{region}{org_body}{gb11714_check_char(org_body)}"
    return head + stdnum_uscc.calc_check_digit(head)


def uscc_is_valid(code: str | None, city: City) -> bool:
    """Our definition of a valid credit code (see the module docstring)."""
    if not code or len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    if code[1] not in USCC_CATEGORIES.get(code[0], ""):
        return False
    region_codes = {city.code} | {r.code for r in city.regions}
    if code[2:8] not in region_codes:
        return False
    if gb11714_check_char(code[8:16]) != code[16]:
        return False
    return stdnum_uscc.calc_check_digit(code[:17]) == code[17]


def random_org_bodies(rng: np.random.Generator, founded_year: np.ndarray) -> list[str]:
    """Organisation-code bodies: 8 digits for older bodies, ``MA`` + 6 characters since 2015 (as issued)."""
    n = len(founded_year)
    digits = rng.integers(0, 10, size=(n, 8))
    letters = rng.integers(0, len(USCC_ALPHABET), size=(n, 6))
    alphabet = np.array(list(USCC_ALPHABET))
    old_bodies = ["".join(map(str, row)) for row in digits]
    new_bodies = ["MA" + "".join(row) for row in alphabet[letters]]
    return [
        nb if y >= 2015 else ob
        for ob, nb, y in zip(old_bodies, new_bodies, founded_year.tolist(), strict=True)
    ]
