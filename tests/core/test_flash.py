"""Banners: shown once after the redirect that set them, in the reader's language; junk is ignored."""

import base64

from fastapi.testclient import TestClient

from shuzhi.web import flash


def test_a_tampered_or_foreign_banner_cookie_is_no_banner(app):
    c = TestClient(app)
    for junk in ("%%%", base64.urlsafe_b64encode(b'{"k":"evil","zh":"x","en":"y"}').decode(), "e30="):
        c.cookies.set(flash.FLASH_COOKIE, junk)
        assert 'class="banner' not in c.get("/login").text


def test_a_banner_is_escaped_and_in_the_chosen_language(app):
    c = TestClient(app)
    resp = flash.redirect("/login", "<b>好</b>", "<b>fine</b>")
    cookie = resp.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    c.cookies.set(flash.FLASH_COOKIE, cookie)
    page = c.get("/login?lang=en")
    assert "&lt;b&gt;fine&lt;/b&gt;" in page.text and "<b>fine" not in page.text
    assert "flash=;" in page.headers["set-cookie"]  # shown: cleared
