"""The SQL workbench in Debian's Chromium: build a query from the schema browser, run it, page and
sort the result on the server, download it, see a syntax error marked, reload from the history —
at a laptop's and a phone's width, in both languages, without widening the page."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login

from shuzhi.classify.checksums import gb11643_check_char

pytestmark = BROWSER

ROWS = 250
SHOTS = "/tmp"


def _resident_id(i: int) -> str:
    body = f"330106{1960 + i % 40}{1 + i % 12:02d}{1 + i % 28:02d}{100 + i % 900:03d}"
    return body + gb11643_check_char(body)


@pytest.fixture
def server(sqlite_db, sqlite_settings, live_server, tmp_path):
    """Public security (GA) shares a graded resident list unconditionally; an analyst of civil
    affairs (MZ) queries it."""
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    source = tmp_path / "residents.csv"
    source.write_text(
        "sfzh,xm,nl,qx\n"
        + "".join(
            f"{_resident_id(i)},居民{i:03d},{18 + (i * 37) % 70},{['西湖区', '上城区'][i % 2]}\n"
            for i in range(ROWS)
        ),
        encoding="utf-8",
    )
    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="GA", name_zh="市公安局", name_en="Public Security Bureau")
        orgs.create_department(s, code="MZ", name_zh="市民政局", name_en="Civil Affairs Bureau")
        steward = orgs.create_user(
            s, username="ga.steward", password=PASSWORD, department_code="GA", roles=["steward"]
        )
        orgs.create_user(s, username="mz.analyst", password=PASSWORD, department_code="MZ", roles=["analyst"])
        ds = create_dataset(
            s,
            orgs.Principal.of(steward),
            DatasetIn(
                identifier="ga-residents",
                title_zh="常住人口信息",
                title_en="Residents",
                department="GA",
                theme="population",
                share_type="unconditional",
            ),
        )
        ingest_source(s, sqlite_settings, ds, source, user_id=steward.id)
    return live_server


def _column(page, index: int) -> list[str]:
    return [r.locator("td").nth(index).inner_text() for r in page.locator("#results tbody tr").all()]


def _no_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def test_build_run_page_sort_download_and_reload(server, page, tmp_path):
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(page, server, "mz.analyst", "/exchange/workbench")
    page.wait_for_selector("#schema")

    # -- the schema browser: the dataset by its alias, its fields with their masks
    dataset = page.locator("#schema-ga_residents")
    assert "ga_residents" in dataset.locator("summary").inner_text()
    fields = dataset.locator("ul.fields li").all_inner_texts()
    assert [f.split()[0] for f in fields] == ["sfzh", "xm", "nl", "qx"]
    assert "加密哈希" in fields[0]  # an identity number: hashed by its grade's default

    # -- build the query by clicking names into the editor
    editor = page.locator("#sql")
    editor.fill("SELECT ")
    editor.press("End")
    dataset.locator("button.field", has_text="xm").click()
    page.keyboard.type(", ")
    dataset.locator("button.field", has_text="nl").click()
    page.keyboard.type(" FROM ")
    dataset.locator("summary button.dataset").click()
    assert editor.input_value() == "SELECT xm, nl FROM ga_residents"
    assert dataset.get_attribute("open") is not None  # a click on the name inserts, it does not fold

    # -- run: the first page of 100, more to come
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#results")
    assert len(_column(page, 0)) == 100 and "还有更多" in page.inner_text("#result-meta")
    page.screenshot(path=f"{SHOTS}/workbench-run-1366-zh.png")
    assert _no_overflow(page) <= 0

    # -- next pages, read on the server
    first = _column(page, 0)
    page.click("#next-page")
    page.wait_for_selector("#prev-page")
    assert "第 101–200 行" in page.inner_text("#result-meta")
    assert not set(_column(page, 0)) & set(first)
    page.click("#next-page")
    page.wait_for_function("document.querySelector('#result-meta').innerText.includes('共 250 行')")
    assert len(_column(page, 0)) == 50 and page.locator("#next-page").count() == 0

    # -- sort by a header: ascending, then descending, from the first page
    page.click("#results th button.sort >> text=nl")
    page.wait_for_selector("#results th[aria-sort=ascending]")
    ages = [int(v) for v in _column(page, 1)]
    assert ages == sorted(ages) and "第 1–100 行" in page.inner_text("#result-meta")
    page.click("#results th button.sort >> text=nl")
    page.wait_for_selector("#results th[aria-sort=descending]")
    ages = [int(v) for v in _column(page, 1)]
    assert ages == sorted(ages, reverse=True) and ages[0] == 87
    page.click("#next-page")  # the order holds across pages
    page.wait_for_selector("#prev-page")
    assert max(int(v) for v in _column(page, 1)) <= ages[-1]

    # -- download the whole result
    with page.expect_download() as info:
        page.click("#workbench button[value=csv]")
    download = info.value
    assert download.suggested_filename == f"ga-residents_{date.today().isoformat()}.csv"
    saved = tmp_path / "result.csv"
    download.save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert table[0] == ["xm", "nl"] and len(table) == 1 + ROWS

    # -- a syntax error: said where, the caret under it, the position selected in the editor
    editor.fill("SELECT xm, nl\nFROM ga-residents")
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#sql-error")
    error = page.inner_text("#sql-error")
    assert "第 2 行" in error and "ga_residents" in error  # the alias to write instead
    line, caret = page.inner_text("#error-at").split("\n")
    assert line == "FROM ga-residents" and caret.index("^") == line.index("-")
    selected = page.evaluate("[sql.selectionStart, sql.selectionEnd]")
    assert selected == [len("SELECT xm, nl\nFROM ga"), len("SELECT xm, nl\nFROM ga") + 1]

    # -- the history: this reader's queries, newest first; a click loads one
    history = page.locator("#history")
    history.locator("summary").click()
    items = history.locator("a.history-item").all_inner_texts()
    assert items[:2] == ["SELECT xm, nl\nFROM ga-residents", "SELECT xm, nl FROM ga_residents"]
    history.locator("a.history-item").nth(1).click()
    page.wait_for_url(re.compile(r"/exchange/workbench\?sql="))
    assert page.locator("#sql").input_value() == "SELECT xm, nl FROM ga_residents"


@pytest.mark.parametrize("width", [1366, 390])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_workbench_fits_the_screen(server, page, width, lang):
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, server, "mz.analyst", f"/exchange/workbench?lang={lang}")
    page.goto(f"{server}/lang/{lang}?next=/exchange/workbench")  # the reader's language, kept
    page.fill("#sql", "SELECT sfzh, xm, nl, qx FROM ga_residents")
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#results")
    page.click("#results th button.sort >> text=nl")
    page.wait_for_selector("#results th[aria-sort=ascending]")
    assert ("Rows 1–100" if lang == "en" else "第 1–100 行") in page.inner_text("#result-meta")
    page.screenshot(path=f"{SHOTS}/workbench-{width}-{lang}.png")
    page.locator("#result-meta").scroll_into_view_if_needed()
    page.screenshot(path=f"{SHOTS}/workbench-results-{width}-{lang}.png")
    assert _no_overflow(page) <= 0
    # A syntax error's marked line scrolls inside its box, not the page.
    page.fill(
        "#sql", "SELECT sfzh, xm, nl, qx, sfzh AS a, xm AS b, nl AS c, qx AS d FROM ga_residents WHERE ("
    )
    page.click("#workbench button[value=table]")
    page.wait_for_selector("#error-at")
    page.screenshot(path=f"{SHOTS}/workbench-error-{width}-{lang}.png", full_page=False)
    assert _no_overflow(page) <= 0
