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
def real_date(year, month, day):
    """A day of the (proleptic Gregorian) calendar."""
    if month < 1 or month > 12 or day < 1:
        return False
    last = DAYS_IN_MONTH[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        last = 29
    return day <= last


@compiled
def day_number(year, month, day):
    """Days from 1970-01-01 to a real date (before it: negative), as DuckDB counts a DATE."""
    # The civil-to-days conversion in 400-year eras of 146,097 days, years starting in March.
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    of_era = y - era * 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    return era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - 719468


@compiled
def birth_ok(data, at, today):
    """Digits at `at`.. (known to be digits) a real date from 1890-01-01 to `today` (YYYYMMDD)."""
    year, month, day = number(data, at, 4), number(data, at + 4, 2), number(data, at + 6, 2)
    return real_date(year, month, day) and EARLIEST_BIRTH <= year * 10000 + month * 100 + day <= today


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
def all_digits(data, start, width):
    for k in range(start, start + width):  # noqa: SIM110 - Numba compiles a loop, not all() of a generator
        if data[k] < 48 or data[k] > 57:
            return False
    return True


FACTS_DAY_OFFSET = 1_000_000
"""Added to a birth date's day number in a resident ID's facts: every real date's is then positive."""


@compiled
def resident_id_facts(data, offsets, today, out):
    """What a resident ID states, packed in one integer (see `vectorised.resident_id_facts`)."""
    for i in range(out.shape[0]):
        start, length = offsets[i], offsets[i + 1] - offsets[i]
        out[i] = 0
        if length == 18:
            total = weighted(data, start, GB11643, GB11643_W, 9)
            last = GB11643[data[start + 17]]
            if total < 0 or last > 10:
                continue
            right = last == GB11643_EXPECTED[total % 11]
            year, sex_digit = number(data, start + 6, 4), data[start + 16]
            at = start + 10
        elif length == 15:
            if not all_digits(data, start, 15):
                continue
            right = True  # a legacy number has no check character
            year, sex_digit = 1900 + number(data, start + 6, 2), data[start + 14]
            at = start + 8
        else:
            continue
        month, day = number(data, at, 2), number(data, at + 2, 2)
        if real_date(year, month, day):
            days = day_number(year, month, day) + FACTS_DAY_OFFSET
            plausible = EARLIEST_BIRTH <= year * 10000 + month * 100 + day <= today
            out[i] = days * 4 + (2 if right and plausible else 0) + (sex_digit - 48) % 2


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
def digits_known(data, offsets, width, known, out):
    """Whether each value starts with `width` ASCII digits whose number is flagged in `known`."""
    for i in range(out.shape[0]):
        start, ok, value = offsets[i], offsets[i + 1] - offsets[i] >= width, 0
        if ok:
            for k in range(start, start + width):
                digit = np.int64(data[k]) - 48
                if digit < 0 or digit > 9:
                    ok = False
                    break
                value = value * 10 + digit
        out[i] = ok and known[value] != 0


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


@compiled
def full_match(data, offsets, table, answers, out):
    """Each value walked through an automaton's table (`patterns.Automaton`) from its start, state 2,
    until its end or state 0 or 1 (no match possible; a byte above 127), then that state's answer."""
    for i in range(out.shape[0]):
        state = 2
        for k in range(offsets[i], offsets[i + 1]):
            state = table[state, data[k]]
            if state < 2:
                break
        out[i] = answers[state]
