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


@pytest.fixture
def built_registry(sqlite_db, sqlite_settings, live_server):
    """A person registry really built from three departments' datasets, an admin and a GA steward."""
    from tests.quality.conftest import add_dataset, add_version
    from tests.registry.test_service import DEPTS, as_table, members, partition, settings_named, tables

    from shuzhi.registry import service

    with sqlite_db.transaction() as s:
        for code in ("GA", "SC"):
            orgs.create_department(s, code=code, name_zh=f"部门{code}")
        orgs.create_user(s, username="bdb.admin", password=PASSWORD, department_code="SC", roles=["admin"])
        orgs.create_user(s, username="ga.steward", password=PASSWORD, department_code="GA", roles=["steward"])
        admin = orgs.Principal.of(orgs.get_user(s, "bdb.admin"))
    rows, _ = tables()
    for dataset, part in rows.items():
        add_dataset(sqlite_db, admin, dataset, as_table(part), dept=DEPTS[dataset])
        add_version(sqlite_db, sqlite_settings, dataset, as_table(part), grades={})
    with sqlite_db.write() as s:
        service.register(s, admin, settings_named("people"))
    service.build(sqlite_db, sqlite_settings, admin, "people")

    class W:  # what members() and the test read
        db = sqlite_db

    found = members(W, "people")
    biggest = max(partition(found), key=len)
    return live_server, found[min(biggest)], len(biggest)


def test_an_admin_reads_why_an_entrys_records_are_one_entry(built_registry, page):
    base, entry, size = built_registry
    browser_login(page, base, "bdb.admin", f"/registry/people/entries/{entry}/explanation")
    assert page.locator("section.pair").count() == size - 1
    first = page.locator("section.pair").first
    weights = first.locator("td.num.pos, td.num.neg")
    assert weights.count() >= 3
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            page.goto(f"{base}/registry/people/entries/{entry}/explanation?lang={lang}")
            title = page.inner_text("#explanation-title")
            assert ("为何归为同一条目" if lang == "zh" else "Why these records are one entry") in title
            page.screenshot(path=f"/tmp/registry-explanation-{lang}-{width}.png", full_page=True)


def test_a_steward_goes_from_the_index_to_a_profile_and_to_why_its_records_are_one_entry(
    built_registry, page
):
    base, entry, size = built_registry
    browser_login(page, base, "ga.steward", "/registry")
    assert page.locator("#registry-people a[href='/datasets/registry-people']").count() == 1
    for lang in ("zh", "en"):
        page.goto(f"{base}/registry?lang={lang}")
        page.screenshot(path=f"/tmp/registry-index-{lang}.png", full_page=True)
        page.goto(f"{base}/registry/persons/{entry}?lang={lang}")
        page.screenshot(path=f"/tmp/registry-person-{lang}.png", full_page=True)
    page.click("#explain-link a")
    page.wait_for_url(f"**/registry/people/entries/{entry}/explanation")
    assert page.locator("section.pair").count() == size - 1
