"""The quality alert inbox and the department scorecard in Debian's Chromium: a version with half
the rows, blank names and a new column raises alerts by itself; the steward acknowledges one and
resolves the other; the admin reads the scorecard; both pages in Chinese and English, 1366 and 390 px."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, browser_login

pytestmark = BROWSER


@pytest.fixture
def alerted(city, sqlite_db, sqlite_settings, tmp_path):
    """GA-RK-001 v2: 20 rows instead of 40, 8 names blank, a new column (e-mail)."""
    from shuzhi.catalog.service import get_dataset
    from shuzhi.ingest import ingest_source

    src = tmp_path / "people2.csv"
    rows = [
        f"11010119900307{i:03d}{'X' if i % 11 == 0 else i % 10},{'' if i < 8 else f'张{i}某'},杭州市文三路{i}号,1381234{i:04d},u{i}@example.cn"
        for i in range(20)
    ]
    src.write_text("公民身份号码,姓名,现住址,联系电话,邮箱\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sqlite_db.transaction() as s:
        ingest_source(s, sqlite_settings, get_dataset(s, "GA-RK-001"), src, user_id=None)
    return city


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def _shots(page, base: str, path: str, name: str) -> None:
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
            _no_overflow(page)
            page.screenshot(path=f"/tmp/{name}-{lang}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang=zh")


def test_steward_acknowledges_and_resolves_alerts_and_the_admin_reads_the_scorecard(alerted, page):
    base = alerted
    browser_login(page, base, "ga.steward", "/")
    page.hover("#menu-supervision .menu-title")  # the link is in the Supervision menu
    page.click("#nav-quality")
    page.wait_for_url("**/quality/alerts")
    cards = page.locator("section.alert")
    assert sorted(cards.nth(i).get_attribute("data-kind") for i in range(cards.count())) == [
        "metric_anomaly",
        "schema_drift",
    ]
    anomaly = page.locator("section[data-kind='metric_anomaly']")
    text = anomaly.inner_text()
    assert "行数" in text and "-50.0%" in text and "姓名" in text and "40.0%" in text
    assert "邮箱" in page.inner_text("section[data-kind='schema_drift']")
    assert page.inner_text("#count-new") == "2"
    _shots(page, base, "/quality/alerts", "quality-alerts")

    anomaly.locator("form.acknowledge input[name=note]").fill("正在核对数据源")
    anomaly.locator("form.acknowledge button").click()
    page.wait_for_url("**/quality/alerts")
    assert "已确认" in page.inner_text("#banner")
    anomaly = page.locator("section[data-kind='metric_anomaly']")
    assert anomaly.get_attribute("data-state") == "acknowledged" and "正在核对数据源" in anomaly.inner_text()
    drift = page.locator("section[data-kind='schema_drift']")
    drift.locator("form.resolve input[name=note]").fill("新增邮箱字段已登记")
    drift.locator("form.resolve button").click()
    page.wait_for_url("**/quality/alerts")
    assert page.locator("section[data-kind='schema_drift']").count() == 0  # open alerts only, by default
    page.select_option("#alert-filter select[name=state]", "resolved")
    page.click("#alert-filter button")
    page.wait_for_url("**/quality/alerts?state=resolved**")
    assert "新增邮箱字段已登记" in page.inner_text("section[data-kind='schema_drift']")
    _shots(page, base, "/quality/alerts?state=all", "quality-alerts-handled")

    browser_login(page, base, "bdb.admin", "/quality/scorecard")
    row = page.locator("#scorecard tr#dept-GA")
    assert row.locator("td").first.inner_text() == "1"
    assert "1/2" in row.inner_text()  # one of two versions changed its fields
    assert page.locator("#formula dt").count() == 5
    _shots(page, base, "/quality/scorecard", "quality-scorecard")
    page.goto(f"{base}/quality/scorecard?lang=en")
    assert "Data provider scorecard" in page.inner_text("h1")
    page.goto(f"{base}/quality/alerts?lang=en&state=all&department=GA")
    assert page.locator("section.alert").count() == 2 and "metric anomaly" in page.inner_text("main")
