"""Home page and notifications in Debian's Chromium: a steward sees the badge and their tasks, opens
the notification, and the badge drops; the pages fit 1366 and 390 px wide in both languages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login

pytestmark = BROWSER


@pytest.fixture
def quiet(sqlite_settings):
    """No periodic notification job mid-test: what the steward sees is what the test made."""
    sqlite_settings.notify.scan_interval_s = 0
    sqlite_settings.notify.mail_interval_s = 0
    return sqlite_settings


@pytest.fixture
def server(quiet, sqlite_db, live_server):
    """Public security (GA) provides a dataset; civil affairs (MZ) asks for it twice, one overdue."""
    from shuzhi.catalog.schemas import DatasetIn, FieldIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.exchange import share_requests
    from shuzhi.orgs import service as orgs
    from shuzhi.store.base import utcnow

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="GA", name_zh="市公安局", name_en="Public Security Bureau")
        orgs.create_department(s, code="MZ", name_zh="市民政局", name_en="Civil Affairs Bureau")
        steward = orgs.create_user(
            s,
            username="ga.steward",
            password=PASSWORD,
            department_code="GA",
            roles=["steward"],
            display_name="赵管理",
        )
        analyst = orgs.create_user(
            s,
            username="mz.analyst",
            password=PASSWORD,
            department_code="MZ",
            roles=["analyst"],
            display_name="钱分析",
        )
        orgs.create_department(s, code="BDB", name_zh="市大数据局", name_en="Big Data Bureau")
        orgs.create_user(
            s,
            username="bdb.admin",
            password=PASSWORD,
            department_code="BDB",
            roles=["admin"],
            display_name="孙管理员",
        )
        create_dataset(
            s,
            orgs.Principal.of(steward),
            DatasetIn(
                identifier="residents",
                title_zh="常住人口信息",
                title_en="Resident population",
                department="GA",
                theme="population",
                share_type="conditional",
                fields=[FieldIn(name=n, type="VARCHAR") for n in ("sfzh", "xm", "xb", "qx")],
            ),
        )
        ids = []
        for fields, purpose in ((["xm", "xb"], "最低生活保障资格核查"), (["qx"], "走访名单")):
            req = share_requests.create_request(
                s,
                quiet,
                orgs.Principal.of(analyst),
                share_requests.RequestIn(dataset="residents", fields=fields, purpose=purpose),
                submit=True,
            )
            ids.append(req.id)
        req.deadline = utcnow().date() - timedelta(days=1)  # the second is overdue
    return live_server, ids


def _no_overflow(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


def test_steward_sees_badge_and_tasks_opens_a_notification_and_the_badge_drops(server, page):
    base, (first, late) = server
    browser_login(page, base, "ga.steward", "/")
    assert page.inner_text("#notify-badge") == "2"
    review = page.locator("#to-review")
    assert review.locator(f"li[data-request='{first}']").count() == 1
    late_row = review.locator(f"li[data-request='{late}']")
    assert (
        "已逾期" in late_row.inner_text()
        and "已逾期" not in review.locator(f"li[data-request='{first}']").inner_text()
    )
    assert page.inner_text("#count-review .n") == "2" and page.inner_text("#count-overdue .n") == "1"
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            page.goto(f"{base}/?lang={lang}")
            _no_overflow(page)
            page.screenshot(path=f"/tmp/notify-home-{lang}-{width}.png", full_page=True)
            page.goto(f"{base}/notifications?lang={lang}")
            _no_overflow(page)
            page.screenshot(path=f"/tmp/notify-list-{lang}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/?lang=zh")  # a language chosen in a link may stick: back to Chinese

    page.click("#notify-bell")
    page.wait_for_url("**/notifications")
    items = page.locator("#notifications li.unread")
    assert items.count() == 2
    newest = page.locator("#notifications li").first
    assert f"#{late}" in newest.inner_text() and "走访名单" in newest.inner_text()
    newest.locator("a.title").click()
    page.wait_for_url(f"**/exchange/requests/{late}")
    page.goto(f"{base}/")
    assert page.inner_text("#notify-badge") == "1"
    page.goto(f"{base}/notifications")
    assert page.locator("#notifications li.unread").count() == 1
    assert page.locator("#notifications li.read a.title").inner_text().startswith(f"新的共享申请 #{late}")

    page.click("#read-all button")
    page.wait_for_url("**/notifications")
    assert "已将 1 条通知标为已读" in page.inner_text("#banner")
    assert page.locator("#notify-badge").count() == 0
    page.screenshot(path="/tmp/notify-list-read-zh-1366.png", full_page=True)


def test_the_admins_city_wide_view_fits_both_widths(server, page):
    base, (_, late) = server
    browser_login(page, base, "bdb.admin", "/")
    city = page.locator("#city")
    assert city.locator("li[data-state='submitted'] .n").inner_text() == "2"
    assert city.locator("#city-overdue .n").inner_text() == "1"
    assert "市公安局" in city.locator("tr[data-department='GA']").inner_text()
    assert f"#{late}" in page.inner_text("#city-overdue-list")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            page.goto(f"{base}/?lang={lang}")
            _no_overflow(page)
            page.screenshot(path=f"/tmp/notify-admin-{lang}-{width}.png", full_page=True)
