"""The top navigation in Debian's Chromium: one row at 1366 px in both languages, links grouped in menus
that open on hover and from the keyboard, each role shown only the menus it can use."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login

pytestmark = BROWSER


@pytest.fixture
def server(sqlite_db, live_server):
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="BDB", name_zh="市大数据管理局", name_en="Big Data Bureau")
        for username, roles in (("root", ["admin", "auditor", "steward"]), ("reader", ["analyst"])):
            orgs.create_user(
                s,
                username=username,
                password=PASSWORD,
                department_code="BDB",
                roles=roles,
                display_name=username,
            )
    return live_server


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_header_is_one_row_and_its_menus_open_on_hover_and_from_the_keyboard(server, page, lang):
    page.set_viewport_size({"width": 1366, "height": 800})
    browser_login(page, server, "root", "/catalog")
    if lang == "en":
        page.goto(f"{server}/lang/en?next=/catalog")
    assert page.locator("header.topbar").bounding_box()["height"] < 60  # one row: nothing wraps
    grants = page.locator("#menu-sharing a[href='/exchange/grants']")
    assert not grants.is_visible()
    page.hover("#menu-sharing .menu-title")
    assert grants.is_visible()
    page.mouse.move(700, 500)
    assert not grants.is_visible()
    page.focus("#menu-supervision .menu-title")  # a keyboard user tabs onto the menu's title
    assert page.locator("#nav-quality").is_visible() and page.locator("#nav-audit").is_visible()
    page.keyboard.press("Tab")  # and on into its links
    assert page.evaluate("document.activeElement.id") == "nav-quality"
    page.keyboard.press("Enter")
    page.wait_for_url("**/quality/alerts")
    page.screenshot(path=f"/tmp/shuzhi-nav-{lang}.png")


def test_an_analyst_sees_no_supervision_or_admin_menu_and_on_a_phone_every_link_stands_in_the_header(
    server, page
):
    browser_login(page, server, "reader", "/catalog")
    assert page.locator("#menu-supervision").count() == 0 and page.locator("#nav-admin").count() == 0
    assert page.locator("#menu-sharing a").all_inner_texts() == ["共享交换", "我的授权"]
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.locator("#menu-sharing a[href='/exchange/grants']").is_visible()
    assert not page.locator("#menu-sharing .menu-title").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"
