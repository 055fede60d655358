"""Releases: built and checked on their file, refused when they would disclose, approved by a second person."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.opendata.conftest import add_version, plan, population

from shuzhi.engine.parquet import float_statistics
from shuzhi.errors import Conflict, Forbidden, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import published, releases
from shuzhi.opendata.access import Reader
from shuzhi.opendata.disclosure import check
from shuzhi.opendata.disclosure.plan import Release as Built
from shuzhi.opendata.disclosure.plan import Report
from shuzhi.opendata.models import Release
from shuzhi.opendata.plans import PlanIn


def prepare(world, who=None, **kw) -> int:
    kw.setdefault("plan", plan())
    with world.db.transaction() as s:
        return releases.prepare_release(s, world.settings, who or world.steward, "population", **kw).id


def act(world, release_id: int, action: str, who, reason: str | None = "理由") -> Release:
    with world.db.transaction() as s:
        r = s.get(Release, release_id)
        if action == "approve":
            releases.approve_release(s, world.settings, who, r)
        elif action == "reject":
            releases.reject_release(s, who, r, reason)
        else:
            releases.withdraw_release(s, who, r, reason)
        s.flush()
        s.expunge(r)
        return r


def row(world, release_id: int) -> Release:
    with world.db.session() as s:
        r = s.get(Release, release_id)
        s.expunge(r)
        return r


def entries(world, event: str) -> list[dict]:
    with world.db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [json.loads(e.entry)["detail"] for e in rows]


def refused(world, error, *needles: str, **kw) -> None:
    with pytest.raises(error) as caught:
        prepare(world, **kw)
    assert all(n in caught.value.message for n in needles), caught.value.message
    with world.db.session() as s:
        assert s.scalar(select(Release.id)) is None  # nothing half-made stays behind


def test_release_is_built_checked_and_published_by_a_second_steward(world):
    rid = prepare(world)
    r = row(world, rid)
    assert r.state == "pending" and r.version_number == 1
    path = world.settings.data_dir / r.path
    assert r.sha256 in r.path and path.is_file()
    released = pq.read_table(path)
    assert released.column_names == ["name", "gender", "birth_date", "region_code", "income", "benefit"]
    assert set(released.column("name").to_pylist()) == {"***"}
    assert all(v.endswith("9999") for v in released.column("income").to_pylist())  # e.g. 20000-29999
    seen = check(released, ["gender", "birth_date", "region_code"])
    # The report is stored with the release, and its k is the file's own.
    rep = r.report
    assert rep["k"] == seen.k >= 5 and rep["classes"] == seen.classes
    assert rep["rows_in"] == 240 and rep["suppressed"] == 240 - released.num_rows == 240 - r.row_count
    assert set(rep["ncp_per_qi"]) == set(rep["generalisation"]) == {"gender", "birth_date", "region_code"}
    assert 0 < rep["ncp"] <= 1 and rep["discernibility"] > 0 and rep["method"] == "full-domain"
    assert {f["name"]: f["treatment"] for f in r.public_fields}["name"] == "mask:redact"
    with world.db.session() as s, pytest.raises(NotFound):
        published.release_table_path(s, world.settings, rid)  # not served before approval
    assert act(world, rid, "approve", world.steward2).state == "published"
    with world.db.session() as s:
        with pytest.raises(Forbidden):  # population is open on condition: not to anyone
            published.release_table_path(s, world.settings, rid)
        owner = Reader(staff=world.analyst)
        assert published.release_table_path(s, world.settings, rid, reader=owner) == path
        page = published.published_releases(s)
        assert page.total == 1 and page.items[0]["release_id"] == rid
        assert page.items[0]["title_zh"] == "测试population" and page.items[0]["open_type"] == "conditional"
        assert [f["name"] for f in published.public_fields(s, rid)] == released.column_names
    [prepared] = entries(world, "opendata.release_prepared")
    assert prepared["release_id"] == rid and prepared["k"] == rep["k"] and prepared["sha256"] == r.sha256
    [moved] = entries(world, "opendata.release_published")
    assert moved["from"] == "pending" and moved["to"] == "published"


def test_the_preparer_never_approves_nor_another_department(world):
    rid = prepare(world)
    with pytest.raises(Forbidden, match="prepared"):
        act(world, rid, "approve", world.steward)
    with pytest.raises(Forbidden):
        act(world, rid, "approve", world.other_steward)
    with pytest.raises(Forbidden):
        act(world, rid, "approve", world.analyst)
    assert row(world, rid).state == "pending"
    r = act(world, rid, "approve", world.admin)  # an admin of any department is a second person
    assert r.state == "published" and r.decided_by_id == world.admin.user_id


def test_only_a_steward_of_the_owning_department_prepares(world):
    for who in (world.other_steward, world.admin, world.analyst):
        with pytest.raises(Forbidden):
            prepare(world, who=who)


def test_rejected_release_is_never_served(world):
    rid = prepare(world)
    assert act(world, rid, "reject", world.steward2, "分段过细").state == "rejected"
    with pytest.raises(Conflict):
        act(world, rid, "approve", world.admin)
    with world.db.session() as s, pytest.raises(NotFound):
        published.release_table_path(s, world.settings, rid)
    assert entries(world, "opendata.release_rejected")[0]["reason"] == "分段过细"


def test_withdraw_takes_it_off_at_once_and_the_ledger_keeps_it(world):
    rid = prepare(world)
    act(world, rid, "approve", world.steward2)
    r = act(world, rid, "withdraw", world.steward, "发现可识别记录")
    assert r.state == "withdrawn" and r.withdraw_reason == "发现可识别记录"
    with world.db.session() as s:
        with pytest.raises(NotFound):
            published.release_table_path(s, world.settings, rid)
        with pytest.raises(NotFound):
            published.public_fields(s, rid)
        assert published.published_releases(s).total == 0
    with pytest.raises(Conflict):
        act(world, rid, "approve", world.admin)
    assert [e["release_id"] for e in entries(world, "opendata.release_withdrawn")] == [rid]
    assert len(entries(world, "opendata.release_published")) == 1
    assert prepare(world) != rid  # the version may be released again, under a new release


def test_a_version_has_one_live_release(world):
    prepare(world)
    refused_again = pytest.raises(Conflict, match="already has release")
    with refused_again:
        prepare(world)


def test_not_to_be_opened_datasets_never_get_a_release(world):
    with pytest.raises(Forbidden, match="no release"), world.db.transaction() as s:
        releases.prepare_release(s, world.settings, world.steward, "secret_registry", plan=plan())


def test_refused_when_a_direct_identifier_is_kept(world):
    refused(world, Forbidden, "name", "direct identifier", plan=plan(fields={"name": {"action": "keep"}}))
    refused(
        world,
        Forbidden,
        "id_number",
        "direct identifier",
        plan=plan(fields={"id_number": {"action": "keep"}}),
    )


def test_refused_when_the_plan_marks_a_kept_field_an_identifier(world):
    marked = {"benefit": {"action": "keep", "identifier": True}}
    refused(world, Forbidden, "benefit", "direct identifier", plan=plan(fields=marked))


def test_refused_when_a_field_graded_l3_or_above_is_kept(world):
    kept = {
        "birth_date": {"action": "keep"},
        "region_code": {"action": "qi", "hierarchy": {"kind": "regions"}},
    }
    refused(world, Forbidden, "birth_date", "L3", plan=plan(fields=kept))


def test_refused_when_k_cannot_be_reached(world):
    refused(world, Conflict, "k=500", plan=plan(k=500, suppression=0.0))


def test_refused_when_l_cannot_be_reached(world):
    # benefit takes four values: no class can hold five
    refused(world, Conflict, "l=5", plan=plan(sensitive=["benefit"], l=5, k=5))


def test_k_and_l_are_taken_from_the_written_file_not_the_algorithm(world, monkeypatch):
    """An algorithm that claims k while releasing every row as it came is caught by the file's check."""

    def claims(table: pa.Table, disclosure_plan) -> Built:
        report = Report("full-domain", 99, None, table.num_rows, 0, 1, 0.0, 0.0, {}, {})
        return Built(table.select([c for c in table.column_names]), None, report)

    monkeypatch.setitem(releases.ALGORITHMS, "full-domain", claims)
    refused(world, Conflict, "k=1", "asked 5")


def test_refused_when_the_fields_changed_since_the_plan(world):
    refused(world, Conflict, "new benefit", plan=plan(fields={"benefit": None}))
    gone = plan(fields={"religion": {"action": "drop"}})
    refused(world, Conflict, "gone religion", plan=gone)


def test_a_new_version_reuses_the_last_plan(world):
    first = prepare(world)
    act(world, first, "approve", world.steward2)
    assert add_version(world.db, world.settings, "population", population(seed=9)) == 2
    rid = prepare(world, plan=None, reuse_plan=True)
    r = row(world, rid)
    assert r.version_number == 2 and r.reused_from_id == first and r.plan == row(world, first).plan
    act(world, rid, "approve", world.admin)
    with world.db.session() as s:
        latest = published.published_releases(s)
        history = published.published_releases(s, latest_only=False)
    assert [i["version"] for i in latest.items] == [2]
    assert [i["version"] for i in history.items] == [2, 1]
    # A version with a field the plan never saw cannot reuse it.
    extra = population(seed=11, extra={"religion": ["无"] * 240})
    add_version(world.db, world.settings, "population", extra)
    refused_reuse = pytest.raises(Conflict, match="new religion")
    with refused_reuse:
        prepare(world, plan=None, reuse_plan=True)


def test_reuse_needs_an_earlier_plan(world):
    with pytest.raises(NotFound, match="no earlier release"):
        prepare(world, plan=None, reuse_plan=True)


def test_mondrian_release_and_masks(world):
    mondrian = plan(
        algorithm="mondrian",
        fields={
            "name": {"action": "mask", "mask": "keep_first:1"},
            "id_number": {"action": "mask", "mask": "hash"},
            "income": {"action": "qi", "hierarchy": {"kind": "cut"}},
        },
    )
    rid = prepare(world, plan=mondrian)
    r = row(world, rid)
    released = pq.read_table(world.settings.data_dir / r.path)
    assert all(len(v) == 2 and v.endswith("*") for v in released.column("name").to_pylist())
    digests = released.column("id_number").to_pylist()
    assert len(set(digests)) == 240 and all(len(d) == 64 for d in digests)
    assert r.report["method"] == "mondrian" and r.report["suppressed"] == 0 and r.report["k"] >= 5
    assert "ranges" in r.report["generalisation"]["income"]


def test_plan_errors_name_where(world):
    from shuzhi.errors import InvalidInput

    with pytest.raises(InvalidInput) as caught:
        PlanIn.of(plan(fields={"name": {"action": "mask", "mask": "rot13"}}))
    assert caught.value.where == "plan.fields.name"
    with pytest.raises(InvalidInput) as caught:
        PlanIn.of(plan(fields={"gender": {"action": "qi"}}))
    assert caught.value.where == "plan.fields.gender"


def test_a_dataset_closed_after_publishing_is_no_longer_served(world):
    from shuzhi.catalog.schemas import DatasetPatch
    from shuzhi.catalog.service import get_dataset, update_dataset

    rid = prepare(world)
    act(world, rid, "approve", world.steward2)
    with world.db.transaction() as s:
        patch = DatasetPatch(open_type="none", open_basis="《依据》")
        update_dataset(s, world.steward, get_dataset(s, "population"), patch)
    with world.db.session() as s:
        assert published.published_releases(s).total == 0
        with pytest.raises(NotFound):
            published.release_table_path(s, world.settings, rid)


def test_release_states_reconcile_with_the_ledger(world):
    from shuzhi.ledger.reconcile import reconcile
    from shuzhi.opendata.state import SOURCE

    first = prepare(world)
    act(world, first, "approve", world.steward2)
    act(world, first, "withdraw", world.steward)
    second = prepare(world)
    with world.db.session() as s:
        assert reconcile(s, [SOURCE])[1] == []
    with world.db.transaction() as s:
        s.get(Release, second).state = "published"  # published behind the workflow's back
    with world.db.session() as s:
        [difference] = reconcile(s, [SOURCE])[1]
    assert difference.table == "opendata_releases" and difference.key == {"id": second}
    assert "state" in difference.columns


BLOCKING = [{"kind": "enum", "field": "benefit", "values": ["无"], "name": "救助类别", "blocking": True}]


def _quality_run(world) -> int:
    from shuzhi.quality import service as quality

    with world.db.write() as s:
        quality.save_rules(s, world.steward, "population", BLOCKING)
    return quality.run(world.db, world.settings, world.steward, "population")


def _override(world, number: int = 1) -> None:
    from shuzhi.quality import service as quality

    with world.db.write() as s:
        quality.override_block(s, world.steward, "population", number, "救助类别为历史编码，已核实")


def test_a_version_held_by_a_blocking_quality_rule_is_not_released_until_overridden(world):
    run_id = _quality_run(world)
    with pytest.raises(Conflict) as e:
        prepare(world, plan=plan())
    assert "held back" in str(e.value) and "救助类别" in str(e.value) and f"run {run_id}" in str(e.value)
    assert "quality override" in str(e.value) and e.value.detail["run_id"] == run_id
    assert not entries(world, "opendata.release_prepared")
    _override(world)
    rid = prepare(world, plan=plan())
    assert row(world, rid).state == "pending"


def test_a_release_whose_version_was_blocked_after_preparing_is_not_approved(world):
    rid = prepare(world, plan=plan())
    _quality_run(world)  # a run after preparing blocks the version
    with pytest.raises(Conflict) as e:
        act(world, rid, "approve", world.steward2)
    assert "救助类别" in str(e.value)
    assert row(world, rid).state == "pending" and not entries(world, "opendata.release_published")
    _override(world)
    assert act(world, rid, "approve", world.steward2).state == "published"


def test_a_release_file_is_written_in_row_groups_the_datastore_pages_through(tmp_path):
    # a keyset page reads the row groups holding its rows: a million-row group made every page decode a million
    n = releases.RELEASE_ROW_GROUP + 10
    table = pa.table({"g": ["a"] * n, "v": list(range(n))})
    plan = PlanIn.of({"fields": {"g": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["a", "*"]]}},
                                 "v": {"action": "keep"}}, "k": 2})  # fmt: skip
    checked, digest, size = releases.write_checked(table, plan, tmp_path / "r.parquet")
    meta = pq.ParquetFile(tmp_path / "r.parquet").metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [
        releases.RELEASE_ROW_GROUP,
        10,
    ]
    assert checked["k"] == n and len(digest) == 64 and size == (tmp_path / "r.parquet").stat().st_size


def test_a_release_file_keeps_no_minimum_or_maximum_of_floating_point_columns(tmp_path):
    # NaN is left out of them, and the datastore's DuckDB answered `x < 1e9` and `isnan(x)` from them
    table = pa.table({"g": ["a"] * 4, "x": [1.0, 2.0, float("nan"), 3.0], "v": [1, 2, 3, 4]})
    plan = PlanIn.of({"fields": {"g": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["a", "*"]]}},
                                 "x": {"action": "keep"}, "v": {"action": "keep"}}, "k": 2})  # fmt: skip
    releases.write_checked(table, plan, tmp_path / "r.parquet")
    assert not float_statistics(tmp_path / "r.parquet")
    assert pq.ParquetFile(tmp_path / "r.parquet").metadata.row_group(0).column(2).is_stats_set
