"""Ingest benchmark: `shuzhi ingest` (profile included) against DuckDB's own CSV→Parquet COPY, same file, same run.

Generates a CSV of N rows × 12 columns (integers, decimals, dates, timestamps, booleans, codes and
Chinese text with nulls), then times, each in a fresh child process:

  duckdb   COPY (SELECT * FROM read_csv('f.csv')) TO 'f.parquet'
  shuzhi   shuzhi ingest f.csv --dataset …  (the real CLI, whole process: start-up, migrations check,
           encoding check, strict parse, Parquet, fsync, SHA-256, profile, version row, field sync,
           grading hook, ledger entry)
  service  `ingest_source(...)` in a small script, profile and commit included: no CLI start-up and no
           grading hook (issue 3's cost), i.e. what ingestion itself costs

and reports the median wall time, the ratio, and each child's peak RSS (from wait4).

    python benchmarks/ingest.py                 # 5,000,000 rows, 3 rounds
    python benchmarks/ingest.py --rows 500000 --rounds 1
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 1.5
TARGET_RSS = 2 * 1024**3


def generate(path: Path, rows: int) -> None:
    import duckdb

    duckdb.connect().execute(f"""
    COPY (
      SELECT i AS id,
        '91440300' || lpad(CAST(hash(i) % 10000000000 AS VARCHAR), 10, '0') AS credit_code,
        (['张','王','李','赵','刘','陈','杨','黄'])[1 + i % 8] || (['伟','芳','娜','敏','静','强','磊','洋'])[1 + (i * 7) % 8] AS name,
        CASE WHEN i % 17 = 0 THEN NULL ELSE (['男','女'])[1 + i % 2] END AS gender,
        DATE '1950-01-01' + CAST(hash(i + 1) % 25000 AS INTEGER) AS birth_date,
        round((hash(i + 2) % 1000000) / 100.0, 2) AS income,
        CAST(hash(i + 3) % 120 AS INTEGER) AS age,
        (['福田区','罗湖区','南山区','宝安区','龙岗区'])[1 + i % 5] || '某某路' || (i % 999) || '号' AS address,
        TIMESTAMP '2020-01-01' + to_seconds(CAST(hash(i + 4) % 100000000 AS BIGINT)) AS updated_at,
        (i % 3 = 0) AS active,
        (['440303','440304','440305','440306','440307'])[1 + i % 5] AS region_code,
        CASE WHEN i % 11 = 0 THEN NULL ELSE '备注-' || (i % 1000) END AS remark
      FROM range({rows}) t(i)
    ) TO '{path}' (HEADER, DELIMITER ',')
    """)


def run_child(argv: list[str], env: dict | None = None) -> tuple[float, int, float]:
    """Wall time, peak RSS (bytes) and CPU seconds (user + system) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def duckdb_copy(csv: Path, out: Path) -> tuple[float, int, float]:
    code = f"import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}'\")"
    return run_child([sys.executable, "-c", code])


DATASET = "BENCH-RK-001"
COLUMNS = [
    "id",
    "credit_code",
    "name",
    "gender",
    "birth_date",
    "income",
    "age",
    "address",
    "updated_at",
    "active",
    "region_code",
    "remark",
]
"""Registered with the dataset, as a catalog entry lists its fields before data is connected; a first load
that brings new field names also re-indexes them for search (about 0.7 s once per process, for loading
the segmentation dictionary)."""

SETUP = f"""
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.cli.common import open_context, system_principal
from shuzhi.orgs import service as orgs
_, db = open_context()
with db.transaction() as s:
    orgs.create_department(s, code="BENCH", name_zh="基准测试部门")
    create_dataset(s, system_principal(), DatasetIn(identifier="{DATASET}", title_zh="基准人口样本",
                                                    department="BENCH", theme="statistics",
                                                    fields=[{{"name": n}} for n in {COLUMNS!r}]))
"""


def prepare_shuzhi(data_dir: Path) -> dict:
    """A fresh data directory with the dataset registered (registration is not part of the timing)."""
    if data_dir.exists():
        shutil.rmtree(data_dir)
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(data_dir),
        "SHUZHI_DATABASE_URL": f"sqlite:///{data_dir}/meta.db",
    }
    env.pop("SHUZHI_CONFIG", None)
    subprocess.run([sys.executable, "-c", SETUP], env=env, check=True)
    return env


def shuzhi_ingest(csv: Path, data_dir: Path) -> tuple[float, int, float]:
    env = prepare_shuzhi(data_dir)
    cli = [sys.executable, "-c", "from shuzhi.cli import main; main()"]
    return run_child([*cli, "ingest", str(csv), "--dataset", DATASET, "--json"], env)


SERVICE = f"""
import sys
from shuzhi.hooks import BUILTIN_PLUGINS
BUILTIN_PLUGINS.remove("shuzhi.classify.plugin")  # grading is issue 3's cost, measured in its own benchmark
from shuzhi.catalog.service import get_dataset
from shuzhi.ingest import ingest_source
from shuzhi.config import load_settings
from shuzhi.store.db import Database
settings = load_settings()
db = Database(settings.db_url)
with db.transaction() as s:
    ingest_source(s, settings, get_dataset(s, "{DATASET}"), sys.argv[1], user_id=None)
"""


def shuzhi_service(csv: Path, data_dir: Path) -> tuple[float, int, float]:
    env = prepare_shuzhi(data_dir)
    return run_child([sys.executable, "-c", SERVICE, str(csv)], env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=None, help="Where to put the CSV (default: a temp dir)")
    args = ap.parse_args()

    work = args.workdir or Path(tempfile.mkdtemp(prefix="shuzhi-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    csv = work / f"bench-{args.rows}.csv"
    if not csv.exists():
        t = time.perf_counter()
        generate(csv, args.rows)
        print(
            f"generated {csv.name}: {args.rows:,} rows × 12 columns, {csv.stat().st_size / 1e6:,.0f} MB "
            f"in {time.perf_counter() - t:.1f}s"
        )
    runs: dict[str, list[tuple[float, int, float]]] = {"duckdb": [], "shuzhi": [], "service": []}
    sides = [
        ("duckdb", lambda: duckdb_copy(csv, work / "duckdb.parquet")),
        ("shuzhi", lambda: shuzhi_ingest(csv, work / "shuzhi-data")),
        ("service", lambda: shuzhi_service(csv, work / "shuzhi-data")),
    ]
    for i in range(args.rounds):
        # Rotate the order so no side always enjoys a warmer page cache or a quieter machine.
        for name, fn in sides[i % 3 :] + sides[: i % 3]:
            secs, rss, cpu = fn()
            runs[name].append((secs, rss, cpu))
            print(
                f"round {i + 1}  {name:<8} {secs:6.2f}s  cpu {cpu:6.2f}s  peak RSS {rss / 2**20:7.0f} MiB",
                flush=True,
            )
    med = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[2] for r in v) for k, v in runs.items()}
    peak = {k: max(r[1] for r in v) for k, v in runs.items()}
    labels = {
        "duckdb": "DuckDB `COPY (SELECT * FROM read_csv(…)) TO '….parquet'`",
        "shuzhi": "`shuzhi ingest f.csv --dataset …` (whole CLI process, grading hook included)",
        "service": "`ingest_source` (profile + commit included; no CLI start-up, no grading hook)",
    }
    # CPU seconds are printed too: on a shared machine they move less with the neighbours' load.
    print("\n| path | median wall time | ratio | median CPU time | CPU ratio | peak RSS |")
    print("|---|---|---|---|---|---|")
    for k in runs:
        print(
            f"| {labels[k]} | {med[k]:.2f} s | {med[k] / med['duckdb']:.2f}× | {cpu[k]:.2f} s "
            f"| {cpu[k] / cpu['duckdb']:.2f}× | {peak[k] / 2**20:,.0f} MiB |"
        )
    for k in ("shuzhi", "service"):
        ok = med[k] / med["duckdb"] <= TARGET_RATIO and peak[k] < TARGET_RSS
        print(f"{k}: target ≤ {TARGET_RATIO}× and < 2 GiB {'met' if ok else 'NOT met'}")
    print(f"{args.rows:,} rows, {os.cpu_count()} cpus, load average at the end {os.getloadavg()[0]:.1f}")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
