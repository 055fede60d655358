"""The main pages fit a phone (390 px) and a laptop (1366 px) in both languages: nothing widens the
page past the screen (a wide table scrolls inside its card)."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, browser_login

pytestmark = BROWSER

PAGES = {
    "ga.steward": [
        "/catalog?q=人口",
        "/datasets/GA-RK-001",
        "/datasets/GA-RK-001?reveal=1",
        "/departments",
        "/exchange/inbox",
        "/",
        "/notifications",
    ],
    "bdb.auditor": ["/audit", "/audit?user=nobody", "/audit/tree-head", "/audit/public-key"],
    "rs.analyst": ["/datasets/GA-RK-001", "/exchange/grants", "/exchange", "/"],
}


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_no_page_is_wider_than_the_screen(city, page, width, lang):
    page.set_viewport_size({"width": width, "height": 900})
    wide = []
    for user, paths in PAGES.items():
        page.context.clear_cookies()
        browser_login(page, city, user, "/catalog")
        for path in paths:
            page.goto(city + path + ("&" if "?" in path else "?") + f"lang={lang}")
            over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            if over > 0:
                wide.append((user, path, over))
    assert wide == []
