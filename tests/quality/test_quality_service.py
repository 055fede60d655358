"""Rule sets saved and refused, runs with exact counts and masked samples, scores and the ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select
from tests.quality.conftest import PEOPLE, add_dataset, add_version

from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.quality import service

RULES = {
    "rules": [
        {"kind": "not_blank", "field": "name", "blocking": True},
        {"kind": "resident_id", "field": "id_number"},
        {"kind": "range", "field": "income", "min": 0, "max": 1000000},
        {"kind": "phone", "field": "phone"},
        {"kind": "unique", "fields": ["id_number"]},
        {"kind": "id_matches", "id": "id_number", "birth": "birth", "sex": "sex"},
        {"kind": "timeliness"},
    ],
    "sample_size": 3,
}


def _save(world, rules=RULES, who=None):
    with world.db.write() as s:
        return service.save_rules(s, who or world.steward, "people", rules).revision


def _events(db, name) -> list[dict]:
    """The details of the ledger's entries of one event type, in order."""
    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == name).order_by(LedgerEntry.seq))
        return [json.loads(e.entry)["detail"] for e in rows]


def test_a_rule_set_is_saved_as_revisions_and_audited(world):
    assert _save(world) == 1
    assert _save(world) == 2
    with world.db.read() as s:
        ds = service.get_dataset(s, "people")
        out = service.rules_out(ds, service.current_rules(s, ds))
    assert out["revision"] == 2
    assert [r["name"] for r in out["rules"]][:2] == ["not_blank(name)", "resident_id(id_number)"]
    assert out["rules"][0]["blocking"] is True and out["rules"][0]["dimension"] == "completeness"
    saved = _events(world.db, "quality.rules_saved")
    assert len(saved) == 2 and saved[-1]["blocking"] == ["not_blank(name)"]


@pytest.mark.parametrize(
    ("rule", "why"),
    [
        ({"kind": "not_null", "field": "nope"}, "unknown field nope"),
        ({"kind": "range", "field": "name", "min": 1}, "does not apply to field name"),
        ({"kind": "regex", "field": "name", "pattern": "(["}, "does not compile"),
        ({"kind": "frobnicate", "field": "name"}, "unknown kind frobnicate"),
        ({"kind": "range", "field": "income", "min": "2020-01-01"}, "must have the field's type"),
        ({"kind": "range", "field": "income", "min": 5, "max": 1}, "min is greater than max"),
        ({"kind": "enum", "field": "sex"}, "either values or a vocabulary"),
        ({"kind": "enum", "field": "sex", "vocabulary": "no_such"}, "no vocabulary no_such"),
        ({"kind": "not_null", "field": "name", "colour": "red"}, "colour"),
        ({"kind": "unique", "fields": ["name", "name"]}, "named twice"),
        (
            {"kind": "references", "field": "id_number", "dataset": "nowhere", "ref_field": "x"},
            "no dataset nowhere",
        ),
        ({"kind": "type", "field": "name", "type": "date", "format": "%Q"}, "does not compile"),
    ],
)
def test_a_wrong_rule_is_refused_naming_it_and_why(world, rule, why):
    rules = [{"kind": "not_null", "field": "name"}, {**rule, "name": "the-bad-one"}]
    with pytest.raises(InvalidInput) as e:
        _save(world, rules)
    assert "#2 (the-bad-one)" in str(e.value) and why in str(e.value)
    assert e.value.where == "rules[1]"
    with world.db.read() as s:
        assert service.current_rules(s, service.get_dataset(s, "people")) is None


def test_a_rule_set_is_planned_on_one_connection_however_many_rules(world, monkeypatch):
    from shuzhi.quality import engine

    opened = []
    real = engine.connect
    monkeypatch.setattr(engine, "connect", lambda: opened.append(1) or real())
    _save(world)
    assert len(opened) == 1
    # A bad rule after good ones is still caught on that shared connection.
    bad = [*RULES["rules"], {"kind": "regex", "field": "name", "pattern": "(["}]
    with pytest.raises(InvalidInput, match="does not compile") as e:
        _save(world, bad)
    assert e.value.where == f"rules[{len(bad) - 1}]" and len(opened) == 2


def test_two_rules_of_one_name_are_refused(world):
    with pytest.raises(InvalidInput, match="another rule has this name"):
        _save(
            world,
            [
                {"kind": "not_null", "field": "name", "name": "a"},
                {"kind": "not_null", "field": "sex", "name": "a"},
            ],
        )


def test_only_the_owning_departments_steward_or_an_admin_saves_rules(world):
    for who in (world.other_steward, world.analyst, world.outsider):
        with pytest.raises(Forbidden):
            _save(world, who=who)
    assert _save(world, who=world.admin) == 1


def test_a_run_counts_exactly_masks_its_sample_and_scores(world):
    _save(world)
    run_id = service.run(world.db, world.settings, world.steward, "people")
    with world.db.write() as s:
        out = service.read_run(s, world.steward, run_id, samples=True)
    by = {r["name"]: r for r in out["results"]}
    assert (by["not_blank(name)"]["rows_checked"], by["not_blank(name)"]["rows_failed"]) == (5, 2)
    assert (by["resident_id(id_number)"]["rows_checked"], by["resident_id(id_number)"]["rows_failed"]) == (
        3,
        1,
    )
    assert (by["range(income)"]["rows_checked"], by["range(income)"]["rows_failed"]) == (4, 2)
    assert (by["phone(phone)"]["rows_checked"], by["phone(phone)"]["rows_failed"]) == (4, 1)
    # Rows 0 and 4 share an ID: both copies fail; the blank and the NULL ID are not checked.
    assert (by["unique(id_number)"]["rows_checked"], by["unique(id_number)"]["rows_failed"]) == (3, 2)
    # Row 1's ID says a woman born 1949-12-31, the row a man born 1950-01-01; row 4 agrees.
    assert (by["id_matches(id_number, birth, sex)"]["rows_failed"]) == 1
    assert by["timeliness()"]["rows_checked"] == 0  # the first version: nothing to be late against
    # The sample: L3 in shape only, L4 and ungraded withheld, L1/L2 clear.
    name_sample = by["not_blank(name)"]["sample"]
    assert [r["row"] for r in name_sample] == [1, 2]
    assert name_sample[0]["values"]["name"] == "" or name_sample[0]["values"]["name"].startswith("")
    assert by["resident_id(id_number)"]["sample"][0]["values"] == {"id_number": "***"}
    assert by["phone(phone)"]["sample"][0]["values"] == {"phone": "***"}
    assert by["range(income)"]["sample"][0]["values"] == {"income": -5.0}
    matches = by["id_matches(id_number, birth, sex)"]["sample"][0]["values"]
    assert matches["sex"] == "男" and matches["birth"] != "1950-01-01" and "*" in matches["birth"]
    assert out["blocked"] is True
    assert out["dimensions"]["completeness"] == pytest.approx(60.0)
    assert out["dimensions"]["timeliness"] is None and out["dimensions"]["accuracy"] is None
    present = [v for v in out["dimensions"].values() if v is not None]
    assert out["score"] == pytest.approx(sum(present) / len(present), abs=1e-3)
    done = _events(world.db, "quality.run_completed")
    assert len(done) == 1 and done[0]["run_id"] == run_id and done[0]["blocked"] is True
    assert len(_events(world.db, "quality.samples_read")) == 1


def test_samples_are_refused_outside_the_owning_department_and_results_are_not(world):
    _save(world)
    run_id = service.run(world.db, world.settings, world.steward, "people")
    for who in (world.other_steward, world.outsider):
        with world.db.write() as s, pytest.raises(Forbidden):
            service.read_run(s, who, run_id, samples=True)
        with world.db.read() as s:
            out = service.read_run(s, who, run_id)
        assert "sample" not in out["results"][0] and out["results"][0]["rows_failed"] == 2
    with world.db.write() as s:  # a member of the department who is no steward, and an admin, see them
        assert service.read_run(s, world.analyst, run_id, samples=True)["results"][0]["sample"]
        assert service.read_run(s, world.admin, run_id, samples=True)["results"][0]["sample"]
    assert len(_events(world.db, "quality.samples_read")) == 2


def test_only_the_owning_departments_steward_or_an_admin_runs(world):
    _save(world)
    for who in (world.other_steward, world.analyst, world.outsider):
        with pytest.raises(Forbidden):
            service.run(world.db, world.settings, who, "people")
    assert _events(world.db, "quality.run_completed") == []


def test_a_run_needs_rules(world):
    with pytest.raises(NotFound, match="no quality rules"):
        service.run(world.db, world.settings, world.steward, "people")


def test_a_late_version_fails_timeliness_and_scores_are_kept_per_version(world, db, settings):
    with db.write() as s:
        ds = service.get_dataset(s, "people")
        ds.update_frequency = "weekly"
        first = ds.versions[0]
        first.created_at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    add_version(db, settings, "people", PEOPLE, at=dt.datetime(2026, 1, 8, tzinfo=dt.UTC))
    add_version(db, settings, "people", PEOPLE, at=dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    _save(world, [{"kind": "timeliness", "grace_days": 1}, {"kind": "not_null", "field": "name"}])
    runs = [service.run(db, settings, world.steward, "people", n) for n in (1, 2, 3)]
    service.run(db, settings, world.steward, "people", 3)  # a rerun: the history keeps the newest
    with db.read() as s:
        got = [service.read_run(s, world.steward, r)["results"][0] for r in runs]
        history = service.history(s, service.get_dataset(s, "people"))
    assert [(g["rows_checked"], g["rows_failed"]) for g in got] == [(0, 0), (1, 0), (1, 1)]
    assert got[2]["detail"]["late_days"] == 4  # due 1-15, one day of grace
    assert [h.version_number for h in history] == [1, 2, 3]
    assert history[2].id != runs[2] and history[2].dimensions["timeliness"] == 0.0


def test_a_referential_rule_reads_the_other_datasets_newest_version(world, db, settings):
    import pyarrow as pa

    register = pa.table({"code": ["11010519491231002X", "X"]})
    add_dataset(db, world.steward, "register", register)
    add_version(db, settings, "register", pa.table({"code": ["nothing"]}), grades={})
    add_version(db, settings, "register", register, grades={})
    _save(world, [{"kind": "references", "field": "id_number", "dataset": "register", "ref_field": "code"}])
    run_id = service.run(db, settings, world.steward, "people")
    with db.read() as s:
        r = service.read_run(s, world.steward, run_id)["results"][0]
    assert (r["rows_checked"], r["rows_failed"]) == (3, 1)
    assert _events(db, "quality.run_completed")[0]["references"] == [{"dataset": "register", "version": 2}]


def test_a_referential_rule_may_not_read_another_departments_unshared_data(world, db, settings):
    import pyarrow as pa

    add_dataset(
        db, world.other_steward, "theirs", pa.table({"code": ["a"]}), dept="SC", share_type="conditional"
    )
    with pytest.raises(InvalidInput, match="not shared unconditionally"):
        _save(world, [{"kind": "references", "field": "name", "dataset": "theirs", "ref_field": "code"}])


def test_a_rule_whose_field_left_the_version_reports_it_and_the_others_run(world, db, settings):
    _save(world, [{"kind": "not_null", "field": "phone"}, {"kind": "not_null", "field": "name"}])
    add_version(db, settings, "people", PEOPLE.drop(["phone"]))
    run_id = service.run(db, settings, world.steward, "people")
    with db.read() as s:
        results = service.read_run(s, world.steward, run_id)["results"]
    assert results[0]["error"] == "missing field: phone" and results[0]["score"] is None
    assert results[1]["rows_failed"] == 1


def test_a_rule_whose_kind_left_the_deployment_is_reported_in_the_run(world, db, settings):
    from shuzhi.quality.models import RuleSetRevision

    _save(world, [{"kind": "not_null", "field": "name"}, {"kind": "not_null", "field": "sex"}])
    with db.write() as s:
        row = s.scalar(select(RuleSetRevision))
        rules = [dict(r) for r in row.body["rules"]]
        rules[0]["kind"] = "retired_plugin_kind"
        row.body = {**row.body, "rules": rules}
    run_id = service.run(db, settings, world.steward, "people")
    with db.read() as s:
        results = service.read_run(s, world.steward, run_id)["results"]
    assert results[0]["error"] == "unknown kind: retired_plugin_kind" and results[0]["score"] is None
    assert results[1]["rows_failed"] == 1


def test_a_blocked_version_is_held_until_a_steward_overrides_it_with_a_reason(world, db, settings):
    _save(
        world,
        [{"kind": "not_blank", "field": "name", "blocking": True}, {"kind": "not_null", "field": "sex"}],
    )
    with db.read() as s:
        version_id = service.get_version(s, service.get_dataset(s, "people")).id
        assert service.version_hold(s, version_id) is None  # never run: no verdict
    first = service.run(db, settings, world.steward, "people")
    with db.read() as s:
        assert service.version_hold(s, version_id) == {
            "run_id": first,
            "version": 1,
            "rules": ["not_blank(name)"],
            "pending": False,
        }
    for who in (world.other_steward, world.analyst):
        with db.write() as s, pytest.raises(Forbidden):
            service.override_block(s, who, "people", 1, "已核实")
    with db.write() as s, pytest.raises(InvalidInput):
        service.override_block(s, world.steward, "people", 1, "  ")
    with db.write() as s:
        service.override_block(s, world.steward, "people", 1, "姓名空白为历史数据，已通知整改")
    with db.read() as s:
        assert service.version_hold(s, version_id) is None
    with db.write() as s, pytest.raises(Conflict):
        service.override_block(s, world.steward, "people", 1, "again")
    [entry] = _events(db, "quality.block_overridden")
    assert (
        entry["run_id"] == first
        and entry["rules"] == ["not_blank(name)"]
        and entry["reason"].startswith("姓名")
    )
    second = service.run(db, settings, world.steward, "people")  # a new verdict: held again
    with db.read() as s:
        assert service.version_hold(s, version_id)["run_id"] == second
