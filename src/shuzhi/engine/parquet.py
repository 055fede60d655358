"""Parquet statistics the platform can trust: none for floating-point columns, and files that have them read without trusting them.

The Parquet format leaves NaN out of a column chunk's minimum and maximum, and DuckDB decides a
comparison it can answer from them without reading the rows: over `[1.0, 2.0, NaN]` a grant's row
filter `x < 1000` kept the NaN row (NaN lies above every number in DuckDB, so it fails the filter),
`isnan(x)` found none and `max(x)` said 2.0. So the platform writes no minimum and maximum for
floating-point columns (`statistics_columns`), and a file that has them — written before this rule,
or by someone else — is read with the rewrites that trust them switched off (`UNTRUSTING`, where
`float_statistics` says so).
"""

from __future__ import annotations

import os
from functools import lru_cache

import pyarrow as pa
import pyarrow.parquet as pq

UNTRUSTING = "statistics_propagation,filter_pushdown"
"""DuckDB's optimizers that answer from a file's minimum and maximum (`SET disabled_optimizers`):
the first folds expressions, the second skips row groups for a filter."""
FOLDING = "statistics_propagation"
"""Of them, the one a statement without a filter on the values needs switched off."""


def statistics_columns(schema: pa.Schema) -> list[str]:
    """The columns that get statistics (`write_statistics=`): all but floating-point ones, and
    nested ones (whose leaves would need their own paths), which only costs their readers speed."""
    return [f.name for f in schema if not pa.types.is_floating(f.type) and not pa.types.is_nested(f.type)]


def float_statistics(path) -> bool:
    """Whether some floating-point column chunk of a Parquet file has a minimum or maximum (from its
    footer; remembered for the file's state, versions being immutable)."""
    st = os.stat(path)
    return _float_statistics(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=4096)
def _float_statistics(path: str, _size: int, _mtime_ns: int) -> bool:
    meta = pq.read_metadata(path)
    for group in range(meta.num_row_groups):
        row_group = meta.row_group(group)
        for i in range(row_group.num_columns):
            chunk = row_group.column(i)
            if (
                chunk.physical_type in ("FLOAT", "DOUBLE")
                and chunk.is_stats_set
                and chunk.statistics.has_min_max
            ):
                return True
    return False
