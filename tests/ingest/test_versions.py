"""Versioned writes: numbering, hashing, dedup, drift, field sync, ledger, hook, rollback and cleanup."""

from __future__ import annotations

import os

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shuzhi.catalog.models import DatasetVersion
from shuzhi.catalog.service import get_dataset
from shuzhi.cli.common import system_principal
from shuzhi.hooks import hookimpl, plugin_manager
from shuzhi.ingest import commit_staged, ingest_source, stage_source
from shuzhi.ingest.service import collect_orphans, create_dataset_for
from shuzhi.ledger import LedgerEntry

from .conftest import load, version_count, visible_files

V1 = "企业名称,注册资本,成立日期\n甲公司,100,2020-01-01\n乙公司,200,2021-05-06\n"
V2 = "企业名称,注册资本,成立日期,地址\n甲公司,100.5,2020-01-01,南山区\n丙公司,300,2022-02-02,福田区\n"


def test_first_version_is_complete(db, settings, dataset, write):
    report = load(db, settings, dataset, write("企业.csv", V1))
    assert (report.version, report.unchanged, report.rows, report.drift) == (1, False, 2, None)
    with db.session() as s:
        v = s.scalar(select(DatasetVersion))
        assert v.path == f"versions/{v.dataset_id}/1.parquet" and v.row_count == 2
        assert v.source == "企业.csv" and v.source_format == "csv" and v.encoding == "utf-8"
        assert [c["name"] for c in v.schema] == ["企业名称", "注册资本", "成立日期"]
        assert {c["name"] for c in v.profile["columns"]} == {"企业名称", "注册资本", "成立日期"}
        import hashlib

        data = (settings.data_dir / v.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == v.sha256 == report.sha256
        assert pq.read_table(settings.data_dir / v.path).num_rows == 2
        ds = get_dataset(s, dataset)
        assert [(f.name, f.type) for f in ds.fields] == [
            ("企业名称", "VARCHAR"),
            ("注册资本", "BIGINT"),
            ("成立日期", "DATE"),
        ]
    assert not list(settings.staging_dir.iterdir())


def test_identical_content_is_reported_not_stored(db, settings, dataset, write):
    load(db, settings, dataset, write("a.csv", V1))
    again = load(db, settings, dataset, write("renamed-gbk.csv", V1, "gbk"))
    assert again.unchanged and again.same_as == 1 and again.version is None
    assert "版本 1" in again.summary()
    assert version_count(db) == 1
    assert len(visible_files(settings)) == 1
    with db.session() as s:
        last = s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
        assert last.event == "version.ingested" and '"unchanged"' in last.entry


def test_drift_and_fields_follow_new_versions(db, settings, dataset, write):
    load(db, settings, dataset, write("a.csv", V1))
    report = load(db, settings, dataset, write("b.csv", V2))
    assert report.version == 2
    assert report.drift == {
        "added": ["地址"],
        "removed": [],
        "retyped": [{"name": "注册资本", "from": "BIGINT", "to": "DOUBLE"}],
    }
    third = load(db, settings, dataset, write("c.csv", "企业名称,地址\n丁,罗湖区\n"))
    assert third.drift["removed"] == ["注册资本", "成立日期"] and third.drift["added"] == []
    with db.session() as s:
        assert [v.drift for v in s.scalars(select(DatasetVersion).order_by(DatasetVersion.number))][1:] == [
            report.drift,
            third.drift,
        ]
        fields = {f.name: f.type for f in get_dataset(s, dataset).fields}
        # Catalog fields are added and retyped, never dropped: the description outlives a bad export.
        assert fields == {"企业名称": "VARCHAR", "注册资本": "DOUBLE", "成立日期": "DATE", "地址": "VARCHAR"}
        entries = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "version.ingested")).all()
        assert len(entries) == 3 and all(e.dataset_id is not None for e in entries)


class _Recorder:
    def __init__(self, fail: bool = False):
        self.seen, self.fail = [], fail

    @hookimpl
    def version_ingested(self, session, settings, version):
        # Runs inside the transaction: the row is flushed and visible to this session.
        assert session.get(DatasetVersion, version.id) is version
        self.seen.append((version.number, version.row_count))
        if self.fail:
            raise RuntimeError("grading refused the version")


@pytest.fixture
def recorder():
    pm = plugin_manager()
    plugins = []

    def _add(fail=False):
        plugins.append(_Recorder(fail))
        pm.register(plugins[-1])
        return plugins[-1]

    yield _add
    for p in plugins:
        pm.unregister(p)


def test_hook_sees_the_version_in_the_same_transaction(db, settings, dataset, write, recorder):
    rec = recorder()
    load(db, settings, dataset, write("a.csv", V1))
    assert rec.seen == [(1, 2)]


def test_a_failing_hook_rolls_back_row_and_file(db, settings, dataset, write, recorder):
    load(db, settings, dataset, write("a.csv", V1))
    recorder(fail=True)
    with pytest.raises(RuntimeError):
        load(db, settings, dataset, write("b.csv", V2))
    assert version_count(db) == 1
    assert [p.name for p in visible_files(settings)] == ["1.parquet"]


def test_caller_rollback_removes_the_renamed_file(db, settings, dataset, write):
    with pytest.raises(LookupError), db.transaction() as s:
        ingest_source(s, settings, get_dataset(s, dataset), write("a.csv", V1), user_id=None)
        assert len(visible_files(settings)) == 1
        raise LookupError("a later step of the caller fails")
    assert version_count(db) == 0
    assert visible_files(settings) == []


def test_a_failed_put_leaves_no_version_and_no_file(db, settings, dataset, write, monkeypatch):
    """The store could not make the placed file durable: the ingest fails, no row, nothing visible."""
    from shuzhi.storage import local

    def disk_error(path):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(local, "fsync_dir", disk_error)
    with pytest.raises(OSError):
        load(db, settings, dataset, write("a.csv", V1))
    assert version_count(db) == 0
    assert visible_files(settings) == []


def test_orphans_and_stale_staging_are_cleaned(db, settings, dataset, write):
    load(db, settings, dataset, write("a.csv", V1))
    with db.session() as s:
        ds_id = get_dataset(s, dataset).id
    orphan = settings.versions_dir / str(ds_id) / "2.parquet"
    orphan.write_bytes(b"PAR1 left by a crash between rename and commit")
    stale = settings.staging_dir / "deadbeef"
    stale.mkdir()
    (stale / "data.parquet").write_bytes(b"half")
    (settings.staging_dir / "deadbeef.lock").write_bytes(b"")
    report = load(db, settings, dataset, write("b.csv", V2))
    assert report.version == 2 and not stale.exists()
    assert (settings.versions_dir / str(ds_id) / "2.parquet").read_bytes()[:4] == b"PAR1"
    assert pq.read_table(settings.versions_dir / str(ds_id) / "2.parquet").num_rows == 2
    # A file still locked by a live ingest is not an orphan.
    live = settings.versions_dir / str(ds_id) / "9.parquet"
    live.write_bytes(b"x")
    import fcntl

    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with db.session() as s:
            assert collect_orphans(s, settings, ds_id) == []
    finally:
        os.close(fd)
    with db.session() as s:
        assert collect_orphans(s, settings, ds_id) == [live]


def test_create_dataset_from_a_file(db, settings, steward, write):
    staged = stage_source(settings, write("企业登记信息.csv", V1))
    with db.transaction() as s:
        ds = create_dataset_for(s, system_principal(), staged, dept="SCJG", theme="market")
        rep = commit_staged(s, settings, ds, staged, user_id=None)
        assert ds.identifier == "scjg-qi_ye_deng_ji_xin_xi" and ds.title_zh == "企业登记信息"
        assert [f.name for f in ds.fields] == ["企业名称", "注册资本", "成立日期"]
        assert rep.version == 1
