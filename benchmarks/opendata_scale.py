"""Open data at scale: a release of the demo's population register, package_search, datastore paging.

    .venv/bin/python benchmarks/opendata_scale.py release [--scale 20]
    .venv/bin/python benchmarks/opendata_scale.py search [--sizes 10000,300000] [--pg-url URL]
    .venv/bin/python benchmarks/opendata_scale.py datastore [--rows 10000000] [--limit 10000]

1. `release`: the demo city's residents at `--scale` (20: 1,000,000 people) as the population register
   the demo writes (hz-psb-population, with the code of the district each lives in), released at k=5
   with birth date, sex and district as quasi-identifiers through the release service's own steps —
   read the version's Parquet, build (drop, mask, generalise, anonymise, shuffle), write, read the
   written file back and check its k, hash. Timed in a child process of its own, with its peak RSS and
   Arrow's peak allocation.
2. `search`: `--sizes` published datasets seeded in bulk (SQLite, and PostgreSQL with `--pg-url`), then
   package_search through the CKAN action (facets on) with a mix of queries, warm: p50/p95, a first
   (cold) call, and the same query on the listing rebuilt per call as before the cache.
3. `datastore`: a `--rows`-row release file walked through datastore_search's `_links.next` (keyset
   pages of `--limit`): rows/s, the first and the last page, their ratio; a sample of offset pages.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# -- 1. a k=5 release of the population register ----------------------------------------------------

DISTRICT = "现住区县代码"
"""The register writes the district inside the address; the benchmark gives it its own column."""


def register(scale: float, path: Path) -> int:
    """The demo's population register at `scale`, with the district code of each resident, as Parquet."""
    from shuzhi.demo.builders import psb_population
    from shuzhi.demo.catalog import DEFINITIONS
    from shuzhi.demo.generate import AS_OF, BASE_RESIDENTS, DEFAULT_SEED, _rng
    from shuzhi.demo.geography import DEFAULT_CITY, load_city
    from shuzhi.demo.population import make_residents
    from shuzhi.demo.tables import Context
    from shuzhi.demo.writers import to_arrow

    city = load_city(DEFAULT_CITY)
    residents = make_residents(_rng(DEFAULT_SEED, "residents"), city, round(BASE_RESIDENTS * scale), AS_OF)
    definition = next(d for d in DEFINITIONS if d.identifier == "hz-psb-population")
    ctx = Context(city, residents, None, AS_OF, _rng(DEFAULT_SEED, definition.identifier))
    built = psb_population(ctx)
    table = to_arrow(built.columns, [(f[0], f[1]) for f in definition.fields])
    codes = np.array([d.code for d in city.districts], dtype=object)[residents.district]
    table = table.append_column(DISTRICT, pa.array(codes, pa.string()))
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


PLAN = {
    "fields": {
        "人员编号": {"action": "drop"},
        "姓名": {"action": "drop"},
        "性别": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["男", "*"], ["女", "*"]]}},
        "民族": {"action": "keep"},
        "出生日期": {"action": "qi", "hierarchy": {"kind": "dates"}},
        "公民身份号码": {"action": "drop"},
        "户籍地址": {"action": "drop"},
        "现住址": {"action": "drop"},
        "联系电话": {"action": "mask", "mask": "keep_first:3"},
        "人口状态": {"action": "keep"},
        "状态变更日期": {"action": "generalise", "hierarchy": {"kind": "dates"}, "level": 1},
        "登记日期": {"action": "generalise", "hierarchy": {"kind": "dates"}, "level": 3},
        DISTRICT: {"action": "qi", "hierarchy": {"kind": "regions"}},
    },
    "k": 5,
    "algorithm": "full-domain",
}


def release_child(version: Path) -> None:
    """The release service's steps over the version file, timed one by one, printed as JSON (in a
    process of its own, started from a small parent, so that its peak memory is its own)."""
    from shuzhi.opendata import releases
    from shuzhi.opendata.plans import PlanIn

    plan = PlanIn.of(PLAN)
    with tempfile.TemporaryDirectory() as tmp:
        settings = SimpleNamespace(keys_dir=Path(tmp))
        t0 = time.perf_counter()
        table = pq.read_table(version)
        t1 = time.perf_counter()
        released, fields, report = releases.build(
            settings, SimpleNamespace(id=1), SimpleNamespace(id=1), table, plan
        )
        t2 = time.perf_counter()
        checked, _, size = releases.write_checked(released, plan, Path(tmp) / "release.parquet")
        t3 = time.perf_counter()
    out = {
        "rows": table.num_rows,
        "steps": [t1 - t0, t2 - t1, t3 - t2, t3 - t0],
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "arrow": pa.default_memory_pool().max_memory() / 2**20,
        "size": size,
        "levels": {c: g["level"] for c, g in report["generalisation"].items()},
        "k": checked["k"],
        "classes": checked["classes"],
        "released": checked["rows"],
        "suppressed": report["suppressed"],
        "fields": len(fields),
    }
    print(json.dumps(out, ensure_ascii=False))


STEPS = (
    "read the version's Parquet",
    "build: drop, mask, generalise, anonymise (full-domain), shuffle",
    "write Parquet, read it back, check k, SHA-256",
    "**whole release** (target < 10 s)",
)


def run_release(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    version = work / f"register-scale{args.scale:g}.parquet"
    if not version.exists():
        t0 = time.perf_counter()
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import opendata_scale as b; "
        code += f"print(b.register({args.scale}, __import__('pathlib').Path({str(version)!r})))"
        subprocess.run([sys.executable, "-c", code], check=True)
        print(f"generated the register in {time.perf_counter() - t0:.1f} s (not timed below)")
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, __file__, "release-child", str(version)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    last = runs[-1]
    print(f"\nk=5 release of the population register, {last['rows']:,} rows, {len(runs)} runs (seconds)")
    print("| step | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " | median |")
    print("|---|" + "---|" * (len(runs) + 1))
    for i, name in enumerate(STEPS):
        times = [r["steps"][i] for r in runs]
        print(f"| {name} | " + " | ".join(f"{t:.2f}" for t in times) + f" | {statistics.median(times):.2f} |")
    rss = [r["rss"] for r in runs]
    print(
        "| peak RSS (MiB) | " + " | ".join(f"{m:,.0f}" for m in rss) + f" | {statistics.median(rss):,.0f} |"
    )
    arrow = [r["arrow"] for r in runs]
    print(
        "| Arrow peak allocation (MiB) | "
        + " | ".join(f"{m:,.0f}" for m in arrow)
        + f" | {statistics.median(arrow):,.0f} |"
    )
    print(
        f"version {version.stat().st_size / 2**20:.0f} MiB, release {last['size'] / 2**20:.1f} MiB; levels "
        f"{last['levels']}; checked k={last['k']}, {last['classes']:,} classes, {last['released']:,} rows "
        f"released, suppressed {last['suppressed']:,}; {last['fields']} public fields"
    )


# -- main -------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shuzhi-opendata-bench"))
    sub = ap.add_subparsers(dest="part", required=True)
    rel = sub.add_parser("release")
    rel.add_argument("--scale", type=float, default=20)
    rel.add_argument("--repeat", type=int, default=3)
    child = sub.add_parser("release-child")
    child.add_argument("version", type=Path)
    args = ap.parse_args()
    if args.part == "release":
        run_release(args)
    elif args.part == "release-child":
        release_child(args.version)


if __name__ == "__main__":
    main()
