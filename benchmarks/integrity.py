"""Cost of checking a version before and while it is read: SHA-256 of the file (first read), the
remembered answer (every later read), and Arrow page-checksum verification during a full scan.

    .venv/bin/python benchmarks/integrity.py [--rows 10000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.dataset as pads

from shuzhi.ingest import integrity, writer


def _build(folder: Path, rows: int) -> tuple[Path, float, float]:
    con = duckdb.connect()
    raw, out = folder / "raw.parquet", folder / "v.parquet"
    t = time.perf_counter()
    con.execute(
        f"""COPY (SELECT i AS id, '杭州' || (i % 5000) || '机械制造有限公司' AS name,
        '91330100MA' || lpad(i::VARCHAR, 8, '0') AS uscc, (i * 37) % 100000 AS capital,
        DATE '2000-01-01' + (i % 9000)::INT AS founded FROM range({rows}) t(i))
        TO '{raw}' ({writer.PARQUET_OPTIONS})"""
    )
    copy_s = time.perf_counter() - t
    t = time.perf_counter()
    assert writer.add_page_checksums(con, raw, out)
    return out, copy_s, time.perf_counter() - t


def _scan(path: Path, verify: bool) -> float:
    fmt = pads.ParquetFileFormat(
        default_fragment_scan_options=pads.ParquetFragmentScanOptions(
            pre_buffer=False, page_checksum_verification=verify
        )
    )
    t = time.perf_counter()
    for _ in pads.dataset(path, format=fmt).to_batches(batch_size=131_072):
        pass
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path, copy_s, rewrite_s = _build(Path(tmp), args.rows)
        size = path.stat().st_size
        sha = integrity.file_sha256(path)
        first = []
        for _ in range(3):
            t = time.perf_counter()
            assert integrity.damage_of(path, sha, size, fresh=True) is None
            first.append(time.perf_counter() - t)
        hits = []
        for _ in range(1000):
            t = time.perf_counter()
            assert integrity.damage_of(path, sha, size) is None
            hits.append(time.perf_counter() - t)
        plain = [_scan(path, False) for _ in range(3)]
        checked = [_scan(path, True) for _ in range(3)]
        print(f"{args.rows:,} rows, {size / 2**20:.0f} MiB")
        print(f"ingest: DuckDB COPY {copy_s:.2f} s, page-checksum copy +{rewrite_s:.2f} s")
        print(f"SHA-256 of the file (first read after a change): {statistics.median(first) * 1000:.0f} ms")
        print(f"remembered (every later read): {statistics.median(hits) * 1e6:.1f} µs")
        p, c = statistics.median(plain), statistics.median(checked)
        print(f"full Arrow scan: {p:.2f} s plain, {c:.2f} s with page checksums ({c / p:.2f}×)")


if __name__ == "__main__":
    main()
