"""The main pages fit a phone (390 px) and a laptop (1366 px) in both languages: nothing widens the
page past the screen (a wide table scrolls inside its card)."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login

pytestmark = BROWSER

PAGES = {
    "ga.steward": [
        "/catalog?q=人口",
        "/datasets/GA-RK-001",
        "/datasets/GA-RK-001?reveal=1",
        "/departments",
        "/exchange/inbox",
    ],
    "bdb.auditor": ["/audit", "/audit?user=nobody", "/audit/tree-head", "/audit/public-key"],
    "rs.analyst": ["/datasets/GA-RK-001", "/exchange/grants", "/exchange"],
}


@pytest.fixture
def city(sqlite_db, sqlite_settings, live_server, tmp_path):
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset, get_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        for code, name in (("GA", "市公安局"), ("RS", "市人力资源和社会保障局"), ("BDB", "市大数据管理局")):
            orgs.create_department(s, code=code, name_zh=name, name_en=f"Bureau {code}")
        for user, dept, role in (
            ("ga.steward", "GA", "steward"),
            ("rs.analyst", "RS", "analyst"),
            ("bdb.auditor", "BDB", "auditor"),
        ):
            orgs.create_user(s, username=user, password=PASSWORD, department_code=dept, roles=[role])
        create_dataset(
            s,
            orgs.Principal.of(orgs.get_user(s, "ga.steward")),
            DatasetIn(
                identifier="GA-RK-001",
                title_zh="常住人口基本信息（含户籍地址、现住址与联系方式）",
                department="GA",
                theme="population",
            ),
        )
    src = tmp_path / "people.csv"
    rows = [
        f"11010119900307{i:03d}{'X' if i % 11 == 0 else i % 10},张{i}某,浙江省杭州市西湖区文三路{i}号某某小区{i}幢,1381234{i:04d}"
        for i in range(40)
    ]
    src.write_text("公民身份号码,姓名,现住址,联系电话\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sqlite_db.transaction() as s:
        ingest_source(s, sqlite_settings, get_dataset(s, "GA-RK-001"), src, user_id=None)
    return live_server


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_is_wider_than_the_screen(city, page, width, lang):
    page.set_viewport_size({"width": width, "height": 900})
    wide = []
    for user, paths in PAGES.items():
        page.context.clear_cookies()
        browser_login(page, city, user, "/catalog")
        for path in paths:
            page.goto(city + path + ("&" if "?" in path else "?") + f"lang={lang}")
            over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if over > 0:
                wide.append((user, path, over))
    assert wide == []
