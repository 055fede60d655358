"""The quality section of a dataset page in Debian's Chromium, in both languages: the owning
steward sees scores, the trend, the failing rows (when asked, audited), overrides a hold and runs
the rules; another department's analyst sees the scores and counts, never a failing row."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.conftest import BROWSER, browser_login

pytestmark = BROWSER

REF = "GA-RK-001"
SHOTS = "/tmp/shuzhi-quality-{who}-{lang}.png"


@pytest.fixture
def checked(city, sqlite_db, sqlite_settings, tmp_path):
    """The city's people register with rules (a blocking one on names), run on v1; v2 with blank
    names is checked when it is loaded, fails the blocking rule and is held."""
    from shuzhi.catalog.service import get_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs
    from shuzhi.quality import service

    rules = [
        {"kind": "not_blank", "field": "姓名", "blocking": True},
        {"kind": "resident_id", "field": "公民身份号码"},
        {"kind": "unique", "fields": ["公民身份号码"]},
        {"kind": "phone", "field": "联系电话"},
    ]
    with sqlite_db.write() as s:
        steward = orgs.Principal.of(orgs.get_user(s, "ga.steward"))
        service.save_rules(s, steward, REF, {"rules": rules, "sample_size": 3})
    service.run(sqlite_db, sqlite_settings, steward, REF, 1)
    rows = [
        f"11010119900307{i:03d}{i % 10},{'' if i % 7 == 0 else f'张{i}某'},杭州市文三路{i}号,1381234{i:04d}"
        for i in range(40)
    ]
    src = tmp_path / "people2.csv"
    src.write_text("公民身份号码,姓名,现住址,联系电话\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with sqlite_db.transaction() as s:
        ingest_source(s, sqlite_settings, get_dataset(s, REF), src, user_id=None)
    return city


def _reads(db) -> list[dict]:
    from shuzhi.ledger.models import LedgerEntry

    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "quality.samples_read"))
        return [json.loads(e.entry) for e in rows]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_quality_section_as_the_steward_and_as_another_departments_analyst(checked, page, sqlite_db, lang):
    words = {
        "zh": ("数据质量", "已阻断", "已放行"),
        "en": ("Data quality", "held back", "may be shared and published again"),
    }[lang]
    page.set_viewport_size({"width": 1280, "height": 900})

    browser_login(page, checked, "rs.analyst", "/catalog")
    page.goto(f"{checked}/datasets/{REF}?lang={lang}&samples=1#quality")
    section = page.locator("#quality")
    assert words[0] in section.locator("h2").inner_text()
    assert section.locator("#quality-scores li").count() == 7
    assert section.locator("#quality-trend svg[role=img] title").count() >= 1
    assert section.locator("#samples-withheld").is_visible() and section.locator(".q-sample").count() == 0
    assert section.locator("#quality-run-form, form.q-override").count() == 0
    assert _reads(sqlite_db) == []
    section.screenshot(path=SHOTS.format(who="analyst", lang=lang))

    browser_login(page, checked, "ga.steward", "/catalog")
    page.goto(f"{checked}/datasets/{REF}?lang={lang}#quality")
    section = page.locator("#quality")
    held = section.locator('#quality-holds tr[data-version="2"]')
    assert held.get_attribute("data-status") == "held" and words[1] in held.inner_text()
    assert (
        section.locator("#quality-results tr.q-failing").first.get_attribute("data-rule") == "not_blank(姓名)"
    )
    section.locator("#show-samples").click()
    page.wait_for_url("**samples=1*")
    section = page.locator("#quality")
    assert section.locator('tr.q-sample[data-sample="not_blank(姓名)"] tbody tr').count() == 3
    assert len(_reads(sqlite_db)) == 1
    section.screenshot(path=SHOTS.format(who="steward", lang=lang))
    page.set_viewport_size({"width": 390, "height": 900})  # a phone: wide tables scroll in the card
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    page.locator("#quality").screenshot(path=SHOTS.format(who="steward-phone", lang=lang))
    page.set_viewport_size({"width": 1280, "height": 900})
    assert len(_reads(sqlite_db)) == 1  # resizing reads nothing again

    form = section.locator('form.q-override[id="override-2"]')
    form.locator("input[name=reason]").fill("空白姓名已核实为注销人员")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"**/datasets/{REF}#quality")
    assert words[2] in page.locator(".banner").inner_text()
    held = page.locator('#quality-holds tr[data-version="2"]')
    assert (
        held.get_attribute("data-status") == "overridden" and "空白姓名已核实为注销人员" in held.inner_text()
    )
    assert len(_reads(sqlite_db)) == 1  # the page after the override shows no rows: no entry

    page.locator("#quality-run-form button").click()
    page.wait_for_url(f"**/datasets/{REF}#quality")
    held = page.locator('#quality-holds tr[data-version="2"]')
    assert held.get_attribute("data-status") == "held"  # a new run, a new verdict
    page.screenshot(path=SHOTS.format(who="steward-after-run", lang=lang), full_page=True)
