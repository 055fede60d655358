"""Banners: shown once after the redirect that set them, in the reader's language; junk is ignored."""

import base64
import json

from fastapi.testclient import TestClient

from shuzhi.web import flash


def test_a_tampered_or_foreign_banner_cookie_is_no_banner(app):
    c = TestClient(app)
    foreign = (b'{"k":"evil","m":"x"}', b'{"k":"info","m":"x","p":{"a":[1]}}', b'{"k":"info","m":7}')
    for junk in ("%%%", "e30=", *(base64.urlsafe_b64encode(f).decode() for f in foreign)):
        c.cookies.set(flash.FLASH_COOKIE, junk)
        assert 'class="banner' not in c.get("/login").text


def _carrying(client, resp) -> None:
    client.cookies.set(flash.FLASH_COOKIE, resp.headers["set-cookie"].split(";")[0].split("=", 1)[1])


def test_a_banner_is_the_catalogs_message_in_the_chosen_language_its_values_escaped(app):
    c = TestClient(app)
    _carrying(c, flash.redirect("/login", "Request #%(id)s rejected.", id="<b>7</b>"))
    page = c.get("/login?lang=en")
    assert "Request #&lt;b&gt;7&lt;/b&gt; rejected." in page.text and "<b>7" not in page.text
    assert "flash=;" in page.headers["set-cookie"]  # shown: cleared
    _carrying(c, flash.redirect("/login", "Request #%(id)s rejected.", id=7))
    assert "申请 #7 已驳回。" in c.get("/login?lang=zh").text


def test_a_message_and_values_that_do_not_fit_leave_the_place_as_it_is(app):
    c = TestClient(app)
    _carrying(c, flash.redirect("/login", "Request #%(id)s rejected.", number=7))
    assert "Request #%(id)s rejected." in c.get("/login?lang=en").text


def test_a_crafted_banner_cookie_shows_nothing_and_costs_nothing(app):
    """A cookie is the client's to write: a message the catalog lacks is no banner, and a width in a
    place (which Python's % would pad to gigabytes) is never interpreted."""
    c = TestClient(app)
    for message in ("%(a)2000000000s", "<script>x</script>", "Saved. %(a)999999999s"):
        raw = json.dumps({"k": "info", "m": message, "p": {"a": ""}}).encode()
        c.cookies.set(flash.FLASH_COOKIE, base64.urlsafe_b64encode(raw).decode())
        page = c.get("/login")
        assert page.status_code == 200 and 'id="banner"' not in page.text
    assert flash.text({"message": "Saved.", "params": {}}, str, lambda m: True) == "Saved."
    assert flash.text({"message": "x %(a)9s", "params": {"a": "1"}}, str, lambda m: True) == "x %(a)9s"
