"""The compiled loops of `vectorised`: each reads a vector of strings where Arrow keeps them (bytes, offsets)."""

from __future__ import annotations

import numpy as np
from numba import njit

from shuzhi.classify.checksums import GB11643_WEIGHTS, GB32100_ALPHABET

INVALID = 255


def _table(alphabet: str, extra: dict[str, int] | None = None) -> np.ndarray:
    """Byte → its value in the alphabet (either case), INVALID otherwise (non-ASCII bytes included)."""
    table = np.full(256, INVALID, np.uint8)
    for value, char in enumerate(alphabet):
        table[ord(char)] = table[ord(char.lower())] = value
    for char, value in (extra or {}).items():
        table[ord(char)] = value
    return table


GB11643 = _table("0123456789", {"X": 10, "x": 10})
GB11643_W = np.array(GB11643_WEIGHTS, np.int64)
GB11643_EXPECTED = np.array([GB11643[ord(c)] for c in "10X98765432"], np.uint8)
"""The check character's value for each weighted sum mod 11 (ISO 7064 MOD 11-2)."""
GB32100 = _table(GB32100_ALPHABET)
GB32100_W = np.array([pow(3, i, 31) for i in range(17)], np.int64)
DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int64)
EARLIEST_BIRTH = 18900101
LUHN_MAX_DIGITS = 19
"""ISO/IEC 7812: a card number has at most 19 digits."""


def compiled(function):
    """Compiled without the GIL, kept in Numba's on-disk cache (next to this file, or the user's
    cache directory); where neither can be written, compiled afresh in each process."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError:  # Numba: "cannot cache function ...: no locator available"
        return njit(nogil=True)(function)


@compiled
def number(data, at, width):
    value = 0
    for k in range(at, at + width):
        value = value * 10 + np.int64(data[k]) - 48
    return value


@compiled
def birth_ok(data, at, today):
    """Digits at `at`.. (known to be digits) a real date from 1890-01-01 to `today` (YYYYMMDD)."""
    year, month, day = number(data, at, 4), number(data, at + 4, 2), number(data, at + 6, 2)
    if month < 1 or month > 12 or day < 1:
        return False
    last = DAYS_IN_MONTH[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    ymd = year * 10000 + month * 100 + day
    return day <= last and EARLIEST_BIRTH <= ymd <= today


@compiled
def weighted(data, start, table, weights, limit):
    """The weighted sum of the 17 characters from `start`, each its value in `table`; -1 when one
    of them is above `limit` (not a character that position may hold)."""
    total = 0
    for k in range(17):
        value = table[data[start + k]]
        if value > limit:
            return -1
        total += value * weights[k]
    return total


@compiled
def resident_id18(data, offsets, today, out):
    for i in range(out.shape[0]):
        start, ok = offsets[i], False
        if offsets[i + 1] - start == 18:
            total = weighted(data, start, GB11643, GB11643_W, 9)
            ok = (
                total >= 0
                and GB11643[data[start + 17]] == GB11643_EXPECTED[total % 11]
                and birth_ok(data, start + 6, today)
            )
        out[i] = ok


@compiled
def gb32100(data, offsets, region_digits, out):
    for i in range(out.shape[0]):
        start, ok = offsets[i], False
        if offsets[i + 1] - start == 18:
            total = weighted(data, start, GB32100, GB32100_W, 30)
            # An invalid last character is INVALID in the table: never a check value (0-30).
            ok = total >= 0 and GB32100[data[start + 17]] == (31 - total % 31) % 31
            if ok and region_digits:  # characters 3-8, the region code
                for k in range(start + 2, start + 8):
                    ok = ok and GB32100[data[k]] <= 9
        out[i] = ok


@compiled
def luhn(data, offsets, out):
    for i in range(out.shape[0]):
        total, count, ok = 0, 0, True
        for k in range(offsets[i + 1] - 1, offsets[i] - 1, -1):  # from the last digit
            byte = data[k]
            if byte == 32 or byte == 45:  # a space or a hyphen between groups
                continue
            digit = np.int64(byte) - 48
            if digit < 0 or digit > 9:
                ok = False
                break
            if count % 2:
                digit = digit * 2 - 9 if digit > 4 else digit * 2
            total += digit
            count += 1
        out[i] = ok and 0 < count <= LUHN_MAX_DIGITS and total % 10 == 0
