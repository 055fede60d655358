"""Column profiles of a written version: null share, distinct estimate, min/max and most common values.

Counts, nulls, min/max and the distinct estimate (HyperLogLog) come from one aggregate query over
every row. Most common values come from a sample of evenly spaced row groups, the way PostgreSQL's
ANALYZE samples: exact for small files, an estimate for large ones (`sample_rows` says which).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from shuzhi.ingest.readers import sql_str

SAMPLE_ROW_GROUPS = 4
TOP_K = 5
_NESTED = ("STRUCT", "MAP", "UNION")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_scalar(duck_type: str) -> bool:
    return not (duck_type.startswith(_NESTED) or duck_type.endswith("]"))


def _render(v) -> str | None:
    if v is None:
        return None
    s = str(v)
    return s if len(s) <= 200 else s[:199] + "…"


def profile_parquet(con: duckdb.DuckDBPyConnection, path: Path, schema: list[dict]) -> dict:
    rows, columns = _aggregates(con, path, schema)
    sample_rows, tops = _most_common(con, path, schema)
    for col in columns:
        if col["name"] in tops:
            col["top"] = tops[col["name"]]
    return {"rows": rows, "sample_rows": sample_rows, "columns": columns}


def _aggregates(con, path: Path, schema: list[dict]) -> tuple[int, list[dict]]:
    exprs = ["count(*)"]
    for col in schema:
        q = quote_ident(col["name"])
        if is_scalar(col["type"]):
            exprs += [
                f"count({q})",
                f"approx_count_distinct({q})",
                f"min({q})::VARCHAR",
                f"max({q})::VARCHAR",
            ]
        else:
            exprs += [f"count({q})", "NULL", "NULL", "NULL"]
    values = con.execute(f"SELECT {', '.join(exprs)} FROM read_parquet({sql_str(path)})").fetchall()[0]
    rows = int(values[0])
    out = []
    for i, col in enumerate(schema):
        non_null, distinct, lo, hi = values[1 + 4 * i : 5 + 4 * i]
        out.append(
            {
                "name": col["name"],
                "type": col["type"],
                "nulls": rows - int(non_null),
                "null_share": round((rows - non_null) / rows, 6) if rows else 0.0,
                "distinct_estimate": None if distinct is None else min(int(distinct), int(non_null)),
                "min": _render(lo),
                "max": _render(hi),
            }
        )
    return rows, out


def _most_common(con, path: Path, schema: list[dict]) -> tuple[int, dict[str, list[dict]]]:
    scalar = [c["name"] for c in schema if is_scalar(c["type"])]
    if not scalar:
        return 0, {}
    pf = pq.ParquetFile(path)
    n = pf.num_row_groups
    if n == 0:
        return 0, {}
    picks = sorted(
        {round(i * (n - 1) / max(SAMPLE_ROW_GROUPS - 1, 1)) for i in range(min(n, SAMPLE_ROW_GROUPS))}
    )
    sample = pf.read_row_groups(picks, columns=scalar)
    con.register("profile_sample", sample)
    try:
        tops = {}
        for name in scalar:
            q = quote_ident(name)
            found = con.execute(
                f"SELECT {q}::VARCHAR, count(*) c FROM profile_sample WHERE {q} IS NOT NULL "
                f"GROUP BY 1 HAVING count(*) > 1 ORDER BY c DESC, 1 LIMIT {TOP_K}"
            ).fetchall()
            tops[name] = [
                {"value": _render(v), "count": int(c), "share": round(c / sample.num_rows, 6)}
                for v, c in found
            ]
        return sample.num_rows, tops
    finally:
        con.unregister("profile_sample")
