"""The grading section in Debian's Chromium: a steward's column review (a lowering, approved by an
admin on the same page) and alert resolution; others are refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.classify.conftest import csv_of
from tests.conftest import BROWSER, PASSWORD, browser_login

pytestmark = BROWSER

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
DIAG = ["高血压", "2型糖尿病", "肺炎", "冠心病", "抑郁症", "胃炎"]
REF = "WJW-JZ-001"


@pytest.fixture
def server(sqlite_db, sqlite_settings, live_server, tmp_path):
    """Health commission's clinic visits: v1 names and notes, v2 adds diagnoses (L4, two open alerts)."""
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset, get_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="WJW", name_zh="市卫生健康委员会")
        orgs.create_department(s, code="GA", name_zh="市公安局")
        steward = orgs.create_user(
            s, username="wjw.steward", password=PASSWORD, department_code="WJW", roles=["steward"]
        )
        orgs.create_user(
            s, username="wjw.analyst", password=PASSWORD, department_code="WJW", roles=["analyst"]
        )
        orgs.create_user(s, username="ga.steward", password=PASSWORD, department_code="GA", roles=["steward"])
        orgs.create_department(s, code="BDB", name_zh="市大数据管理局")
        orgs.create_user(s, username="bdb.admin", password=PASSWORD, department_code="BDB", roles=["admin"])
        create_dataset(
            s,
            orgs.Principal.of(steward),
            DatasetIn(identifier=REF, title_zh="门诊就诊记录", department="WJW", theme="health"),
        )
    notes = ["无异常", "复诊", "常规", "随访", "正常", "良好"] * 5
    versions = [
        csv_of({"xm": NAMES * 5, "beizhu": notes}),
        csv_of({"xm": NAMES * 5, "beizhu": notes, "zdmc": DIAG * 5}),
    ]
    for i, text in enumerate(versions, 1):
        path = tmp_path / f"v{i}.csv"
        path.write_text(text, encoding="utf-8")
        with sqlite_db.transaction() as s:
            ingest_source(s, sqlite_settings, get_dataset(s, REF), path, user_id=None)
    return live_server


def _row(page, field: str):
    return page.locator(f"#classification tr[data-field={field}]")


def _grade_cell(page, field: str) -> str:
    return _row(page, field).locator("td").nth(2).inner_text()


def _classification(db, settings) -> dict:
    from shuzhi.catalog.service import get_dataset
    from shuzhi.classify.readmodel import classification

    with db.session() as s:
        return classification(s, settings, get_dataset(s, REF))


def _post_as_page(page, base: str, path: str, form: dict):
    """POST from the logged-in browser with the session's CSRF token, as a crafted form would."""
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    return page.request.post(
        base + path, form={"csrf_token": token, **form}, headers={"Accept": "text/html"}, max_redirects=0
    )


def test_steward_overrides_a_column_grade_with_a_reason(server, sqlite_db, sqlite_settings, page, tmp_path):
    from shuzhi.ledger.models import LedgerEntry

    browser_login(page, server, "wjw.steward", f"/datasets/{REF}")
    assert page.inner_text("#grade-level") == "L4" and _grade_cell(page, "zdmc") == "L4"
    row = _row(page, "zdmc")
    row.locator("select[name=action]").select_option("override")
    row.locator("select[name=category]").select_option("none")
    row.locator("input[name=reason]").fill("诊断名称为测试虚构数据")
    row.locator("button[type=submit]").click()
    page.wait_for_url(f"**/datasets/{REF}#classification")

    # below what grading derived: it waits for a second person, and the higher grade holds
    notice = page.locator("#classification .lowering")
    assert notice.count() == 1 and "诊断名称为测试虚构数据" in notice.inner_text()
    assert "L4 → L1" in notice.inner_text() and notice.locator("form").count() == 0
    assert _grade_cell(page, "zdmc") == "L4" and page.inner_text("#grade-level") == "L4"
    page.screenshot(path=str(tmp_path / "lowering-asked.png"), full_page=True)

    page.context.clear_cookies()
    browser_login(page, server, "bdb.admin", f"/datasets/{REF}")
    notice = page.locator("#classification .lowering")
    assert "medical" in notice.inner_text()  # the approver sees what grading found
    page.screenshot(path=str(tmp_path / "lowering-approver.png"), full_page=True)
    notice.locator("input[name=note]").first.fill("已核实为虚构数据")
    notice.locator("button.primary").click()
    page.wait_for_url(f"**/datasets/{REF}#classification")

    assert _grade_cell(page, "zdmc") == "L1" and "(已改定)" in _row(page, "zdmc").inner_text()
    assert page.inner_text("#grade-level") == "L3"  # names now decide the dataset's grade
    assert page.locator("#classification .lowering").count() == 0
    info = _classification(sqlite_db, sqlite_settings)
    (override,) = info["overrides"]
    assert (override["field"], override["action"], override["category"]) == ("zdmc", "override", "none")
    assert override["reason"] == "诊断名称为测试虚构数据" and info["level"] == "L3"
    with sqlite_db.session() as s:
        (entry,) = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "grade.overridden")).all()
        detail = json.loads(entry.entry)["detail"]
        (decided,) = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "grade.lowering_decided")).all()
    assert (detail["field"], detail["from"], detail["to"], detail["reason"]) == (
        "zdmc",
        "medical",
        "none",
        "诊断名称为测试虚构数据",
    )
    assert json.loads(decided.entry)["detail"]["decision"] == "approved"


@pytest.mark.parametrize("username", ["wjw.analyst", "ga.steward"])
def test_others_see_no_review_form_and_are_refused(server, sqlite_db, sqlite_settings, page, username):
    browser_login(page, server, username, f"/datasets/{REF}")
    assert _grade_cell(page, "zdmc") == "L4"  # they see the grading…
    assert page.locator("#classification form").count() == 0  # …but no review or resolve form
    assert page.locator("#classification .alert").count() == 2
    r = _post_as_page(
        page,
        server,
        f"/datasets/{REF}/classification/columns/zdmc",
        {"action": "override", "category": "none", "reason": "试图降级"},
    )
    assert r.status == 403 and "只有数据提供部门的数据管理员" in r.text()
    alert_id = _classification(sqlite_db, sqlite_settings)["alerts"][0]["id"]
    r = _post_as_page(page, server, f"/datasets/{REF}/classification/alerts/{alert_id}/resolve", {})
    assert r.status == 403
    info = _classification(sqlite_db, sqlite_settings)
    assert info["overrides"] == [] and info["level"] == "L4" and len(info["alerts"]) == 2


def test_steward_resolves_an_alert_from_the_page(server, sqlite_db, sqlite_settings, page):
    alerts = _classification(sqlite_db, sqlite_settings)["alerts"]
    assert {a["kind"] for a in alerts} == {"sensitive_column_added", "grade_raised"}
    target = next(a for a in alerts if a["kind"] == "sensitive_column_added")
    browser_login(page, server, "wjw.steward", f"/datasets/{REF}")
    page.locator(f"#alert-{target['id']} button").click()
    page.wait_for_url(f"**/datasets/{REF}#classification")
    assert page.locator(f"#alert-{target['id']}").count() == 0
    assert [a.get_attribute("data-kind") for a in page.locator("#classification .alert").all()] == [
        "grade_raised"
    ]
    assert [a["id"] for a in _classification(sqlite_db, sqlite_settings)["alerts"]] == [
        a["id"] for a in alerts if a["id"] != target["id"]
    ]
