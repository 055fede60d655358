"""The main journey, in Chromium, in each language, as the people who make it: an analyst finds a
dataset and asks for it; the providing steward is told, previews what a narrower approval shows and
approves; the analyst is told, builds a query in the workbench from its schema browser, runs it and
downloads the result. Screenshots at 1366 and 390 px; no page wider than the screen."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import pytest
from tests.browser.test_exchange_browser import NAMES, ROWS, server  # noqa: F401 - the fixture
from tests.conftest import BROWSER, browser_login

pytestmark = BROWSER

SHOTS = Path("/tmp") / "shuzhi-journey"
WORDS = {
    "zh": {"purpose": "最低生活保障资格核查", "reason": "仅限姓名与性别"},
    "en": {"purpose": "Checking eligibility for minimum living allowance", "reason": "Names and sex only"},
}


def _look(page, name: str, lang: str) -> None:
    """Screenshots of the page as it stands, at a laptop's and a phone's width; neither overflows."""
    SHOTS.mkdir(exist_ok=True)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{lang}-{width}.png"), full_page=True)
        over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert over <= 0, (name, lang, width, over)
    page.set_viewport_size({"width": 1366, "height": 900})


def _unread(page) -> int:
    badge = page.locator("#notify-badge")
    return int(badge.inner_text()) if badge.count() else 0


@pytest.fixture
def named(server, sqlite_db):  # noqa: F811
    """The city with English names too, so an English reader meets no Chinese but the data's own."""
    from shuzhi.catalog.service import get_dataset
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        get_dataset(s, "residents").title_en = "Resident register"
        orgs.get_department(s, "GA").name_en = "Public Security Bureau"
        orgs.get_department(s, "MZ").name_en = "Civil Affairs Bureau"
    return server


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_find_request_approve_narrower_query_and_download(named, page, tmp_path, lang):
    base, words = named, WORDS[lang]
    chinese = re.compile(r"[\u4e00-\u9fff]")

    # -- the analyst finds the dataset and asks for four fields
    browser_login(page, base, "mz.analyst", "/catalog")
    page.goto(f"{base}/catalog?q=常住人口&lang={lang}")
    page.click("a[href='/datasets/residents']")
    page.wait_for_url("**/datasets/residents")
    page.click("#request-access")
    form = page.locator("#request-form")
    for field in ("sfzh", "xm", "xb", "qx"):
        form.locator(f"input[name=fields][value={field}]").check()
    page.fill("textarea[name=purpose]", words["purpose"])
    page.click("#request-form button[type=submit]")
    page.wait_for_selector("#banner")
    banner = page.inner_text("#banner")
    assert ("Request #" in banner) if lang == "en" else ("申请 #" in banner)
    rid = int(re.search(r"#(\d+)", banner).group(1))
    _look(page, "1-requested", lang)

    # -- the providing steward is told: the badge, the notification, the request
    browser_login(page, base, "ga.steward", "/")
    page.goto(f"{base}/?lang={lang}")
    assert _unread(page) >= 1
    page.click("#notify-bell")
    item = page.locator("#notifications li.unread").first
    assert f"#{rid}" in item.inner_text() and bool(chinese.search(item.inner_text())) == (lang == "zh")
    _look(page, "2-steward-notified", lang)
    before = _unread(page)
    item.locator("a.title").click()
    page.wait_for_load_state()
    assert _unread(page) == before - 1

    # -- the inbox: preview what a narrower approval shows, then approve it
    page.goto(f"{base}/exchange/inbox")
    decide = page.locator(f"form.decide[data-request='{rid}']")
    decide.locator("input[name=fields][value=sfzh]").uncheck()
    decide.locator("input[name=fields][value=qx]").uncheck()
    decide.locator("select[name=mask_xm]").select_option("keep_first:1")
    decide.locator("button.show-preview").click()
    preview = decide.locator("td.mask-preview[data-field='xm'] code.preview-value")
    preview.nth(2).wait_for()
    page.wait_for_function(
        """() => [...document.querySelectorAll("td.mask-preview[data-field='xm'] code.preview-value")]
              .every(c => c.textContent.includes('*'))"""
    )
    assert all(v[1:] and set(v[1:]) == {"*"} for v in preview.all_inner_texts())
    heading = decide.locator("xpath=ancestor::section[1]").inner_text()
    assert ("Civil Affairs Bureau" in heading) == (
        lang == "en"
    )  # the requester named in the reader's language
    _look(page, "3-approve-with-preview", lang)
    decide.locator("input[name=reason]").fill(words["reason"])
    decide.locator("button[value=approve]").click()
    page.wait_for_selector("#banner")
    assert f"#{rid}" in page.inner_text("#banner")

    # -- the analyst is told it was approved, narrower than asked
    browser_login(page, base, "mz.analyst", "/")
    page.goto(f"{base}/?lang={lang}")
    assert _unread(page) >= 1
    page.click("#notify-bell")
    told = page.locator("#notifications li.unread").first
    assert told.get_attribute("data-kind") == "request_narrowed" and f"#{rid}" in told.inner_text()
    _look(page, "4-analyst-notified", lang)

    # -- the workbench: the query built by clicking the schema browser, run, masked, downloaded
    page.goto(f"{base}/exchange/workbench")
    schema = page.locator("#schema")
    assert schema.locator("button.field", has_text="qx").count() == 0  # not granted: not offered
    page.fill("#sql", "SELECT ")
    schema.locator("button.field", has_text="xm").first.click()
    page.locator("#sql").press("End")
    page.locator("#sql").type(", ")
    schema.locator("button.field", has_text="xb").first.click()
    page.locator("#sql").press("End")
    page.locator("#sql").type(" FROM ")
    schema.locator("button.dataset").first.click()
    sql = page.locator("#sql").input_value()
    assert re.fullmatch(r"SELECT \"?xm\"?, \"?xb\"? FROM \"?residents\"?", sql.strip()), sql
    page.click("button[name=format][value=table]")
    page.wait_for_selector("#results")
    rows = [r.locator("td").all_inner_texts() for r in page.locator("#results tbody tr").all()]
    assert rows and all(xm.endswith("*") and xm not in NAMES for xm, _ in rows)
    _look(page, "5-workbench", lang)
    with page.expect_download() as info:
        page.click("button[name=format][value=csv]")
    saved = tmp_path / "result.csv"
    info.value.save_as(saved)
    assert info.value.suggested_filename == f"residents_{date.today().isoformat()}.csv"
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert table[0] == ["xm", "xb"] and len(table) == 1 + len(ROWS)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")
