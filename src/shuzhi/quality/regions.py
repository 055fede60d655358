"""GB/T 2260 region codes with the years each was in force, read from python-stdnum's table.

stdnum's `cn/loc` marks a code that was not always in force with spans: `[-2010]崇文区` (until 2010),
`[1986-]房山区` (from 1986), `[1983-2021]下城区`, several spans joined by commas. A code is valid in
year Y when some span holds Y, both ends inclusive (the year of a change counts for the old and the
new code: a register keyed that year may carry either). A code with no span is valid in every year.
Only six-digit codes count; prefixes of provinces and cities are six-digit codes too (`110000`).
"""

from __future__ import annotations

import re
from functools import lru_cache

_SPAN = re.compile(r"^\[(\d*)-(\d*)\]")
OPEN = 9999


def _spans(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        m = _SPAN.match(part)
        out.append((int(m.group(1) or 0), int(m.group(2) or OPEN)) if m else (0, OPEN))
    return out


@lru_cache(maxsize=1)
def spans() -> dict[str, tuple[tuple[int, int], ...]]:
    """Every six-digit code with the year spans it was in force."""
    from stdnum import numdb

    out: dict[str, tuple[tuple[int, int], ...]] = {}

    # NumDB holds (length, low, high, props, children) ranges; expand each into its literal prefixes.
    def walk(prefix: str, items, inherited: list[tuple[int, int]]) -> None:
        for length, low, high, props, children in items:
            own = [s for v in props.values() for s in _spans(v)] if props else []
            for n in range(int(low), int(high) + 1):
                code = prefix + str(n).zfill(length)
                if len(code) == 6:
                    out[code] = tuple(own or inherited or [(0, OPEN)])
                walk(code, children, own or inherited)

    walk("", numdb.get("cn/loc").prefixes, [])
    return out


@lru_cache(maxsize=256)
def valid_codes(year: int | None = None) -> frozenset[str]:
    """The codes in force in `year` (any year when None)."""
    if year is None:
        return frozenset(spans())
    return frozenset(c for c, held in spans().items() if any(a <= year <= b for a, b in held))


@lru_cache(maxsize=1)
def table():
    """The codes and their spans as an Arrow table (code, first, last): one row per span, for the
    engine to register as the relation `sz_regions` that region rules join against."""
    import pyarrow as pa

    rows = [(code, a, b) for code, held in spans().items() for a, b in held]
    return pa.table(
        {
            "code": [r[0] for r in rows],
            "first": pa.array([r[1] for r in rows], pa.int32()),
            "last": pa.array([r[2] for r in rows], pa.int32()),
        }
    )
