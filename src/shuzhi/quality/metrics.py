"""The metrics of a version that anomaly detection compares: rows, and per column null share,
distinct count and the mean of numeric columns (of their finite values: none when there are none).

The null counts and distinct estimates the ingest profile already holds are reused; whatever it
lacks (the means always, since the profile has none) comes from ONE aggregate query over the
version's Parquet file, reading only the columns it needs.
"""

from __future__ import annotations

import math

import duckdb

from shuzhi.ingest.profile import is_scalar, quote_ident
from shuzhi.quality.kinds import lit

NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER")
NUMERIC += ("UBIGINT", "FLOAT", "DOUBLE", "REAL", "DECIMAL")


def is_numeric(duck_type: str) -> bool:
    return duck_type.upper().split("(")[0] in NUMERIC


def measure(path, profile: dict | None) -> dict:
    """`{"rows": n, "columns": {name: {"type", "null_share", "distinct", "mean"}}}` of a version file."""
    known = {c["name"]: c for c in (profile or {}).get("columns", []) if "null_share" in c}
    con = duckdb.connect()
    try:
        types = {
            r[0]: r[1]
            for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({lit(str(path))})").fetchall()
        }
        exprs, slots = ["count(*)"], {}

        def want(name: str, what: str, expr: str) -> None:
            slots[(name, what)] = len(exprs)
            exprs.append(expr)

        for name, duck_type in types.items():
            q = quote_ident(name)
            if name not in known:
                want(name, "count", f"count({q})")
                if is_scalar(duck_type):
                    want(name, "distinct", f"approx_count_distinct({q})")
            if is_numeric(duck_type):
                # Of the finite values: one NaN would make the mean NaN, which JSON cannot hold.
                want(name, "mean", f"avg(CASE WHEN isfinite({q}::DOUBLE) THEN {q}::DOUBLE END)")
        values = con.execute(f"SELECT {', '.join(exprs)} FROM read_parquet({lit(str(path))})").fetchone()
    finally:
        con.close()
    rows = int(values[0])

    def got(name: str, what: str):
        return values[slots[(name, what)]] if (name, what) in slots else None

    columns = {}
    for name, duck_type in types.items():
        if name in known:
            null_share, distinct = known[name]["null_share"], known[name].get("distinct_estimate")
        else:
            present = int(got(name, "count"))
            null_share = round((rows - present) / rows, 6) if rows else 0.0
            distinct = got(name, "distinct")
            distinct = None if distinct is None else min(int(distinct), present)
        mean = got(name, "mean")
        columns[name] = {
            "type": duck_type,
            "null_share": null_share,
            "distinct": distinct,
            "mean": round(float(mean), 6) if mean is not None and math.isfinite(mean) else None,
        }
    return {"rows": rows, "columns": columns}
