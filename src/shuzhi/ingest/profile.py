"""Column profiles of a written version: null share, distinct estimate, min/max and most common values.

Null counts and min/max come from the Parquet footer, where the writer has already recorded them
exactly for every row group (with one aggregate query as the fallback for types whose footer
statistics are not exact). The distinct estimate is HyperLogLog (`approx_count_distinct`) over
every row. Most common values come from a sample of evenly spaced row groups, the way PostgreSQL's
ANALYZE samples: exact for small files, an estimate for large ones (`sample_rows` says which);
they are skipped for columns that are (nearly) unique, where no value is common.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from shuzhi.ingest.readers import sql_str

SAMPLE_ROWS = 200_000
TOP_K = 5
UNIQUE_RATIO = 0.95
_NESTED = ("STRUCT", "MAP", "UNION")
_FOOTER_TYPES = {
    "BIGINT",
    "INTEGER",
    "SMALLINT",
    "TINYINT",
    "DOUBLE",
    "FLOAT",
    "VARCHAR",
    "DATE",
    "TIMESTAMP",
    "BOOLEAN",
}
"""Types whose footer min/max read back as the same values DuckDB would print."""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def is_scalar(duck_type: str) -> bool:
    return not (duck_type.startswith(_NESTED) or duck_type.endswith("]"))


def _render(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    s = str(v)
    return s if len(s) <= 200 else s[:199] + "…"


def profile_parquet(con: duckdb.DuckDBPyConnection, path: Path, schema: list[dict]) -> dict:
    pf = pq.ParquetFile(path)
    rows = pf.metadata.num_rows
    columns = _columns(con, path, schema, rows, _footer(pf, schema))
    sample_rows, tops = _most_common(con, pf, columns)
    for col in columns:
        if col["name"] in tops:
            col["top"] = tops[col["name"]]
    return {"rows": rows, "sample_rows": sample_rows, "columns": columns}


def _footer(pf: pq.ParquetFile, schema: list[dict]) -> dict[str, tuple[int, object, object]]:
    """name -> (nulls, min, max) for scalar columns whose every row group carries exact statistics."""
    wanted = {c["name"] for c in schema if c["type"] in _FOOTER_TYPES}
    acc: dict[str, list] = {}
    md = pf.metadata
    for i in range(md.num_row_groups):
        rg = md.row_group(i)
        for j in range(rg.num_columns):
            col = rg.column(j)
            name = col.path_in_schema
            if name not in wanted:
                continue
            st = col.statistics
            exact = (
                st is not None
                and st.has_null_count
                and (
                    not st.has_min_max
                    or (getattr(st, "is_min_value_exact", True) and getattr(st, "is_max_value_exact", True))
                )
            )
            if not exact:
                wanted.discard(name)
                acc.pop(name, None)
                continue
            nulls, lo, hi = acc.get(name, (0, None, None))
            if st.has_min_max:
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
            acc[name] = [nulls + st.null_count, lo, hi]
    return {n: tuple(v) for n, v in acc.items() if n in wanted}


def _columns(con, path: Path, schema: list[dict], rows: int, footer: dict) -> list[dict]:
    exprs: list[str] = []
    slots: dict[tuple[str, str], int] = {}

    def want(name: str, kind: str, expr: str) -> None:
        slots[(name, kind)] = len(exprs)
        exprs.append(expr)

    for col in schema:
        name, q = col["name"], quote_ident(col["name"])
        if is_scalar(col["type"]):
            want(name, "distinct", f"approx_count_distinct({q})")
        if name not in footer:
            want(name, "count", f"count({q})")
            if is_scalar(col["type"]):
                want(name, "min", f"min({q})::VARCHAR")
                want(name, "max", f"max({q})::VARCHAR")
    values = con.execute(f"SELECT {', '.join(exprs) or '1'} FROM read_parquet({sql_str(path)})").fetchall()[0]

    def got(name, kind):
        return values[slots[(name, kind)]] if (name, kind) in slots else None

    out = []
    for col in schema:
        name = col["name"]
        if name in footer:
            nulls, lo, hi = footer[name]
        else:
            nulls, lo, hi = rows - int(got(name, "count")), got(name, "min"), got(name, "max")
        distinct = got(name, "distinct")
        out.append(
            {
                "name": name,
                "type": col["type"],
                "nulls": int(nulls),
                "null_share": round(nulls / rows, 6) if rows else 0.0,
                "distinct_estimate": None if distinct is None else min(int(distinct), rows - int(nulls)),
                "min": _render(lo),
                "max": _render(hi),
            }
        )
    return out


def _most_common(con, pf: pq.ParquetFile, columns: list[dict]) -> tuple[int, dict[str, list[dict]]]:
    names = [
        c["name"]
        for c in columns
        if is_scalar(c["type"])
        and c["distinct_estimate"] is not None
        and c["distinct_estimate"] < UNIQUE_RATIO * (pf.metadata.num_rows - c["nulls"])
    ]
    n = pf.num_row_groups
    if not names or n == 0:
        return 0, {}
    per_group = max(1, pf.metadata.num_rows // n)
    take = min(n, max(1, -(-SAMPLE_ROWS // per_group)))
    picks = sorted({round(i * (n - 1) / max(take - 1, 1)) for i in range(take)})
    sample = pf.read_row_groups(picks, columns=names)
    con.register("profile_sample", sample)
    try:
        # One statement for all columns, so DuckDB spreads the group-bys over its threads.
        parts = [
            f"(SELECT {i} AS col, {quote_ident(n)}::VARCHAR AS v, count(*) AS c FROM profile_sample "
            f"WHERE {quote_ident(n)} IS NOT NULL GROUP BY 2 HAVING count(*) > 1 ORDER BY c DESC, v LIMIT {TOP_K})"
            for i, n in enumerate(names)
        ]
        tops: dict[str, list[dict]] = {n: [] for n in names}
        for i, v, c in sorted(
            con.execute(" UNION ALL ".join(parts)).fetchall(), key=lambda r: (r[0], -r[2], r[1])
        ):
            tops[names[i]].append(
                {"value": _render(v), "count": int(c), "share": round(c / sample.num_rows, 6)}
            )
        return sample.num_rows, tops
    finally:
        con.unregister("profile_sample")
