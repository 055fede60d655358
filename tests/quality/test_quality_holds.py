"""Quality holds: which version the exchange shares when the newest is held, a verdict pending, and
every ingested version checked after its grading, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.quality.conftest import PEOPLE, add_dataset, add_version

from shuzhi.catalog.service import get_dataset
from shuzhi.errors import Conflict
from shuzhi.exchange.decision import decide
from shuzhi.quality import holds, service

BLOCKING = [{"kind": "not_blank", "field": "name", "blocking": True}]
CLEAN = PEOPLE.filter([True, False, False, True, True])
"""Rows whose name is present: passes the blocking rule."""


@pytest.fixture
def shared(world):
    """`open_people`: shared unconditionally, version 1 loaded before it had any rule."""
    add_dataset(world.db, world.steward, "open_people", PEOPLE, share_type="unconditional")
    add_version(world.db, world.settings, "open_people", CLEAN)
    with world.db.write() as s:
        service.save_rules(s, world.steward, "open_people", BLOCKING)
    return world


def _read_as(world, who, version=None) -> int:
    with world.db.read() as s:
        return decide(s, world.settings, who, get_dataset(s, "open_people"), version=version).version.number


def _hold(world, number):
    with world.db.read() as s:
        ds = get_dataset(s, "open_people")
        return holds.version_hold(s, service.get_version(s, ds, number).id)


def test_a_version_arriving_under_blocking_rules_is_held_until_its_run_passes(shared):
    w = shared
    assert _hold(w, 1) is None  # loaded before the rules: no verdict, not held
    add_version(w.db, w.settings, "open_people", CLEAN)  # not through ingest: never run
    assert _hold(w, 2) == {"run_id": None, "version": 2, "rules": ["not_blank(name)"], "pending": True}
    assert _read_as(w, w.outsider) == 1  # the new version is not shared; the previous one stays
    assert _read_as(w, w.analyst) == 2  # the owning department reads its own newest version
    with pytest.raises(Conflict) as e:
        _read_as(w, w.outsider, version=2)
    assert "not been run" in str(e.value) and "quality run" in str(e.value)
    with w.db.write() as s, pytest.raises(Conflict):  # nothing to override before a verdict
        service.override_block(s, w.steward, "open_people", 2, "急用")
    service.run(w.db, w.settings, w.steward, "open_people", 2)
    assert _hold(w, 2) is None and _read_as(w, w.outsider) == 2


def test_a_blocked_newest_version_is_not_shared_the_one_before_is_until_overridden(shared):
    w = shared
    add_version(w.db, w.settings, "open_people", PEOPLE)  # a blank name: fails the blocking rule
    run_id = service.run(w.db, w.settings, w.steward, "open_people", 2)
    assert _read_as(w, w.outsider) == 1
    with pytest.raises(Conflict) as e:
        _read_as(w, w.outsider, version=2)
    message = str(e.value)
    assert "not_blank(name)" in message and f"run {run_id}" in message and "quality override" in message
    assert e.value.detail == {"run_id": run_id, "rules": ["not_blank(name)"]}
    with w.db.write() as s:
        service.override_block(s, w.steward, "open_people", 2, "空白姓名为历史记录，已核实")
    assert _read_as(w, w.outsider) == 2 and _read_as(w, w.outsider, version=2) == 2


def test_when_every_version_is_held_the_read_is_refused(shared):
    w = shared
    capped = [{"kind": "range", "field": "income", "max": 1500, "blocking": True}]  # both hold 2e6
    with w.db.write() as s:
        service.save_rules(s, w.steward, "open_people", capped)
    add_version(w.db, w.settings, "open_people", PEOPLE)
    service.run(w.db, w.settings, w.steward, "open_people", 1)
    service.run(w.db, w.settings, w.steward, "open_people", 2)
    assert _hold(w, 1)["rules"] == _hold(w, 2)["rules"] == ["range(income)"]
    with pytest.raises(Conflict) as e:
        _read_as(w, w.outsider)
    assert "Version 2 of open_people" in str(e.value)  # the newest version's reason
    assert _read_as(w, w.analyst) == 2


def _csv(tmp_path, table) -> object:
    import pyarrow.csv as pacsv

    path = tmp_path / "people.csv"
    pacsv.write_csv(table, path)
    return path


def _ingest(w, path):
    from shuzhi.ingest import ingest_source

    with w.db.transaction() as s:
        return ingest_source(s, w.settings, get_dataset(s, "open_people"), path, user_id=None)


def test_every_ingested_version_is_checked_after_grading_and_held_before_anyone_reads_it(shared, tmp_path):
    w = shared
    _ingest(w, _csv(tmp_path, PEOPLE))  # version 2: a blank name
    with w.db.write() as s:
        run = holds.latest_run(s, service.get_version(s, get_dataset(s, "open_people"), 2).id)
        assert run is not None and run.blocked and run.created_by_id is None
    assert _hold(w, 2)["run_id"] == run.id and _read_as(w, w.outsider) == 1
    _ingest(w, _csv(tmp_path, CLEAN))  # version 3: clean
    assert _hold(w, 3) is None and _read_as(w, w.outsider) == 3


def test_the_ingest_run_comes_after_grading():
    from shuzhi.hooks import plugin_manager

    # pluggy calls the implementations from the last of this list to the first
    impls = [i.plugin_name for i in plugin_manager().hook.version_ingested.get_hookimpls()]
    assert impls.index("shuzhi.quality.plugin") < impls.index("shuzhi.classify.plugin")


def test_a_run_that_fails_on_ingest_leaves_the_version_held_and_the_load_done(shared, tmp_path, monkeypatch):
    w = shared

    def broken(plan):
        raise RuntimeError("engine down")

    monkeypatch.setattr(service, "execute", broken)
    _ingest(w, _csv(tmp_path, CLEAN))
    assert _hold(w, 2)["pending"] is True and _read_as(w, w.outsider) == 1


def test_a_dataset_without_rules_is_not_run_on_ingest(world, tmp_path):
    add_dataset(world.db, world.steward, "open_people", PEOPLE, share_type="unconditional")
    _ingest(world, _csv(tmp_path, PEOPLE))
    with world.db.read() as s:
        version = service.get_version(s, get_dataset(s, "open_people"), 1)
        assert holds.latest_run(s, version.id) is None and holds.version_hold(s, version.id) is None


def test_an_override_planted_behind_the_ledger_is_reported_by_reconciliation(shared):
    from sqlalchemy import text

    from shuzhi.ledger.reconcile import reconcile
    from shuzhi.quality.state import SOURCE

    w = shared
    add_version(w.db, w.settings, "open_people", PEOPLE)
    service.run(w.db, w.settings, w.steward, "open_people", 2)
    with w.db.write() as s:
        service.override_block(s, w.steward, "open_people", 2, "空白姓名为历史记录，已核实")
    add_version(w.db, w.settings, "open_people", PEOPLE)
    planted = service.run(w.db, w.settings, w.steward, "open_people", 3)
    with w.db.read() as s:
        assert reconcile(s, [SOURCE])[1] == []  # the override made through the service is in the ledger
    with w.db.write() as s:  # a held version let through by a row written by hand
        ids = s.execute(
            text("SELECT dataset_id, version_id FROM quality_runs WHERE id = :r"), {"r": planted}
        ).one()
        s.execute(
            text(
                "INSERT INTO quality_block_overrides (run_id, dataset_id, version_id, reason, created_at)"
                " VALUES (:r, :d, :v, 'x', CURRENT_TIMESTAMP)"
            ),
            {"r": planted, "d": ids[0], "v": ids[1]},
        )
    assert _read_as(w, w.outsider) == 3  # it works: the planted row unblocks the version ...
    with w.db.read() as s:
        [difference] = reconcile(s, [SOURCE])[1]  # ... and `audit verify` names it
    assert difference.table == "quality_block_overrides" and difference.key == {"run_id": planted}
