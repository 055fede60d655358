"""Scanning a version from its Parquet file decides exactly as scanning the loaded table."""

import random
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.classify.conftest import IDS

from shuzhi.classify.detectors import builtin_detectors
from shuzhi.classify.engine import Scanner


def _table(n: int) -> pa.Table:
    rng = random.Random(5)
    return pa.table(
        {
            "sfzh": [IDS[i % len(IDS)] if i % 7 else None for i in range(n)],
            "mobile": [f"13{rng.randrange(10**9):09d}" for _ in range(n)],
            "amount": [rng.random() * 1000 for _ in range(n)],
            "born": [date(1960, 1, 1) + timedelta(days=rng.randrange(20000)) for _ in range(n)],
            "status": [rng.choice(["正常", "注销", "吊销"]) for _ in range(n)],
            "flag": [bool(i % 2) for i in range(n)],
        }
    )


def _comparable(results):
    return [
        (r.name, r.category, round(r.confidence, 6), r.evidence.get("rows"), r.evidence.get("sampled_rows"))
        for r in results
    ]


@pytest.mark.parametrize("sample_rows, full", [(1_000, False), (7_000, True), (50_000, False)])
def test_parquet_scan_equals_table_scan(tmp_path, sample_rows, full):
    table = _table(20_000)
    path = tmp_path / "v.parquet"
    pq.write_table(table, path, row_group_size=1_500)  # many row groups
    scanner = Scanner(builtin_detectors(), sample_rows=sample_rows, full=full)
    assert _comparable(scanner.scan_parquet(path)) == _comparable(scanner.scan(table))
    assert {r.name: r.category for r in scanner.scan_parquet(path)}["sfzh"] == "resident_id"
