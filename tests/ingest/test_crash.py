"""Killing an ingest with SIGKILL leaves no visible version and the previous version intact."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import select

from shuzhi.catalog.models import DatasetVersion

from .conftest import load, version_count

pytestmark = pytest.mark.slow

HOOK_THEN_SLEEP = """
import sys, time
from pathlib import Path
from shuzhi.hooks import hookimpl, plugin_manager

MARKER = Path(sys.argv[1])

class Stall:
    @hookimpl
    def version_ingested(self, session, settings, version):
        MARKER.write_text(version.path)   # renamed into place, not yet committed
        time.sleep(600)

plugin_manager().register(Stall())
sys.argv = ["shuzhi", *sys.argv[2:]]
from shuzhi.cli import main
main()
"""


def _big_csv(path: Path, rows: int) -> Path:
    duckdb.connect().execute(
        f"COPY (SELECT i AS id, '企业' || i AS name, i * 1.5 AS amount, DATE '2020-01-01' + (i % 1000)::INT AS d "
        f"FROM range({rows}) t(i)) TO '{path}' (HEADER)"
    )
    return path


def _start(code: str, *args: str) -> subprocess.Popen:
    """`python -c code args…` in a child process, on the test's store (its environment comes from cli_env)."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _wait_for(predicate, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert proc.poll() is None, "the ingest finished before it could be killed"
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def _state(db, settings):
    with db.session() as s:
        versions = s.scalars(select(DatasetVersion)).all()
        return [(v.number, v.sha256, v.path) for v in versions]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sigkill_while_writing(db, cli_env, settings, dataset, write, tmp_path):
    first = load(db, settings, dataset, write("v1.csv", "id,name\n1,甲\n"))
    before = _state(db, settings)
    big = _big_csv(tmp_path / "big.csv", 3_000_000)
    proc = _start("from shuzhi.cli import main; main()", "ingest", str(big), "--dataset", dataset)
    try:
        # Kill once the Parquet file is being written in staging.
        _wait_for(
            lambda: any(p.stat().st_size > 0 for p in settings.staging_dir.glob("*/data.parquet")), proc
        )
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert _state(db, settings) == before
    files = sorted(p for p in settings.versions_dir.rglob("*") if p.is_file())
    assert [p.name for p in files] == ["1.parquet"]
    assert _sha(settings.data_dir / first.path) == first.sha256
    # The next ingest sweeps what the dead one left in staging and carries on.
    report = load(db, settings, dataset, write("v2.csv", "id,name\n2,乙\n"))
    assert report.version == 2
    assert not [p for p in settings.staging_dir.rglob("*") if p.is_file()]


def test_sigkill_between_rename_and_commit(db, cli_env, settings, dataset, write, tmp_path):
    first = load(db, settings, dataset, write("v1.csv", "id,name\n1,甲\n"))
    marker = tmp_path / "renamed"
    v2 = write("v2.csv", "id,name\n2,乙\n")
    proc = _start(HOOK_THEN_SLEEP, str(marker), "ingest", str(v2), "--dataset", dataset)
    try:
        _wait_for(marker.exists, proc)
        orphan = settings.data_dir / marker.read_text()
        assert orphan.exists()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert version_count(db) == 1
    assert _sha(settings.data_dir / first.path) == first.sha256
    # The uncommitted file is an orphan: the next ingest of the dataset removes it before writing.
    report = load(db, settings, dataset, write("v3.csv", "id,name\n3,丙\n"))
    assert report.version == 2
    with db.session() as s:
        rows = s.execute(select(DatasetVersion.path)).scalars().all()
    on_disk = sorted(
        p.relative_to(settings.data_dir).as_posix() for p in settings.versions_dir.rglob("*.parquet")
    )
    assert on_disk == sorted(rows)
