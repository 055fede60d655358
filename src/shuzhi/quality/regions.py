"""GB/T 2260 region codes with the years each was in force, from python-stdnum's table (read once,
by `classify.checksums.region_spans`, for the check characters' region digits as well).

stdnum's `cn/loc` marks a code that was not always in force with spans: `[-2010]崇文区` (until 2010),
`[1986-]房山区` (from 1986), `[1983-2021]下城区`, several spans joined by commas. A code is valid in
year Y when some span holds Y, both ends inclusive (the year of a change counts for the old and the
new code: a register keyed that year may carry either). A code with no span is valid in every year.
Only six-digit codes count; prefixes of provinces and cities are six-digit codes too (`110000`).
"""

from __future__ import annotations

from functools import lru_cache

from shuzhi.classify.checksums import REGION_OPEN as OPEN
from shuzhi.classify.checksums import region_spans as spans

__all__ = ["OPEN", "spans", "table", "valid_codes"]


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
