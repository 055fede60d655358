"""Drive Debian's Chromium through Playwright: log in, search in Chinese, open a dataset."""

import os
import socket
import threading
import time

import pytest
from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(sqlite_settings, sqlite_db, tmp_path):
    import uvicorn

    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.orgs import service as orgs
    from shuzhi.web.app import create_app

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="SCJG", name_zh="市市场监督管理局", name_en="Market Regulation")
        orgs.create_user(s, username="analyst", password=PASSWORD, department_code="SCJG", roles=["analyst"],
                         display_name="王分析")
        steward = orgs.create_user(s, username="steward", password=PASSWORD, department_code="SCJG",
                                   roles=["steward"])
        p = orgs.Principal.of(steward)
        for ident, title, theme in [("SCJG-001", "企业营业执照登记信息", "market"),
                                    ("SCJG-002", "食品经营许可信息", "market")]:
            create_dataset(s, p, DatasetIn(identifier=ident, title_zh=title, department="SCJG", theme=theme,
                                           fields=[{"name": "qymc", "description": "企业名称"}]))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(sqlite_settings, db=sqlite_db), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(5)


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu", "--disable-component-update"],
        )
        context = browser.new_context(locale="zh-CN")
        pg = context.new_page()
        yield pg
        browser.close()


def test_login_search_open_dataset(live_server, page, tmp_path):
    page.goto(live_server + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/catalog")
    assert "王分析" in page.inner_text("header")
    page.fill("input[name=q]", "营业执照")
    page.click("form.search button")
    page.wait_for_selector("#result-count")
    assert "共 1 个数据集" in page.inner_text("#result-count")
    page.click("text=企业营业执照登记信息")
    page.wait_for_selector("#dataset-title")
    assert page.inner_text("#dataset-title") == "企业营业执照登记信息"
    assert "企业名称" in page.inner_text("#fields")
    page.screenshot(path=str(tmp_path / "dataset.png"), full_page=True)
    page.click("text=English")
    page.wait_for_selector("text=Fields")
