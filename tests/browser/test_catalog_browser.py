"""Drive Debian's Chromium through Playwright: log in, search in Chinese, open a dataset."""

import pytest
from tests.conftest import BROWSER, PASSWORD

pytestmark = BROWSER


@pytest.fixture
def catalog(sqlite_db):
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="SCJG", name_zh="市市场监督管理局", name_en="Market Regulation")
        orgs.create_user(
            s,
            username="analyst",
            password=PASSWORD,
            department_code="SCJG",
            roles=["analyst"],
            display_name="王分析",
        )
        steward = orgs.create_user(
            s, username="steward", password=PASSWORD, department_code="SCJG", roles=["steward"]
        )
        p = orgs.Principal.of(steward)
        for ident, title, theme in [
            ("SCJG-001", "企业营业执照登记信息", "market"),
            ("SCJG-002", "食品经营许可信息", "market"),
        ]:
            create_dataset(
                s,
                p,
                DatasetIn(
                    identifier=ident,
                    title_zh=title,
                    department="SCJG",
                    theme=theme,
                    fields=[{"name": "qymc", "description": "企业名称"}],
                ),
            )


def test_login_search_open_dataset(catalog, live_server, page, tmp_path):
    page.goto(live_server + "/")
    assert "/login" in page.url
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(live_server + "/")  # the home page: the analyst's tasks
    assert "王分析" in page.inner_text("header")
    page.click("header nav a[href='/catalog']")
    page.wait_for_url("**/catalog")
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
