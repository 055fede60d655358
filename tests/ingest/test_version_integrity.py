"""Corrupted data is never served as good data: a version file that is flipped or cut is refused,
marked damaged, audited and alerted; page checksums stop a damaged page the SHA-256 gate cannot see."""

from __future__ import annotations

import hashlib
import io
import json
import os

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from shuzhi.catalog.models import DatasetVersion
from shuzhi.classify.models import GradingAlert
from shuzhi.engine.sandbox import Sandbox
from shuzhi.ingest import integrity
from shuzhi.ledger import LedgerEntry

from .conftest import load

ROWS = 3000
NAMES = [
    "杭州汇明机械制造有限公司",
    "宁波东海电子科技有限公司",
    "温州瓯江服装有限公司",
    "嘉兴南湖材料有限公司",
]


COLUMNS = '"企业名称", "统一社会信用代码", "注册资本"'


def _csv() -> str:
    lines = ["企业名称,统一社会信用代码,注册资本"]
    for i in range(ROWS):
        lines.append(f"{NAMES[i % 4]}{i},91330100MA{i:08d},{(i * 37) % 10000}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def version(db, settings, dataset, write, steward, token_for):
    """SCJG's dataset with one version ingested through the service; (headers, path, the good answers)."""
    report = load(db, settings, dataset, write("企业.csv", _csv()))
    path = settings.data_dir / report.path
    return token_for("scjg.steward"), path


def _reads(client, headers, dataset: str) -> dict[str, object]:
    """Every read channel's answer: (status, body) — body parsed when 200."""
    out = {}
    r = client.get(f"/api/v1/exchange/datasets/{dataset}/rows?limit=5000", headers=headers)
    out["rows"] = (r.status_code, r.json())
    r = client.post(
        "/api/v1/exchange/sql",
        headers=headers,
        json={"sql": f'SELECT {COLUMNS} FROM "{dataset}" ORDER BY "统一社会信用代码"', "max_rows": 5000},
    )
    out["sql"] = (r.status_code, r.json())
    r = client.get(f"/api/v1/exchange/datasets/{dataset}/export?format=parquet", headers=headers)
    body = pq.read_table(io.BytesIO(r.content)).to_pylist() if r.status_code == 200 else r.json()
    out["export"] = (r.status_code, body)
    return out


def _assert_refused_or_correct(answers, good, settings) -> int:
    """Each answer is the good one or a server-side refusal naming no path; returns the refusals."""
    refused = 0
    for channel, (status, body) in answers.items():
        if status == 200:
            assert body == good[channel][1], f"{channel}: 200 with wrong values"
            continue
        refused += 1
        assert status == 500 and body["error"] == "version_damaged", (channel, status, body)
        text = json.dumps(body, ensure_ascii=False)
        assert str(settings.data_dir) not in text and ".parquet" not in text
    return refused


def _flip(path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))


def test_flipped_bytes_are_refused_never_served(version, client, db, settings, dataset):
    headers, path = version
    good = _reads(client, headers, dataset)
    assert all(status == 200 for status, _ in good.values())
    assert len(good["rows"][1]["rows"]) == ROWS and len(good["export"][1]) == ROWS
    original = path.read_bytes()
    size = len(original)
    offsets = sorted({*range(0, size, max(1, size // 40)), size - 1, size - 5, size - 9, 4})
    assert len(offsets) >= 40
    for offset in offsets:
        _flip(path, offset)
        assert _assert_refused_or_correct(_reads(client, headers, dataset), good, settings) == 3, offset
        path.write_bytes(original)  # restored from a copy: the next verification clears the mark
        report = integrity.verify_versions(db, settings, dataset)
        assert report.restored == [{"dataset": dataset, "version": 1}] and report.damaged == []
    again = _reads(client, headers, dataset)
    assert again == good, _difference(again, good)


def _difference(answers: dict, good: dict) -> str:
    """Where two sets of answers part: per channel, the status, the keys that differ and, for rows,
    the first row that does (a plain `==` failure shows none of it)."""
    out = []
    for channel, (status, body) in answers.items():
        good_status, good_body = good[channel]
        if (status, body) == (good_status, good_body):
            continue
        out.append(f"{channel}: status {status} (good {good_status})")
        if isinstance(body, dict) and isinstance(good_body, dict):
            for key in sorted(set(body) | set(good_body)):
                if body.get(key) != good_body.get(key) and key != "rows":
                    out.append(f"  {key}: {body.get(key)!r} (good {good_body.get(key)!r})")
            body, good_body = body.get("rows", []), good_body.get("rows", [])
        if isinstance(body, list) and isinstance(good_body, list):
            out.append(f"  {len(body)} rows (good {len(good_body)})")
            for i, (row, good_row) in enumerate(zip(body, good_body, strict=False)):
                if row != good_row:
                    out.append(f"  row {i}: {row!r} (good {good_row!r})")
                    break
    return "\n".join(out)


def test_a_damaged_version_is_marked_audited_alerted_and_stays_refused(
    version, client, db, settings, dataset
):
    headers, path = version
    _flip(path, os.path.getsize(path) // 2)
    r = client.get(f"/api/v1/exchange/datasets/{dataset}/rows", headers=headers)
    assert r.status_code == 500 and r.json()["error"] == "version_damaged" and r.json()["version"] == 1
    with db.session() as s:
        v = s.scalar(select(DatasetVersion))
        assert v.damaged_at is not None and v.damage == "sha256"
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "version.damaged")).all()
        assert len(entries) == 1 and entries[0].outcome == "failed" and entries[0].dataset_id == v.dataset_id
        reads = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "data.read")).all()
        assert reads and all(e.outcome == "failed" for e in reads)
        alerts = s.scalars(select(GradingAlert).where(GradingAlert.kind == "version_damaged")).all()
        assert [(a.version_id, a.resolved) for a in alerts] == [(v.id, False)]
    # The stewards of the owning department see it among the dataset's open alerts.
    shown = client.get(f"/api/v1/datasets/{dataset}/classification", headers=headers).json()
    assert "version_damaged" in json.dumps(shown)
    # Refused from the mark on, whatever the file holds now: no second entry, no second alert.
    path.write_bytes(path.read_bytes())
    r = client.post(
        "/api/v1/exchange/sql", headers=headers, json={"sql": f'SELECT count(*) AS n FROM "{dataset}"'}
    )
    assert r.status_code == 500 and r.json()["error"] == "version_damaged"
    with db.session() as s:
        assert len(s.scalars(select(LedgerEntry).where(LedgerEntry.event == "version.damaged")).all()) == 1


@pytest.mark.parametrize("keep", [0, 4, 0.5, -8, -1])
def test_truncated_and_missing_files_are_refused(version, client, db, settings, dataset, keep):
    headers, path = version
    good = _reads(client, headers, dataset)
    data = path.read_bytes()
    if keep == 0:
        path.unlink()
    else:
        cut = int(len(data) * keep) if isinstance(keep, float) else keep if keep > 0 else len(data) + keep
        path.write_bytes(data[:cut])
    assert _assert_refused_or_correct(_reads(client, headers, dataset), good, settings) == 3
    with db.session() as s:
        assert s.scalar(select(DatasetVersion.damage)) == ("missing" if keep == 0 else "size")


def test_verify_data_finds_damage_and_a_reingest_of_good_data_works(
    version, client, db, settings, dataset, cli_env, write, monkeypatch
):
    from shuzhi.cli import app

    headers, path = version
    monkeypatch.setenv("COLUMNS", "200")
    ok = CliRunner().invoke(app, ["verify-data"])
    assert (
        ok.exit_code == 0 and "1 个版本已核查 (1 versions checked)" in ok.output and "0 个损坏" in ok.output
    )
    good = _reads(client, headers, dataset)
    assert good["rows"][0] == 200  # remembered as intact for this state of the file
    _flip(path, 200)
    bad = CliRunner().invoke(app, ["verify-data", dataset, "--json"])
    assert bad.exit_code == 1
    report = json.loads(bad.output)
    assert report["damaged"] == [{"dataset": dataset, "version": 1, "damage": "sha256", "new": True}]
    with db.session() as s:
        assert s.scalar(select(DatasetVersion.damaged_at)) is not None
    assert client.get(f"/api/v1/exchange/datasets/{dataset}/rows", headers=headers).status_code == 500
    # The same good data loaded again is a new, readable version, not "unchanged".
    again = load(db, settings, dataset, write("企业.csv", _csv()))
    assert again.version == 2 and not again.unchanged
    answers = _reads(client, headers, dataset)
    assert answers == good
    still = CliRunner().invoke(app, ["verify-data"])
    assert still.exit_code == 1 and "仍损坏 (still damaged)" in still.output


def test_page_checksums_stop_a_damaged_page_the_file_system_did_not_see(version, tmp_path):
    """Damage below the file system (same size and times) passes the remembered SHA-256: the Arrow
    reader's page checksums refuse it where the values would otherwise decode wrong."""
    _, path = version
    meta = pq.ParquetFile(path).metadata
    assert meta.created_by.startswith("parquet-cpp-arrow")  # rewritten with page checksums
    data = path.read_bytes()
    good = pq.read_table(path).to_pylist()
    needle = "汇明".encode()
    hits = [i for i in range(len(data)) if data.startswith(needle, i)][:10]
    assert hits, "the names are stored as literals the test can find"
    box = Sandbox(reader="arrow")
    try:
        for at in hits:
            copy = tmp_path / f"flip-{at}.parquet"
            flipped = bytearray(data)
            flipped[at + 1] ^= 0x01
            copy.write_bytes(flipped)
            assert pq.read_table(copy).to_pylist() != good  # unverified, it decodes wrong values
            with pytest.raises(Exception) as e:
                box.run(f'SELECT {COLUMNS} FROM t ORDER BY "统一社会信用代码"', {"t": copy})
            assert e.value.detail["error_class"] == "damaged" and e.value.status == 500
    finally:
        box.close()


def test_the_cache_is_keyed_by_the_file_state(tmp_path):
    f = tmp_path / "v.parquet"
    f.write_bytes(b"x" * 1000)
    sha = hashlib.sha256(f.read_bytes()).hexdigest()
    assert integrity.damage_of(f, sha, 1000) is None
    os.utime(f, ns=(0, 0))  # even setting the times back leaves the change time moved
    with open(f, "r+b") as h:
        h.write(b"y")
    os.utime(f, ns=(0, 0))
    assert integrity.damage_of(f, sha, 1000) == "sha256"
    assert integrity.damage_of(f, sha, 999) == "size"
    assert integrity.damage_of(tmp_path / "gone", sha, 1000) == "missing"
