"""The administration pages in Debian's Chromium: an admin adds a department and a user, creates and revokes
their own token, registers a dataset and uploads a CSV, watching its progress to the end; every admin page
fits 1366 and 390 px in both languages."""

from __future__ import annotations

import pytest
from tests.conftest import BROWSER, PASSWORD, browser_login

pytestmark = BROWSER

SHOTS = "/tmp/shuzhi-admin"


@pytest.fixture
def server(sqlite_db, live_server):
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="BDB", name_zh="市大数据管理局", name_en="Big Data Bureau")
        orgs.create_department(s, code="GA", name_zh="市公安局", name_en="Public Security Bureau")
        orgs.create_user(
            s,
            username="root",
            password=PASSWORD,
            department_code="BDB",
            roles=["admin"],
            display_name="平台管理员",
        )
    return live_server


def _banner(page) -> str:
    return page.locator("#banner").inner_text()


def test_admin_walks_through_the_admin_pages(server, page, tmp_path, sqlite_db):
    page.set_viewport_size({"width": 1366, "height": 900})
    browser_login(page, server, "root", "/catalog")
    page.click("#nav-admin")
    page.wait_for_url("**/admin")

    # A department under the public security bureau.
    page.click("#go-departments")
    page.fill("#dept-form input[name=code]", "GA-XC")
    page.fill("#dept-form input[name=name_zh]", "西城分局")
    page.fill("#dept-form input[name=name_en]", "Xicheng Branch")
    page.select_option("#dept-form select[name=level]", "district")
    page.select_option("#dept-form select[name=parent]", "GA")
    page.click("#dept-form button[type=submit]")
    assert "西城分局（GA-XC）已添加" in _banner(page)
    assert page.locator("#dept-GA #dept-GA-XC").is_visible()

    # A user of it: a duplicate name is refused beside the field first, with the input kept.
    page.goto(server + "/admin/users")
    page.fill("#user-form input[name=username]", "root")
    page.fill("#user-form input[name=display_name]", "西城管理员")
    page.select_option("#user-form select[name=department]", "GA-XC")
    page.check("#user-form input[name=roles][value=steward]")
    page.fill("#user-form input[name=password]", "first-password-1")
    page.click("#user-form button[type=submit]")
    assert "用户名已存在" in page.locator("#user-form [data-where=username]").inner_text()
    assert page.input_value("#user-form input[name=display_name]") == "西城管理员"
    assert page.is_checked("#user-form input[name=roles][value=steward]")
    page.fill("#user-form input[name=username]", "xc.steward")
    page.fill("#user-form input[name=password]", "first-password-1")
    page.click("#user-form button[type=submit]")
    assert "xc.steward 已添加" in _banner(page)
    assert "西城管理员" in page.locator("#user-xc\\.steward").inner_text()
    page.click("#user-xc\\.steward summary")
    page.screenshot(path=f"{SHOTS}-user-actions-1366-zh.png", full_page=True)

    # One's own token: shown once, then only its prefix; revoked.
    page.hover("#menu-me .menu-title")  # one's tokens are under one's name
    page.click("#nav-tokens")
    page.fill("#token-form input[name=name]", "夜间同步")
    page.fill("#token-form input[name=days]", "30")
    page.click("#token-form button[type=submit]")
    clear = page.locator("#token-value").inner_text()
    assert clear.startswith("szt_")
    page.screenshot(path=f"{SHOTS}-token-created-1366-zh.png", full_page=True)
    page.goto(server + "/me/tokens")
    assert page.locator("#token-value").count() == 0 and clear not in page.content()
    page.click("#tokens form.revoke button")
    assert "夜间同步 已撤销" in _banner(page)
    assert "已撤销" in page.locator("#tokens tbody tr").first.inner_text()

    # A dataset registered and its data uploaded, watched to the end.
    page.goto(server + "/admin/datasets")
    page.fill("#dataset-form input[name=identifier]", "ga-xc-jq")
    page.fill("#dataset-form input[name=title_zh]", "西城警情统计")
    page.fill("#dataset-form input[name=title_en]", "Xicheng incident statistics")
    page.select_option("#dataset-form select[name=department]", "GA-XC")
    page.select_option("#dataset-form select[name=theme]", "safety")
    page.select_option("#dataset-form select[name=update_frequency]", "monthly")
    page.select_option("#dataset-form select[name=share_type]", "none")
    page.click("#dataset-form button[type=submit]")
    assert "不予共享须注明法律或政策依据" in page.locator("#dataset-form .error").inner_text()
    assert page.input_value("#dataset-form input[name=title_zh]") == "西城警情统计"
    page.screenshot(path=f"{SHOTS}-dataset-refused-1366-zh.png", full_page=True)
    page.fill("#dataset-form input[name=share_basis]", "《中华人民共和国人民警察法》")
    page.click("#dataset-form button[type=submit]")
    page.wait_for_url("**/admin/datasets/ga-xc-jq/upload")
    assert "ga-xc-jq 已登记" in _banner(page)
    source = tmp_path / "警情.csv"
    source.write_text(
        "month,kind,count\n" + "".join(f"2024-{m:02d},盗窃,{10 + m}\n" for m in range(1, 13)),
        encoding="utf-8",
    )
    page.set_input_files("#upload-form input[type=file]", str(source))
    page.click("#upload-form button[type=submit]")
    page.wait_for_url("**/admin/uploads/*")
    page.wait_for_selector("#upload-job[data-state=done]")
    assert "已保存为版本 1，共 12 行" in page.locator("#upload-state").inner_text()
    assert page.evaluate("document.getElementById('upload-bar').value") == 1
    progress_path = page.url.removeprefix(server)
    page.click("#to-dataset")
    page.wait_for_url("**/datasets/ga-xc-jq")

    # Every admin page, both widths, both languages: looked at, and nothing wider than the screen.
    paths = {
        "index": "/admin",
        "departments": "/admin/departments",
        "department-edit": "/admin/departments/GA-XC",
        "users": "/admin/users",
        "tokens": "/me/tokens",
        "datasets": "/admin/datasets",
        "upload": "/admin/datasets/ga-xc-jq/upload",
        "progress": progress_path,
        "vocabularies": "/admin/vocabularies",
    }
    wide = []
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for lang in ("zh", "en"):
            for name, path in paths.items():
                page.goto(f"{server}{path}?lang={lang}")
                over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if over > 0:
                    wide.append((name, width, lang, over))
                page.screenshot(path=f"{SHOTS}-{name}-{width}-{lang}.png", full_page=True)
    assert wide == []
