"""Every page route, walked in Chromium by each role with bad input — unknown ids, a page number of
0, words where numbers belong, empty forms: each answer is a page of the site (its header, in the
reader's language), never raw JSON, never a server error. Routes are read from the app, so a page
added later is walked too."""

from __future__ import annotations

import re

import pytest
from tests.conftest import BROWSER, browser_login

from shuzhi.web.app import create_app, route_table
from shuzhi.web.templating import is_machine_path

pytestmark = BROWSER

SKIP = {"/login", "/logout", "/lang/{lang}"}  # the way in and out: walked by the login tests
BAD_QUERY = "page=0&before_seq=abc&sort=random&reveal=maybe&since=yesterday&dataset=NO-SUCH&limit=-1"
ROLES = ("rs.analyst", "ga.steward", "bdb.auditor", "bdb.admin")


def _page_routes(settings, db) -> list[tuple[str, str]]:
    app = create_app(settings, db=db)
    return [
        (method, path) for method, path in route_table(app) if not is_machine_path(path) and path not in SKIP
    ]


def _junk(path: str) -> str:
    """The route with each path parameter filled with something that names nothing."""

    def fill(m: re.Match) -> str:
        name = m.group(1).split(":")[0]
        return "99999999" if name.endswith("id") or name in ("seq",) else "NO-SUCH"

    return re.sub(r"\{([^}]+)\}", fill, path)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_answers_bad_input_with_a_page(city, page, sqlite_settings, sqlite_db, lang):
    routes = _page_routes(sqlite_settings, sqlite_db)
    assert len(routes) > 20
    wrong = []
    for user in ROLES:
        browser_login(page, city, user, "/catalog")
        page.goto(f"{city}/catalog?lang={lang}")
        token = page.locator("input[name=csrf_token]").first.get_attribute("value")
        for method, path in routes:
            url = f"{city}{_junk(path)}"
            if method == "GET":
                resp = page.goto(f"{url}?{BAD_QUERY}")
                status, ctype, text = resp.status, resp.headers.get("content-type", ""), page.content()
                has_header = page.locator("header.topbar").count() == 1
            else:
                resp = page.request.post(url, form={"csrf_token": token}, max_redirects=5)
                status, ctype, text = resp.status, resp.headers.get("content-type", ""), resp.text()
                has_header = 'class="topbar"' in text
            if status >= 500 or "text/html" not in ctype or not has_header or text.lstrip().startswith("{"):
                wrong.append((user, method, path, status, ctype))
            elif lang == "en" and "无法完成请求" in text:
                wrong.append((user, method, path, "Chinese error page in English mode"))
    assert wrong == []
