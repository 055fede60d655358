"""In Debian's Chromium: the steward approves with the masked preview and the row filter checked as
typed, then the request's page shows its number and timeline; the grant's and dataset's pages fit
a phone and a laptop in both languages."""

from __future__ import annotations

import re

from tests.browser.test_exchange_browser import _request, server  # noqa: F401  (a fixture)
from tests.conftest import BROWSER, browser_login

pytestmark = BROWSER

SHOTS = "/tmp"


def _wide(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def _inbox_shots(page, base: str, rid: int, lang: str) -> None:
    """The inbox with the preview shown and a row filter checked, at a laptop's and a phone's width."""
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{base}/exchange/inbox?lang={lang}")
    form = page.locator(f"form.decide[data-request='{rid}']")
    form.locator("button.show-preview").click()
    form.locator("td.mask-preview[data-field='qx'] code.preview-value").nth(2).wait_for()
    label = form.locator("td.mask-preview[data-field='sfzh'] small").inner_text()
    assert ("keyed hash" in label) is (lang == "en")  # the mask named in the page's language
    form.locator("input.row-filter").fill("xb = '女'")
    page.wait_for_function(f"document.querySelector('#row-filter-msg-{rid}').classList.contains('ok')")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/inbox-preview-{lang}-{width}.png", full_page=True)
        assert _wide(page) <= 0, (lang, width)


def _approve_with_preview(page, base: str) -> int:
    browser_login(page, base, "mz.analyst", "/datasets/residents")
    rid = _request(page, ["sfzh", "xm", "xb", "qx"], "低保资格核查")
    page.context.clear_cookies()
    browser_login(page, base, "ga.steward", "/exchange/inbox")
    form = page.locator(f"form.decide[data-request='{rid}']")
    # nothing is read until asked: the preview cells wait
    assert form.locator("code.preview-value").count() == 0
    form.locator("button.show-preview").click()
    xm = form.locator("td.mask-preview[data-field='xm'] code.preview-value")
    xm.nth(2).wait_for()
    clear = xm.all_inner_texts()
    assert len(clear) == 3 and all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", v) for v in clear)
    # the identity number's grade default hashes it
    sfzh = form.locator("td.mask-preview[data-field='sfzh'] code.preview-value")
    sfzh.nth(2).wait_for()
    digests = [sfzh.nth(i).get_attribute("data-value") for i in range(3)]
    assert all(re.fullmatch(r"[0-9a-f]{64}", v) for v in digests)
    assert all(t == d[:16] + "\u2026" for t, d in zip(sfzh.all_inner_texts(), digests, strict=True))
    # choosing a mask shows what it does to the same values
    form.locator("select[name=mask_xm]").select_option("keep_first:1")
    page.wait_for_function(
        """() => [...document.querySelectorAll("td.mask-preview[data-field='xm'] code.preview-value")]
              .length === 3 && [...document.querySelectorAll("td.mask-preview[data-field='xm'] code.preview-value")]
              .every(c => c.textContent.includes('*'))"""
    )
    masked = xm.all_inner_texts()
    assert [v[0] for v in masked] == [v[0] for v in clear] and all(set(v[1:]) == {"*"} for v in masked)
    # the row filter, checked as typed with the approval's own check, the message beside it
    row_filter = form.locator("input.row-filter")
    row_filter.fill("nosuch = 1")
    message = page.locator(f"#row-filter-msg-{rid}")
    page.wait_for_function(f"document.querySelector('#row-filter-msg-{rid}').classList.contains('error')")
    assert "nosuch" in message.inner_text()
    row_filter.fill("")
    form.locator("button.insert-field[data-field='xb']").click()
    row_filter.press("End")
    row_filter.type("= '女'")
    page.wait_for_function(f"document.querySelector('#row-filter-msg-{rid}').classList.contains('ok')")
    assert row_filter.input_value() == "xb = '女'"
    _inbox_shots(page, base, rid, "zh")
    _inbox_shots(page, base, rid, "en")
    page.goto(f"{base}/exchange/inbox?lang=zh")
    form = page.locator(f"form.decide[data-request='{rid}']")
    form.locator("select[name=mask_xm]").select_option("keep_first:1")
    form.locator("input.row-filter").fill("xb = '女'")
    page.set_viewport_size({"width": 1366, "height": 900})
    form.locator("input[name=reason]").fill("核查所需")
    form.locator("button[value=approve]").click()
    page.wait_for_selector("#banner")
    return rid


def test_approve_with_preview_then_the_request_timeline(server, page):  # noqa: F811
    rid = _approve_with_preview(page, server)
    page.goto(f"{server}/exchange/requests/{rid}")
    number = page.locator("#request-title .app-number").inner_text()
    assert re.fullmatch(rf"GX-\d{{4}}-{rid:06d}", number)
    steps = page.locator("#timeline li strong").all_inner_texts()
    assert steps == ["共享申请草稿", "共享申请提交", "授权生效", "共享申请批准"]
    assert "核查所需" in page.locator("#timeline").inner_text()
    grant_href = page.locator("#granted a.grant-link").get_attribute("href")
    for path in (f"/exchange/requests/{rid}", grant_href, "/datasets/residents?rows=1"):
        for lang in ("zh", "en"):
            for width in (1366, 390):
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(f"{server}{path}{'&' if '?' in path else '?'}lang={lang}")
                name = path.strip("/").replace("/", "-").split("?")[0]
                page.screenshot(path=f"{SHOTS}/{name}-{lang}-{width}.png", full_page=True)
                assert _wide(page) <= 0, (path, lang, width)
    # the grantee's side: the grant's page and the dataset's rows, masked
    page.context.clear_cookies()
    browser_login(page, server, "mz.analyst", "/datasets/residents?rows=1")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{server}/datasets/residents?rows=1")
    headers = page.locator("#rows th").all_inner_texts()
    assert "xb" in headers and set(headers) <= {"sfzh", "xm", "xb", "qx"}
    column = headers.index("xb") + 1
    cells = page.locator(f"#rows tbody tr td:nth-child({column})").all_inner_texts()
    assert cells and set(cells) <= {"女"}  # the row filter the steward set
    page.screenshot(path=f"{SHOTS}/dataset-rows-grantee-zh-1366.png", full_page=True)
    page.goto(f"{server}{grant_href}?lang=en")
    assert page.locator("#grant-state").inner_text() == "active"
    assert page.locator("#renew-form").count() == 0
    page.screenshot(path=f"{SHOTS}/grant-grantee-en-1366.png", full_page=True)


def test_a_rejected_request_amended_and_submitted_again(server, page):  # noqa: F811
    browser_login(page, server, "mz.analyst", "/datasets/residents")
    rid = _request(page, ["sfzh", "xm"], "核查")
    page.context.clear_cookies()
    browser_login(page, server, "ga.steward", "/exchange/inbox")
    form = page.locator(f"form.decide[data-request='{rid}']")
    form.locator("input[name=reason]").fill("身份证号不在用途范围内")
    form.locator("button[value=reject]").click()
    page.wait_for_selector("#banner")
    page.context.clear_cookies()
    browser_login(page, server, "mz.analyst", "/exchange")
    page.click(f"#my-requests a[href='/exchange/requests/{rid}']")
    page.wait_for_selector("#amend-form")
    page.uncheck("#amend-form input[name=fields][value=sfzh]")
    page.check("#amend-form input[name=fields][value=xb]")
    page.fill("#amend-form textarea[name=purpose]", "低保资格核查：核对姓名与性别")
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/request-amend-zh-{width}.png", full_page=True)
        assert _wide(page) <= 0
    page.set_viewport_size({"width": 1366, "height": 900})
    page.click("#amend-form button[type=submit]")
    page.wait_for_selector("#banner")
    assert page.locator("#request-state").inner_text() == "待审核"
    steps = page.locator("#timeline li strong").all_inner_texts()
    assert steps == ["共享申请草稿", "共享申请提交", "共享申请驳回", "共享申请修改", "共享申请提交"]
    assert "身份证号不在用途范围内" in page.locator("#timeline").inner_text()
    assert page.locator("#fields-asked code").all_inner_texts() == ["xm", "xb"]
    assert page.locator("#amend-form").count() == 0
    page.goto(f"{server}/exchange/requests/{rid}?lang=en")
    assert "request amended" in page.locator("#timeline").inner_text()
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=f"{SHOTS}/request-resubmitted-en-{width}.png", full_page=True)
        assert _wide(page) <= 0
