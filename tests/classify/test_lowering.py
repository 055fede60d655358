"""Lowering a grade below what grading derived needs a second person: the reviewer's change waits as
a request, the higher level holds, an admin other than the requester approves (applied then) or
rejects (with a note); raising or confirming applies at once; every step is in the ledger."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from tests.classify.conftest import IDS, csv_of
from tests.conftest import csrf_of, login
from typer.testing import CliRunner

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.models import LoweringRequest
from shuzhi.classify.readmodel import classification
from shuzhi.classify.review import approve_lowering, reject_lowering, review_column, review_grade
from shuzhi.cli import app as cli_app
from shuzhi.cli.common import system_principal
from shuzhi.errors import Conflict, Forbidden, InvalidInput
from shuzhi.ledger.models import LedgerEntry

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
DATA = csv_of({"sfzh": IDS * 5, "xm": NAMES * 5, "beizhu": ["复诊"] * 30})


def _info(db, settings, ref) -> dict:
    with db.read() as s:
        return classification(s, settings, get_dataset(s, ref))


def _events(db, prefix: str) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event.like(prefix + "%")).order_by(LedgerEntry.seq)
        )
        return [{"event": e.event, "user_id": e.user_id, **json.loads(e.entry)["detail"]} for e in rows]


@pytest.fixture
def graded(db, settings, dataset, load):
    info = load(dataset, DATA)
    assert info["level"] == "L4" and {c["field"]: c["level"] for c in info["columns"]}["sfzh"] == "L4"
    return dataset


def test_a_steward_lowering_the_dataset_waits_and_the_higher_grade_holds(db, settings, graded, steward):
    with db.write() as s:
        asked = review_grade(
            s, settings, steward, get_dataset(s, graded), action="override", level="L2", reason="测试下调"
        )
    assert isinstance(asked, LoweringRequest) and asked.state == "pending"
    info = _info(db, settings, graded)
    assert info["level"] == "L4" and info["status"] != "overridden"
    [pending] = info["pending_lowerings"]
    assert (pending["current_level"], pending["level"], pending["derived_level"]) == ("L4", "L2", "L4")
    assert pending["evidence"]["column_levels"]["sfzh"] == "L4"  # the approver sees why it was L4
    with db.read() as s:
        assert get_dataset(s, graded).security_grade == "L4"
    [event] = _events(db, "grade.lowering")
    assert (event["event"], event["from"], event["to"], event["reason"]) == (
        "grade.lowering_requested",
        "L4",
        "L2",
        "测试下调",
    )


def test_lowering_a_column_waits_with_its_evidence(db, settings, graded, steward):
    with db.write() as s:
        asked = review_column(
            s,
            settings,
            steward,
            get_dataset(s, graded),
            "sfzh",
            action="override",
            category="none",
            reason="x",
        )
    assert isinstance(asked, LoweringRequest) and asked.field_name == "sfzh"
    info = _info(db, settings, graded)
    assert {c["field"]: c["level"] for c in info["columns"]}["sfzh"] == "L4" and info["level"] == "L4"
    evidence = info["pending_lowerings"][0]["evidence"]
    assert evidence["detected_category"] == "resident_id" and evidence["confidence"] > 0.9


def test_only_another_named_admin_may_decide(db, settings, graded, steward, make_user, second_admin):
    requester_admin = make_user("root", dept="BDB", roles=("admin",))
    with db.write() as s:
        by_steward = review_grade(
            s, settings, steward, get_dataset(s, graded), action="override", level="L2", reason="a"
        )
        by_admin = review_grade(
            s, settings, requester_admin, get_dataset(s, graded), action="override", level="L3", reason="b"
        )
    assert isinstance(by_admin, LoweringRequest)  # an admin's own lowering waits too
    for who, request_id in (
        (steward, by_admin.id),  # not an admin
        (requester_admin, by_admin.id),  # the one who asked
        (system_principal(), by_admin.id),  # the console operator is nobody in particular
    ):
        with db.write() as s, pytest.raises(Forbidden):
            approve_lowering(s, settings, who, request_id)
    with db.write() as s:
        # the later request on the dataset grade superseded the earlier one
        assert s.get(LoweringRequest, by_steward.id).state == "superseded"
        approve_lowering(s, settings, second_admin, by_admin.id, note="核实")
    info = _info(db, settings, graded)
    assert (info["level"], info["status"], info["pending_lowerings"]) == ("L3", "overridden", [])
    decided = _events(db, "grade.lowering_decided")[-1]
    assert decided["decision"] == "approved" and decided["user_id"] == second_admin.user_id
    assert _events(db, "grade.overridden")[-1]["dataset_level"] == "L3"
    with db.write() as s, pytest.raises(Conflict):
        approve_lowering(s, settings, second_admin, by_admin.id)  # decided already


def test_a_rejection_needs_a_note_and_keeps_the_higher_grade(db, settings, graded, steward, second_admin):
    with db.write() as s:
        asked = review_grade(
            s, settings, steward, get_dataset(s, graded), action="override", level="L1", reason="x"
        )
    with db.write() as s, pytest.raises(InvalidInput):
        reject_lowering(s, second_admin, asked.id, note=" ")
    with db.write() as s:
        reject_lowering(s, second_admin, asked.id, note="身份证号列仍为真实号码")
    info = _info(db, settings, graded)
    assert info["level"] == "L4" and info["pending_lowerings"] == []
    assert _events(db, "grade.lowering_decided")[-1]["decision"] == "rejected"
    assert [e for e in _events(db, "grade.overridden")] == []


def test_raising_or_confirming_applies_at_once(db, settings, graded, steward):
    with db.write() as s:
        ds = get_dataset(s, graded)
        raised = review_column(
            s, settings, steward, ds, "beizhu", action="override", category="resident_id", reason="r"
        )
        confirmed = review_grade(s, settings, steward, ds, action="confirm", reason="ok")
    assert not isinstance(raised, LoweringRequest) and raised.level == "L4"
    assert not isinstance(confirmed, LoweringRequest) and confirmed.level == "L4"
    assert _events(db, "grade.lowering") == []


def test_api_answers_202_and_admins_decide(
    client, db, settings, graded, steward, second_admin, make_user, token_for
):
    make_user("wjw.analyst", dept="WJW", roles=("analyst",))
    r = client.post(
        f"/api/v1/datasets/{graded}/classification/grade",
        json={"action": "override", "level": "L2", "reason": "测试下调"},
        headers=token_for("wjw.steward"),
    )
    assert r.status_code == 202, r.text
    assert r.json()["level"] == "L4" and r.json()["pending_lowering"]["level"] == "L2"
    request_id = r.json()["pending_lowering"]["id"]
    assert client.get("/api/v1/classification/lowerings", headers=token_for("wjw.analyst")).status_code == 403
    listed = client.get("/api/v1/classification/lowerings", headers=token_for("bdb.admin")).json()
    assert [x["id"] for x in listed["lowerings"]] == [request_id]
    url = f"/api/v1/classification/lowerings/{request_id}"
    assert client.post(url + "/approve", json={}, headers=token_for("wjw.steward")).status_code == 403
    assert client.post(url + "/reject", json={}, headers=token_for("bdb.admin")).status_code == 422
    ok = client.post(url + "/approve", json={"note": "ok"}, headers=token_for("bdb.admin"))
    assert ok.status_code == 200 and ok.json()["state"] == "approved"
    assert _info(db, settings, graded)["level"] == "L2"


def test_the_page_shows_the_request_and_an_admin_approves_it(
    client, db, settings, graded, steward, second_admin
):
    login(client, "wjw.steward", next=f"/datasets/{graded}")
    page = client.get(f"/datasets/{graded}")
    form = {
        "csrf_token": csrf_of(page.text),
        "action": "override",
        "level": "L2",
        "data_class": "一般",
        "reason": "测试下调",
    }
    assert (
        client.post(f"/datasets/{graded}/classification/grade", data=form, follow_redirects=False).status_code
        == 303
    )
    html = client.get(f"/datasets/{graded}").text
    assert 'id="lowering-' in html and "测试下调" in html and 'id="grade-level">L4<' in html
    assert "/approve" not in html  # the steward cannot decide
    login(client, "bdb.admin", next=f"/datasets/{graded}")
    html = client.get(f"/datasets/{graded}").text
    [request_id] = [int(x) for x in re.findall(r'id="lowering-(\d+)"', html)]
    done = client.post(
        f"/classification/lowerings/{request_id}/approve",
        data={"csrf_token": csrf_of(html), "note": "核实"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    zh = client.get(f"/datasets/{graded}?lang=zh").text
    assert 'id="grade-level">L2<' in zh
    # statuses and reasons in words of the page's language, not codes or both languages at once
    assert "状态: 已改定" in zh and "overridden" not in zh and "no detector reached" not in zh
    en = client.get(f"/datasets/{graded}?lang=en").text
    assert "status: overridden" in en and "没有检测器" not in en


def test_the_cli_asks_and_an_admin_approves(db, settings, graded, cli_env, second_admin, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    asked = CliRunner().invoke(cli_app, ["grade", "set", graded, "--level", "L2", "-r", "测试下调"])
    assert asked.exit_code == 0, asked.output
    assert "awaiting approval" in asked.output and _info(db, settings, graded)["level"] == "L4"
    import getpass

    # asked at the console: the request names the operating-system account, not just "system"
    assert (
        _info(db, settings, graded)["pending_lowerings"][0]["requested_by"]
        == f"system (cli: {getpass.getuser()})"
    )
    listed = CliRunner().invoke(cli_app, ["grade", "lowerings"])
    assert graded in listed.output and "L4 → L2" in listed.output
    request_id = _info(db, settings, graded)["pending_lowerings"][0]["id"]
    done = CliRunner().invoke(cli_app, ["grade", "approve", str(request_id), "--as", "bdb.admin"])
    assert done.exit_code == 0, done.output
    assert _info(db, settings, graded)["level"] == "L2"


def test_a_data_class_is_judged_like_a_level(db, settings, graded, steward):
    from shuzhi.classify.lowering import lowers
    from shuzhi.classify.rules import load_rules

    rules = load_rules(settings)
    same = {"level": "L4", "derived": "L4", "current": "L4"}
    assert lowers(rules, **same, data_class="一般", derived_class="重要", current_class="重要")
    # raised earlier above what was derived: going back to (or staying above) the derived class is
    # not a lowering below grading
    assert not lowers(rules, **same, data_class="重要", derived_class="一般", current_class="核心")
    assert not lowers(rules, **same, data_class="一般", derived_class="一般", current_class="核心")
    with db.write() as s:
        raised = review_grade(
            s, settings, steward, get_dataset(s, graded), action="override", data_class="核心", reason="y"
        )
    assert not isinstance(raised, LoweringRequest) and raised.data_class == "核心"


def test_refused_grading_forms_come_back_beside_the_form_with_what_was_entered(
    client, db, settings, graded, steward, second_admin
):
    login(client, "wjw.steward", next=f"/datasets/{graded}")
    page = client.get(f"/datasets/{graded}?lang=en")
    before = _events(db, "grade.")
    form = {"csrf_token": csrf_of(page.text), "action": "override", "level": "L2", "data_class": "一般"}
    refused = client.post(f"/datasets/{graded}/classification/grade", data={**form, "reason": "  "})
    assert refused.status_code == 422 and "text/html" in refused.headers["content-type"]
    html = refused.text
    assert re.search(
        r'class="error" role="alert" data-form="grade" data-where="reason">a review needs a reason', html
    )
    grade_form = html[html.index('id="grade-form"') : html.index("</form>", html.index('id="grade-form"'))]
    assert (
        '<option value="override" selected>' in grade_form and '<option value="L2" selected>' in grade_form
    ), grade_form
    assert _events(db, "grade.") == before and _info(db, settings, graded)["pending_lowerings"] == []

    field_form = {"csrf_token": csrf_of(page.text), "action": "override", "category": "general", "reason": ""}
    refused = client.post(f"/datasets/{graded}/classification/columns/sfzh", data=field_form)
    assert refused.status_code == 422 and 'data-form="column-sfzh"' in refused.text

    asked = client.post(f"/datasets/{graded}/classification/grade", data={**form, "reason": "测试下调"})
    assert asked.status_code == 200 and "an admin of the data bureau must approve it" in asked.text
    login(client, "bdb.admin", next=f"/datasets/{graded}")
    html = client.get(f"/datasets/{graded}?lang=en").text
    [request_id] = [int(x) for x in re.findall(r'id="lowering-(\d+)"', html)]
    refused = client.post(
        f"/classification/lowerings/{request_id}/reject", data={"csrf_token": csrf_of(html), "note": ""}
    )
    assert refused.status_code == 422 and f'data-form="lowering-{request_id}"' in refused.text
    assert _info(db, settings, graded)["pending_lowerings"][0]["id"] == request_id  # still waiting
    done = client.post(
        f"/classification/lowerings/{request_id}/reject",
        data={"csrf_token": csrf_of(html), "note": "证据不足"},
    )
    assert done.status_code == 200 and "Lowering rejected" in done.text
