"""Check digits of Chinese identifiers (GB 11643, GB 32100, GB 11714, Luhn) and their plausibility rules."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

GB32100_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""31 characters: the digits and the capitals without I, O, Z, S, V."""
GB11643_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def gb11643_check_char(first17: str) -> str:
    """Check character of an 18-digit resident ID (ISO 7064 MOD 11-2)."""
    total = sum(int(c) * w for c, w in zip(first17, GB11643_WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def gb32100_check_char(first17: str) -> str:
    """Check character of a unified social credit code: weights 3^(i-1) mod 31, 31-character alphabet."""
    total = sum(GB32100_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first17))
    return GB32100_ALPHABET[(31 - total % 31) % 31]


def gb11714_check_char(first8: str) -> str:
    """Check character of a 9-character organisation code (组织机构代码)."""
    total = sum(int(c, 36) * w for c, w in zip(first8, GB11714_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def is_uscc(code: str) -> bool:
    """GB 32100: registration authority, entity type, region, organisation code and check char.

    Unlike python-stdnum 2.2 this accepts letters in the first two positions (A/N/Y authorities).
    """
    code = code.strip().upper()
    if len(code) != 18 or any(c not in GB32100_ALPHABET for c in code):
        return False
    if not code[2:8].isdigit():
        return False
    return gb32100_check_char(code[:17]) == code[17]


def is_org_code(code: str) -> bool:
    code = code.strip().upper().replace("-", "")
    if len(code) != 9 or not code[:8].isalnum() or not code[:8].isascii():
        return False
    return gb11714_check_char(code[:8]) == code[8]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_SPAN = re.compile(r"^\[(\d*)-(\d*)\]")
REGION_OPEN = 9999
"""The year an open span of a GB/T 2260 code ends at (a code still in force)."""


def _spans(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        m = _SPAN.match(part)
        out.append((int(m.group(1) or 0), int(m.group(2) or REGION_OPEN)) if m else (0, REGION_OPEN))
    return out


@lru_cache(maxsize=1)
def region_spans() -> dict[str, tuple[tuple[int, int], ...]]:
    """Every six-digit GB/T 2260 code python-stdnum knows, with the year spans it was in force.

    stdnum's `cn/loc` marks a code that was not always in force with spans: `[-2010]崇文区` (until
    2010), `[1986-]房山区` (from 1986), `[1983-2021]下城区`, several joined by commas; a code without
    one (or under a prefix without one) was in force in every year: (0, REGION_OPEN)."""
    from stdnum import numdb

    out: dict[str, tuple[tuple[int, int], ...]] = {}

    # NumDB keeps (length, low, high, props, children) ranges; expand each into its literal prefixes.
    def walk(prefix: str, items, inherited: list[tuple[int, int]]) -> None:
        for length, low, high, props, children in items:
            own = [s for v in props.values() for s in _spans(v)] if props else []
            for n in range(int(low), int(high) + 1):
                code = prefix + str(n).zfill(length)
                if len(code) == 6:
                    out[code] = tuple(own or inherited or [(0, REGION_OPEN)])
                walk(code, children, own or inherited)

    walk("", numdb.get("cn/loc").prefixes, [])
    return out


@lru_cache(maxsize=1)
def region_codes() -> frozenset[str]:
    """Every six-digit GB/T 2260 code python-stdnum knows, in any year (a person keeps an old code)."""
    return frozenset(region_spans())


def birth_date_of(resident_id: str) -> dt.date | None:
    """Birth date in an 18-digit or 15-digit (legacy, 19xx) resident ID, None when impossible."""
    s = resident_id.strip()
    raw = s[6:14] if len(s) == 18 else "19" + s[6:12]
    try:
        born = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        return None
    return born if dt.date(1890, 1, 1) <= born <= dt.date.today() else None


def is_resident_id(value: str) -> bool:
    """A valid ID: checksum (18 digits) + plausible birth date + a region code known in any year."""
    s = value.strip().upper()
    if len(s) == 18:
        if not s[:17].isdigit() or gb11643_check_char(s[:17]) != s[17]:
            return False
    elif len(s) != 15 or not s.isdigit():
        return False
    return birth_date_of(s) is not None and s[:6] in region_codes()
