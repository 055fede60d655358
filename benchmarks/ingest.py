"""Ingest benchmark: `shuzhi ingest` (profile included) against DuckDB's own CSV→Parquet COPY, same file, same run.

Generates a CSV of N rows × 12 columns (integers, decimals, dates, timestamps, booleans, codes and
Chinese text with nulls), then times, each in a fresh child process:

  duckdb   COPY (SELECT * FROM read_csv('f.csv')) TO 'f.parquet'
  shuzhi   shuzhi ingest f.csv --create …   (the real CLI: encoding check, strict parse, Parquet,
           fsync, SHA-256, profile, catalog row, ledger entry)
  service  the same load through `shuzhi.ingest.ingest_source` in a small script (no CLI start-up)

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


def run_child(argv: list[str], env: dict | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed: {proc.stderr.read().decode()[-2000:]}")
    return elapsed, usage.ru_maxrss * 1024


def duckdb_copy(csv: Path, out: Path) -> tuple[float, int]:
    code = f"import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM read_csv('{csv}')) TO '{out}'\")"
    return run_child([sys.executable, "-c", code])


def prepare_shuzhi(data_dir: Path) -> dict:
    env = {
        **os.environ,
        "SHUZHI_DATA_DIR": str(data_dir),
        "SHUZHI_DATABASE_URL": f"sqlite:///{data_dir}/meta.db",
    }
    env.pop("SHUZHI_CONFIG", None)
    setup = (
        "from shuzhi.cli.common import open_context\n"
        "from shuzhi.orgs import service as orgs\n"
        "_, db = open_context()\n"
        "with db.transaction() as s: orgs.create_department(s, code='BENCH', name_zh='基准测试部门')\n"
    )
    subprocess.run([sys.executable, "-c", setup], env=env, check=True)
    return env


def shuzhi_ingest(csv: Path, data_dir: Path) -> tuple[float, int]:
    if data_dir.exists():
        shutil.rmtree(data_dir)
    env = prepare_shuzhi(data_dir)
    cmd = [
        sys.executable,
        "-c",
        "from shuzhi.cli import main; main()",
        "ingest",
        str(csv),
        "--create",
        "--dept",
        "BENCH",
        "--theme",
        "statistics",
        "--json",
    ]
    return run_child(cmd, env)


SERVICE = """
import sys
from shuzhi.cli.common import open_context, system_principal
from shuzhi.ingest import commit_staged, stage_source
from shuzhi.ingest.service import create_dataset_for
settings, db = open_context()
staged = stage_source(settings, sys.argv[1])
with db.transaction() as s:
    ds = create_dataset_for(s, system_principal(), staged, dept="BENCH", theme="statistics")
    commit_staged(s, settings, ds, staged, user_id=None)
"""


def shuzhi_service(csv: Path, data_dir: Path) -> tuple[float, int]:
    if data_dir.exists():
        shutil.rmtree(data_dir)
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
    duck, ours = [], []
    for i in range(args.rounds):
        # Alternate the order so neither side always enjoys a warmer page cache.
        pair = [
            ("duckdb", lambda: duckdb_copy(csv, work / "duckdb.parquet")),
            ("shuzhi", lambda: shuzhi_ingest(csv, work / "shuzhi-data")),
        ]
        for name, fn in pair if i % 2 == 0 else reversed(pair):
            secs, rss = fn()
            (duck if name == "duckdb" else ours).append((secs, rss))
            print(f"round {i + 1}  {name:<7} {secs:6.2f}s  peak RSS {rss / 2**20:7.0f} MiB")
    d = statistics.median(s for s, _ in duck)
    o = statistics.median(s for s, _ in ours)
    rss = max(r for _, r in ours)
    print()
    print(
        "| rows | DuckDB COPY (median) | shuzhi ingest (median) | ratio | shuzhi peak RSS | DuckDB peak RSS |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {args.rows:,} | {d:.2f} s | {o:.2f} s | {o / d:.2f}× | {rss / 2**20:,.0f} MiB | "
        f"{max(r for _, r in duck) / 2**20:,.0f} MiB |"
    )
    ok = o / d <= TARGET_RATIO and rss < TARGET_RSS
    print(f"\ntarget ≤ {TARGET_RATIO}× and < 2 GiB: {'met' if ok else 'NOT met'}  (cpus: {os.cpu_count()})")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
