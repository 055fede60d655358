"""The public portal in Chromium, as a visitor with no login: search in Chinese (and in English), open a
dataset, read its preview, download it; the pages fit a phone and a laptop. Screenshots are written
under SHUZHI_SHOTS (default: the temporary directory) for a person to look at."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select
from tests.conftest import BROWSER, PASSWORD
from tests.opendata.conftest import add_dataset, plan, population

from shuzhi.catalog.models import Dataset
from shuzhi.opendata import releases
from shuzhi.opendata.models import Release
from shuzhi.orgs import service as orgs

pytestmark = BROWSER

SHOTS = Path(os.environ.get("SHUZHI_SHOTS", tempfile.gettempdir())) / "shuzhi-portal"


def _publish(db, settings, dataset: str, preparer, approver) -> None:
    with db.transaction() as s:
        rid = releases.prepare_release(s, settings, preparer, dataset, plan=plan()).id
    with db.transaction() as s:
        releases.approve_release(s, settings, approver, s.get(Release, rid))


@pytest.fixture
def open_city(sqlite_db, sqlite_settings, live_server):
    """Two departments publishing: an enterprise register open to all, a register open on conditions."""
    db, settings = sqlite_db, sqlite_settings
    stewards = {}
    with db.transaction() as s:
        for code, name, en in (
            ("SC", "市市场监督管理局", "Market Regulation Bureau"),
            ("GA", "市民政局", "Civil Affairs Bureau"),
        ):
            orgs.create_department(s, code=code, name_zh=name, name_en=en)
            for n in (1, 2):
                user = orgs.create_user(
                    s,
                    username=f"{code.lower()}.s{n}",
                    password=PASSWORD,
                    department_code=code,
                    roles=["steward"],
                )
                stewards[(code, n)] = orgs.Principal.of(user)
    add_dataset(db, settings, stewards[("SC", 1)], "enterprises", "unconditional", population(seed=5), "SC")
    add_dataset(db, settings, stewards[("GA", 1)], "allowance", "conditional", population(seed=6), "GA")
    with db.transaction() as s:
        ent = s.scalar(select(Dataset).where(Dataset.identifier == "enterprises"))
        ent.title_zh, ent.title_en, ent.keywords = "企业登记名录", "Enterprise register", ["企业", "登记"]
        ent.description, ent.update_frequency, ent.licence = (
            "全市企业登记的公开信息。",
            "monthly",
            "CC-BY-4.0",
        )
        low = s.scalar(select(Dataset).where(Dataset.identifier == "allowance"))
        low.title_zh, low.title_en, low.description = (
            "城乡低保对象名册",
            "Subsistence allowance register",
            "按区县汇总。",
        )
    _publish(db, settings, "enterprises", stewards[("SC", 1)], stewards[("SC", 2)])
    _publish(db, settings, "allowance", stewards[("GA", 1)], stewards[("GA", 2)])
    return live_server


def _no_wider_than_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0


@pytest.mark.parametrize(
    "lang,words,title", [("zh", "企业", "企业登记名录"), ("en", "enterprise", "Enterprise register")]
)
def test_a_visitor_searches_opens_previews_and_downloads(open_city, page, lang, words, title):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{open_city}/open?lang={lang}")
    assert page.locator("header.topbar #staff-login").count() == 1
    assert page.locator("#portal-nav a[href='/exchange']").count() == 0
    page.screenshot(path=str(SHOTS / f"home-1366-{lang}.png"), full_page=True)

    page.fill("#portal-q", words)
    page.press("#portal-q", "Enter")
    page.wait_for_url("**/open/search?**")
    cards = page.locator("#results .ds-card")
    assert cards.count() == 1 and cards.first.get_attribute("data-name") == "enterprises"
    page.screenshot(path=str(SHOTS / f"search-1366-{lang}.png"), full_page=True)

    cards.first.locator("h3 a").click()
    page.wait_for_url("**/open/dataset/enterprises")
    assert page.locator("#ds-title").inner_text() == title
    preview = page.locator("#preview-table tbody tr")
    assert preview.count() == 10
    assert page.locator("#jsonld").count() == 1
    page.screenshot(path=str(SHOTS / f"dataset-1366-{lang}.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#downloads a.dl[data-format=csv]")
    got = download.value
    assert got.suggested_filename == "企业登记名录-v1.csv"
    text = Path(got.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "id_number" or "benefit" in rows[0]
    assert len(rows) > 10

    page.reload()
    assert page.locator("#ds-downloads").inner_text() == "1"

    page.goto(f"{open_city}/open/dataset/allowance")
    assert page.locator("#apply").is_visible() and page.locator("#preview-table").count() == 0
    page.screenshot(path=str(SHOTS / f"conditional-1366-{lang}.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    for name, path in (
        ("home", "/open"),
        ("search", f"/open/search?q={words}"),
        ("dataset", "/open/dataset/enterprises"),
    ):
        page.goto(open_city + path)
        assert _no_wider_than_screen(page), path
        page.screenshot(path=str(SHOTS / f"{name}-390-{lang}.png"), full_page=True)


def test_facets_and_sorting_in_the_browser(open_city, page):
    page.goto(f"{open_city}/open/search?lang=zh")
    assert page.locator("#results .ds-card").count() == 2
    page.click("section.facet[data-facet=open_type] a:has-text('有条件开放')")
    assert [c.get_attribute("data-name") for c in page.locator("#results .ds-card").all()] == ["allowance"]
    page.click(".active-filters a.chip")
    assert page.locator("#results .ds-card").count() == 2
    page.select_option("#portal-sort", "downloads")
    page.wait_for_url("**sort=downloads**")
    page.goto(f"{open_city}/open/search?page=abc&theme=NO-SUCH&sort=random")
    assert page.locator("header.topbar").count() == 1 and page.locator("#no-results").count() == 1
