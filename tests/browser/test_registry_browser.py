"""An enterprise's profile in Debian's Chromium: found by pinyin on the search page, opened, every
source section with its dataset, version and load date; Chinese and English, 1366 and 390 px."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login
from tests.registry.profile_world import build

from shuzhi.orgs import service as orgs

pytestmark = BROWSER


@pytest.fixture
def registry_city(sqlite_db, sqlite_settings, live_server):
    def make_user(username, dept, roles):
        with sqlite_db.transaction() as s:
            try:
                orgs.get_department(s, dept)
            except Exception:
                orgs.create_department(s, code=dept, name_zh=f"部门{dept}")
            user = orgs.create_user(
                s, username=username, password=PASSWORD, department_code=dept, roles=list(roles)
            )
            return orgs.Principal.of(user)

    return live_server, build(sqlite_db, sqlite_settings, make_user)


def test_an_analyst_finds_an_enterprise_by_pinyin_and_reads_its_profile(registry_city, page):
    base, world = registry_city
    browser_login(page, base, "sc_analyst", "/registry/enterprises/search")
    page.fill("#registry-search input[name=q]", "shuzhi")
    page.click("#registry-search button")
    page.click(f"#registry-hits a[href='/registry/enterprises/{world.firm}']")
    page.wait_for_url(f"**/registry/enterprises/{world.firm}")
    sections = page.locator("section.registry-section")
    assert [sections.nth(i).get_attribute("data-dataset") for i in range(sections.count())] == [
        "samr_firms",
        "tax_credit",
    ]
    assert "纳税信用等级" in page.inner_text("#source-tax_credit")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            page.goto(f"{base}/registry/enterprises/{world.firm}?lang={lang}")
            assert "samr_firms" in page.inner_text("#source-samr_firms .source")
            page.screenshot(path=f"/tmp/registry-profile-{lang}-{width}.png", full_page=True)
