"""Applying for conditional open data, in Chromium, in the demo city: a member of the public registers,
applies for the demo's conditional dataset and accepts the terms; the department's steward approves,
shortening the period; the applicant downloads the release. Screenshots in both languages at 1366
and 390 px; no page wider than the screen."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.conftest import BROWSER

pytestmark = BROWSER

SHOTS = Path("/tmp") / "shuzhi-open-applications"
DATASET = "hz-xh-samr-individual"
STEWARD, STEWARD_PASSWORD = "xh-samr.steward", "Demo!xh-samr-steward"
EMAIL = "zhou@example.edu.cn"


@pytest.fixture
def demo(sqlite_settings, sqlite_db, live_server, tmp_path):
    """The demo city (small), with its open data published and one application already waiting."""
    from shuzhi.demo import generate
    from shuzhi.demo.build import build

    opened = build(
        sqlite_settings, sqlite_db, generate(tmp_path / "city", seed=3, scale=0.12), registries=False
    ).open_data
    assert opened.published and opened.applications == 1, opened.refused
    return live_server


def _look(page, name: str, lang: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
        over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert over <= 0, (name, lang, width, over)
    page.set_viewport_size({"width": 1366, "height": 900})


def _staff_login(page, base: str, next_path: str) -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.fill("input[name=username]", STEWARD)
    page.fill("input[name=password]", STEWARD_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def test_register_apply_approve_download(demo, page, tmp_path):
    base, today = demo, date.today()
    apply_url = f"/open/dataset/{DATASET}/apply"

    # -- a member of the public opens the apply page: logged out, they are sent to log in, then register
    page.goto(f"{base}/lang/zh?next={apply_url}")
    page.wait_for_url(f"**/open/login?next={apply_url}")
    _look(page, "1-login", "zh")
    page.click("#to-register")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=display_name]", "周研究")
    page.fill("input[name=organisation]", "某市社会科学院")
    page.fill("input[name=password]", "a long passphrase")
    _look(page, "2-register", "zh")
    page.click("#register button[type=submit]")
    page.wait_for_url(f"**{apply_url}")
    assert "周研究" in page.inner_text("#portal-who")
    assert page.locator("#terms li").count() == 5
    _look(page, "3-apply", "zh")

    # -- they apply, accepting the terms
    page.fill("textarea[name=purpose]", "研究个体工商户的资金规模分布，只发表汇总结果")
    page.fill("input[name=end]", (today + timedelta(days=60)).isoformat())
    page.check("#accept-terms")
    page.click("#apply-form button[type=submit]")
    page.wait_for_url("**/open/account")
    assert "已提交" in page.inner_text("#banner")
    row = page.locator("#my-applications section").first
    assert row.get_attribute("data-state") == "submitted"
    app_id = int(row.get_attribute("id").removeprefix("application-"))
    _look(page, "4-account-submitted", "zh")

    # -- the department's steward, in their own browser, approves for a shorter period
    staff = page.context.browser.new_context(locale="zh-CN").new_page()
    _staff_login(staff, base, "/opendata/applications")
    section = staff.locator(f"#application-{app_id}")
    assert EMAIL in section.inner_text() and "只发表汇总结果" in section.inner_text()
    _look(staff, "5-steward", "zh")
    short = (today + timedelta(days=30)).isoformat()
    section.locator("input[name=end]").fill(short)
    section.locator("input[name=reason]").first.fill("用途明确，期限缩短为 30 天")
    section.locator("button.approve").click()
    staff.wait_for_selector("#banner")
    assert str(app_id) in staff.inner_text("#banner")
    assert staff.locator(f"#decided #application-{app_id}").count() == 1
    _look(staff, "6-steward-decided", "zh")

    # -- the applicant sees the approval and downloads the release
    page.goto(f"{base}/open/account")
    row = page.locator(f"#application-{app_id}")
    assert row.get_attribute("data-state") == "approved" and short in row.inner_text()
    with page.expect_download() as got:
        row.locator("a.download").click()
    saved = tmp_path / got.value.suggested_filename
    got.value.save_as(saved)
    assert saved.name.startswith(DATASET) and saved.read_bytes()[:4] == b"PAR1"
    _look(page, "7-account-approved", "zh")

    # -- the same pages in English: nothing of the page's own words in Chinese
    chinese = re.compile(r"[\u4e00-\u9fff]")
    page.goto(f"{base}/open/account?lang=en")
    assert "My applications" in page.inner_text("h1") and "approved" in page.inner_text(
        f"#application-{app_id}"
    )
    _look(page, "7-account-approved", "en")
    page.goto(f"{base}{apply_url}?lang=en")
    assert not chinese.search(page.inner_text("#terms")) and not chinese.search(
        page.inner_text("#apply-form")
    )
    _look(page, "3-apply", "en")
    staff.goto(f"{base}/opendata/applications?lang=en")
    assert "Applications for conditional open data" in staff.inner_text("h1")
    _look(staff, "6-steward-decided", "en")
    staff.context.close()
    page.click("#portal-logout")
    page.wait_for_url("**/open/login")
    _look(page, "1-login", "en")
    page.goto(f"{base}/open/register?lang=en")
    _look(page, "2-register", "en")
