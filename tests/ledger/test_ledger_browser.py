"""The entry page's in-browser proof check, in Debian's Chromium: a real proof passes, a forged one fails."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login
from tests.ledger import events as ev

from shuzhi.ledger import append

pytestmark = BROWSER


@pytest.fixture
def server(sqlite_db, live_server):
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="SJJ", name_zh="市审计局")
        orgs.create_user(s, username="auditor", password=PASSWORD, department_code="SJJ", roles=["auditor"])
        for i in range(6):
            append(s, ev.Read(列="身份证号", i=i), user_id=1, dataset_id=i)
    return live_server


def _check(page) -> tuple[str, str]:
    page.click("#verify-btn")
    page.wait_for_function("document.getElementById('verify-out').dataset.ok !== undefined")
    out = page.locator("#verify-out")
    return out.get_attribute("data-ok"), out.inner_text()


def test_browser_verifies_a_real_proof(server, page):
    browser_login(page, server, "auditor", "/audit")
    assert page.locator("#audit-entries tbody tr").count() >= 6
    page.goto(server + "/audit/entries/4")
    ok, text = _check(page)
    assert ok == "true", text
    assert "✘" not in text and text.count("✓") == 3, text  # leaf, path and Ed25519 signature


def test_browser_rejects_a_forged_entry(server, page):
    browser_login(page, server, "auditor", "/audit")

    def forge(route):
        response = route.fetch()
        body = response.text().replace("\\u8eab\\u4efd\\u8bc1\\u53f7", "\\u59d3\\u540d")  # 身份证号 -> 姓名
        body = body.replace("身份证号", "姓名")
        route.fulfill(response=response, body=body)

    page.route("**/audit/entries/4", forge)
    page.goto(server + "/audit/entries/4")
    ok, text = _check(page)
    assert ok == "false" and "✘" in text
