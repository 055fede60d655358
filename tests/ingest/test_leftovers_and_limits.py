"""Leftovers of killed ingests are swept by the server (at start, on a schedule); workbooks and other
compressed inputs are refused past their limits on cells, rows and inflated size, with a 422 that
names the file and the limit."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import time
import zipfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.errors import InvalidInput

from .conftest import load, version_count

KILLED_INGEST = """
import os, signal, sys
from pathlib import Path
from shuzhi.storage.staging import Workspace
ws = Workspace(Path(sys.argv[1]))
with open(ws.path("upload"), "wb") as f:
    f.write(b"x" * 4_000_000)
print(ws.token, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _killed_ingest(settings, *, look: bool = True) -> str:
    """A process that dies by SIGKILL in the middle of an upload, leaving its staging area (looked at
    unless `look` is false: with a sweep running every few milliseconds it may already be gone)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_INGEST, str(settings.staging_dir)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == -9, proc.stderr
    token = proc.stdout.strip()
    assert token
    if look:
        assert (settings.staging_dir / token / "upload").stat().st_size == 4_000_000
    return token


def _orphan(settings, dataset_id: int, number: int, age_s: float):
    """A version file as a process killed between placing it and committing its row leaves it."""
    path = settings.versions_dir / str(dataset_id) / f"{number}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"a": [1, 2]}), path)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


def test_server_start_sweeps_what_killed_ingests_left(settings, db, app, dataset, write):
    from fastapi.testclient import TestClient

    report = load(db, settings, dataset, write("a.csv", "x,y\n1,2\n"))
    kept = settings.data_dir / report.path
    token = _killed_ingest(settings)
    old = _orphan(settings, report.dataset_id, 2, age_s=settings.ingest.orphan_grace_s + 60)
    young = _orphan(settings, report.dataset_id, 3, age_s=0)
    with TestClient(app) as client:
        deadline = time.monotonic() + 30
        while (settings.staging_dir / token).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/healthz").status_code == 200
    assert not (settings.staging_dir / token).exists()
    assert not (settings.staging_dir / f"{token}.lock").exists()
    assert not old.exists()  # no row points to it, and it is past the grace period
    assert young.exists()  # it may belong to an ingest committing right now
    assert kept.exists() and version_count(db) == 1


def test_the_sweep_runs_again_on_its_schedule(settings, db, app, dataset):
    from fastapi.testclient import TestClient

    settings.ingest.sweep_interval_s = 0.05
    with TestClient(app):
        time.sleep(0.2)  # past the sweep at start
        token = _killed_ingest(settings, look=False)  # the sweep may take it before we look
        deadline = time.monotonic() + 30
        while (settings.staging_dir / token).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not (settings.staging_dir / token).exists()


def test_a_live_ingest_area_is_never_swept(settings, db):
    from shuzhi.ingest.service import sweep_leftovers
    from shuzhi.storage import version_store

    with version_store(settings).staging() as ws, db.session() as s:
        ws.path("upload").write_bytes(b"data")
        assert sweep_leftovers(s, settings) == []
        assert ws.path("upload").exists()


# -- limits -------------------------------------------------------------------------


def _workbook(path, rows: int, cols: int):
    import xlsxwriter

    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("数据")
    ws.write_row(0, 0, [f"列{c}" for c in range(cols)])
    for r in range(1, rows):
        ws.write_row(r, 0, [r * c for c in range(cols)])
    wb.close()
    return path


def _refused(db, settings, dataset, path, setting: str) -> InvalidInput:
    with pytest.raises(InvalidInput) as e:
        load(db, settings, dataset, path)
    err = e.value
    assert err.status == 422
    assert path.name in err.where and setting in str(err) and err.detail["limit"] == setting
    assert str(settings.data_dir) not in str(err.to_dict())
    assert version_count(db) == 0
    return err


def test_workbook_past_the_cells_limit_is_refused(settings, db, dataset, tmp_path):
    path = _workbook(tmp_path / "企业名录.xlsx", rows=300, cols=10)
    settings.ingest.workbook_max_cells = 2_000
    err = _refused(db, settings, dataset, path, "ingest.workbook_max_cells")
    assert "3,000" in err.message and "2,000" in err.message
    settings.ingest.workbook_max_cells = 3_000
    assert load(db, settings, dataset, path).rows == 299


def test_workbook_past_the_rows_limit_is_refused(settings, db, dataset, tmp_path):
    path = _workbook(tmp_path / "rows.xlsx", rows=300, cols=2)
    settings.ingest.workbook_max_rows = 100
    _refused(db, settings, dataset, path, "ingest.workbook_max_rows")


def test_workbook_inflating_past_the_limit_is_refused(settings, db, dataset, tmp_path):
    path = _workbook(tmp_path / "big.xlsx", rows=2_000, cols=10)
    with zipfile.ZipFile(path) as z:
        inflated = sum(
            i.file_size
            for i in z.infolist()
            if i.filename.startswith("xl/worksheets/") or i.filename == "xl/sharedStrings.xml"
        )
    settings.ingest.workbook_max_xml_bytes = inflated // 2
    err = _refused(db, settings, dataset, path, "ingest.workbook_max_xml_bytes")
    assert f"{inflated:,}" in err.message


def _understate(path, member: str, size: int) -> None:
    """Rewrite a zip so that `member` declares `size` bytes inflated, in its local and central headers."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    name = member.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack_from("<H", data, pos + 28)[0]
        if data[pos + 46 : pos + 46 + n] == name:
            struct.pack_into("<I", data, pos + 24, size)
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert pos >= 0
    path.write_bytes(bytes(data))


def test_workbook_understating_its_size_is_refused_before_parsing(settings, db, dataset, tmp_path):
    # A zip bomb declares small parts and inflates to far more: the declaration is checked by inflating.
    path = _workbook(tmp_path / "bomb.xlsx", rows=2_000, cols=10)
    _understate(path, "xl/worksheets/sheet1.xml", 1_000)
    settings.ingest.workbook_max_xml_bytes = 100_000
    with pytest.raises(InvalidInput) as e:
        load(db, settings, dataset, path)
    assert e.value.status == 422 and "bomb.xlsx" in e.value.where
    assert "declared sizes" in e.value.message
    assert version_count(db) == 0


def test_parquet_declaring_more_than_the_limit_is_refused(settings, db, dataset, tmp_path):
    path = tmp_path / "大表.parquet"
    values = [f"{i:08d}" + "一二三四五六七八九十" * 20 for i in range(5_000)]
    pq.write_table(pa.table({"s": values}), path, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 100_000  # compresses well; inflates to several MB
    settings.ingest.max_decompressed_bytes = 1_000_000
    _refused(db, settings, dataset, path, "ingest.max_decompressed_bytes")
    settings.ingest.max_decompressed_bytes = 100_000_000
    assert load(db, settings, dataset, path).rows == 5_000


def test_a_damaged_upload_is_described_without_server_paths(settings, db, dataset, write):
    path = write("坏.parquet", b"PAR1" + b"\x00" * 64)
    with pytest.raises(InvalidInput) as e:
        load(db, settings, dataset, path)
    text = str(e.value.to_dict())
    assert "坏.parquet" in text
    assert str(path.parent) not in text and str(settings.data_dir) not in text


def test_the_api_answers_422_naming_file_and_limit(settings, db, dataset, client, token_for, tmp_path):
    path = _workbook(tmp_path / "名录.xlsx", rows=50, cols=4)
    settings.ingest.workbook_max_cells = 10
    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        headers=token_for("scjg.steward"),
        files={"file": ("名录.xlsx", path.read_bytes())},
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["limit"] == "ingest.workbook_max_cells" and "名录.xlsx" in body["where"]
    assert str(settings.data_dir) not in r.text
