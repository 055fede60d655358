"""The entry page's in-browser proof check, in Debian's Chromium: a real proof passes, a forged one fails."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from tests.conftest import PASSWORD

from shuzhi.ledger import append

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed"),
]


@pytest.fixture
def server(sqlite_settings, sqlite_db):
    import uvicorn

    from shuzhi.orgs import service as orgs
    from shuzhi.web.app import create_app

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="SJJ", name_zh="市审计局")
        orgs.create_user(s, username="auditor", password=PASSWORD, department_code="SJJ", roles=["auditor"])
        for i in range(6):
            append(s, "data.read", user_id=1, dataset_id=i, detail={"列": "身份证号", "i": i})
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(sqlite_settings, db=sqlite_db), host="127.0.0.1", port=port, log_level="warning"
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(5)


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser.new_context(locale="zh-CN").new_page()
        browser.close()


def _login(page, base):
    page.goto(base + "/login?next=/audit")
    page.fill("input[name=username]", "auditor")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/audit")


def _check(page) -> tuple[str, str]:
    page.click("#verify-btn")
    page.wait_for_function("document.getElementById('verify-out').dataset.ok !== undefined")
    out = page.locator("#verify-out")
    return out.get_attribute("data-ok"), out.inner_text()


def test_browser_verifies_a_real_proof(server, browser_page):
    _login(browser_page, server)
    assert browser_page.locator("#audit-entries tbody tr").count() >= 6
    browser_page.goto(server + "/audit/entries/4")
    ok, text = _check(browser_page)
    assert ok == "true", text
    assert "✗" not in text and text.count("✓") == 3, text  # leaf, path and Ed25519 signature


def test_browser_rejects_a_forged_entry(server, browser_page):
    _login(browser_page, server)

    def forge(route):
        response = route.fetch()
        body = response.text().replace("\\u8eab\\u4efd\\u8bc1\\u53f7", "\\u59d3\\u540d")  # 身份证号 -> 姓名
        body = body.replace("身份证号", "姓名")
        route.fulfill(response=response, body=body)

    browser_page.route("**/audit/entries/4", forge)
    browser_page.goto(server + "/audit/entries/4")
    ok, text = _check(browser_page)
    assert ok == "false" and "✗" in text
