"""The version store: the one place a version file is put, found, opened, removed or swept."""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path

import pytest

from shuzhi.config import Settings, load_settings
from shuzhi.errors import ConfigurationError
from shuzhi.storage import StagingArea, VersionStore, local, version_store
from shuzhi.storage.local import LocalVersionStore

SRC = Path(__file__).resolve().parents[2] / "src" / "shuzhi"


@pytest.fixture
def store(tmp_path) -> LocalVersionStore:
    s = Settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return version_store(s)


def _staged(store: VersionStore, payload: bytes = b"PAR1 whole file PAR1") -> tuple[StagingArea, Path]:
    area = store.staging()
    path = area.path("data.parquet")
    path.write_bytes(payload)
    return area, path


def test_the_local_store_is_chosen_by_the_storage_setting_and_satisfies_the_interface(store):
    assert isinstance(store, LocalVersionStore) and isinstance(store, VersionStore)
    with store.staging() as area:
        assert isinstance(area, StagingArea) and area.dir.is_dir()
    assert not area.dir.exists()  # closing a staging area removes it


def test_an_unknown_storage_is_refused_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHUZHI_STORAGE", "s3")
    with pytest.raises(ConfigurationError) as e:
        load_settings()
    assert "`storage` (SHUZHI_STORAGE)" in str(e.value)


def test_put_places_the_whole_file_under_its_key_and_open_reads_it(store):
    area, staged = _staged(store)
    with area:
        key = store.put(staged, 7, 3)
    assert key == "versions/7/3.parquet"
    assert store.path(key).read_bytes() == b"PAR1 whole file PAR1"
    with store.open(key) as f:
        assert f.read() == b"PAR1 whole file PAR1"
    assert store.dataset_ids() == [7]
    store.delete(key)
    assert not store.path(key).exists()
    store.delete(key)  # already gone: fine


def test_a_failure_in_the_middle_of_put_leaves_nothing_visible(store, monkeypatch):
    """The bytes were moved, the directory entry could not be made durable: the file goes back to
    its writer and the key shows nothing."""
    area, staged = _staged(store)

    def disk_error(path):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(local, "fsync_dir", disk_error)
    with area:
        with pytest.raises(OSError):
            store.put(staged, 7, 1)
        assert not store.path("versions/7/1.parquet").exists()
        assert list((store.versions_dir / "7").iterdir()) == []
        assert staged.read_bytes() == b"PAR1 whole file PAR1"  # back with its writer


def test_keys_cannot_leave_the_store(store):
    for key in ("../shuzhi.db", "/etc/passwd", "versions/../../x", ""):
        with pytest.raises(ValueError):
            store.path(key)


def test_sweeps_take_dead_staging_and_unreferenced_files_but_not_live_ones(store):
    dead = store.staging_dir / "deadbeef"
    dead.mkdir()
    (store.staging_dir / "deadbeef.lock").write_bytes(b"")
    with store.staging() as live_area:
        assert store.sweep_staging() == ["deadbeef"]
        assert live_area.dir.is_dir()
    kept_area, kept = _staged(store)
    with kept_area:
        kept_key = store.put(kept, 1, 1)
    orphan_area, orphan = _staged(store)
    with orphan_area:
        orphan_key = store.put(orphan, 1, 2)
    held_area, held = _staged(store)
    fd = os.open(held, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live ingest's lock follows the file through the put
    try:
        held_key = store.put(held, 1, 3)
        assert store.sweep_orphans(1, lambda: {kept_key}) == [orphan_key]
        assert store.path(held_key).exists() and store.path(kept_key).exists()
    finally:
        os.close(fd)
        held_area.close()
    assert store.sweep_orphans(1, lambda: {kept_key}, min_age_s=3600) == []  # too young
    assert store.sweep_orphans(1, lambda: {kept_key}) == [held_key]


# Where a version's or a staging area's location would be computed by hand.
_BY_HAND = re.compile(r"data_dir\s*/\s*\w+\.path|versions_dir|staging_dir|Workspace\(|\{number\}\.parquet")


def test_no_module_outside_storage_computes_a_version_location():
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel.startswith("storage/") or rel == "config.py":
            continue  # the store itself, and the settings that name its folders
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            if _BY_HAND.search(line):
                offenders.append(f"{rel}:{n}: {line.strip()}")
    assert offenders == []
