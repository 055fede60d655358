"""Resolving a grading alert: one ledger entry per resolve, the API's note, and `shuzhi grade resolve`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.classify.conftest import csv_of
from tests.classify.test_service import DIAG, NAMES
from typer.testing import CliRunner

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.alerts import resolve_alert
from shuzhi.classify.readmodel import classification
from shuzhi.errors import Conflict, Forbidden
from shuzhi.ledger.models import LedgerEntry

runner = CliRunner()


@pytest.fixture
def alerts(dataset, load) -> dict[str, dict]:
    """The open alerts by kind: a new diagnosis column raised the grade from L3 to L4."""
    load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30}))
    info = load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30, "zdmc": DIAG * 5}))
    by_kind = {a["kind"]: a for a in info["alerts"]}
    assert set(by_kind) == {"sensitive_column_added", "grade_raised"}
    return by_kind


def resolved_entries(db) -> list[tuple[LedgerEntry, dict]]:
    with db.session() as s:
        rows = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "grade.alert_resolved").order_by(LedgerEntry.seq)
        ).all()
        return [(e, json.loads(e.entry)["detail"]) for e in rows]


def open_alert_ids(db, settings, dataset) -> set[int]:
    with db.session() as s:
        return {a["id"] for a in classification(s, settings, get_dataset(s, dataset))["alerts"]}


def test_resolve_writes_one_ledger_entry_and_refuses_a_second(db, settings, dataset, alerts, steward):
    target = alerts["sensitive_column_added"]
    with db.transaction() as s:
        resolve_alert(s, steward, get_dataset(s, dataset), target["id"], note="  已核实为真实诊断  ")
    ((entry, detail),) = resolved_entries(db)
    with db.session() as s:
        ds = get_dataset(s, dataset)
        assert (entry.user_id, entry.department_id, entry.dataset_id) == (
            steward.user_id,
            ds.department_id,
            ds.id,
        )
    assert entry.outcome == "ok"
    assert detail == {"alert_id": target["id"], "kind": "sensitive_column_added", "field": "zdmc",
                      "note": "已核实为真实诊断"}  # fmt: skip
    assert open_alert_ids(db, settings, dataset) == {alerts["grade_raised"]["id"]}
    with pytest.raises(Conflict, match="已处理"), db.transaction() as s:
        resolve_alert(s, steward, get_dataset(s, dataset), target["id"])
    assert len(resolved_entries(db)) == 1


def test_refused_resolve_writes_nothing(db, settings, dataset, alerts, make_user):
    other = make_user("ga.steward", dept="GA", roles=("steward",))
    with pytest.raises(Forbidden), db.transaction() as s:
        resolve_alert(s, other, get_dataset(s, dataset), alerts["grade_raised"]["id"])
    assert resolved_entries(db) == []
    assert len(open_alert_ids(db, settings, dataset)) == 2


def test_api_resolve_with_and_without_note(client, db, dataset, alerts, steward, token_for):
    headers = token_for("wjw.steward")
    url = f"/api/v1/datasets/{dataset}/classification/alerts/{{}}/resolve"
    first, second = alerts["sensitive_column_added"]["id"], alerts["grade_raised"]["id"]
    r = client.post(url.format(first), json={"note": "已登记"}, headers=headers)
    assert r.status_code == 200 and r.json() == {"id": first, "resolved": True}, r.text
    r = client.post(url.format(second), headers=headers)  # the body is optional
    assert r.status_code == 200, r.text
    r = client.post(url.format(first), headers=headers)
    assert r.status_code == 409 and "已处理" in r.json()["message"]
    assert [(d["alert_id"], d.get("note")) for _, d in resolved_entries(db)] == [
        (first, "已登记"),
        (second, None),
    ]


def _cli(*args: str):
    from shuzhi.cli import app

    r = runner.invoke(app, ["grade", *args])
    return r.exit_code, " ".join(r.output.split())


def test_cli_resolve(cli_env, db, settings, dataset, alerts, steward, make_user):
    make_user("ga.steward", dept="GA", roles=("steward",))
    first, second = alerts["sensitive_column_added"]["id"], alerts["grade_raised"]["id"]
    code, out = _cli("show", dataset)
    assert code == 0 and f"#{first}" in out and f"shuzhi grade resolve {dataset}" in out

    code, out = _cli("resolve", dataset, str(first), "--as", "ga.steward")
    assert code == 2 and "只有数据提供部门的数据管理员" in out, out
    code, out = _cli("resolve", dataset, str(first), "--as", "no.body")
    assert code == 2 and "用户不存在" in out, out
    code, out = _cli("resolve", dataset, "999999", "--as", "wjw.steward")
    assert code == 2 and "提醒不存在" in out, out
    assert resolved_entries(db) == [] and open_alert_ids(db, settings, dataset) == {first, second}

    code, out = _cli("resolve", dataset, str(first), "--note", "已核实", "--as", "wjw.steward")
    assert code == 0 and f"#{first} 已处理" in out, out
    code, out = _cli("resolve", dataset, str(first), "--as", "wjw.steward")
    assert code == 2 and "已处理" in out and "already resolved" in out, out
    code, out = _cli("resolve", dataset, str(second))  # the console operator acts as platform admin
    assert code == 0, out
    assert open_alert_ids(db, settings, dataset) == set()
    assert [(e.user_id, d["alert_id"], d.get("note")) for e, d in resolved_entries(db)] == [
        (steward.user_id, first, "已核实"),
        (None, second, None),
    ]


def test_page_marks_alerts_with_a_word_not_an_emoji(client, dataset, alerts, steward):
    from tests.classify.test_alert_pages import login

    login(client, "wjw.steward")
    page = client.get(f"/datasets/{dataset}").text
    for a in alerts.values():
        assert f'id="alert-{a["id"]}"><span class="marker marker-alert">告警</span>' in page
    assert "\U0001f514" not in page  # the bell, which CJK-only fonts draw as an empty box
