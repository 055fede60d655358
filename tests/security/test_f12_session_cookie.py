"""Finding 12: the session cookie. SameSite=Strict, so that a cross-site navigation (a GET that reads data
and spends the user's quota) arrives without it; Secure over https, or as the setting forces."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from tests.conftest import PASSWORD

from shuzhi.web.deps import SESSION_COOKIE


def _login(client: TestClient):
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text).group(1)
    return client.post(
        "/login",
        data={"username": "ga.steward", "password": PASSWORD, "next": "/catalog", "login_csrf": token},
        follow_redirects=False,
    )


def _cookie_attrs(response, name: str) -> dict[str, str | bool]:
    (header,) = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    parts = [p.strip() for p in header.split(";")][1:]
    return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else True) for p in parts}


@pytest.fixture
def steward(make_user):
    make_user("ga.steward", dept="GA", roles=("steward",))


def test_the_session_cookie_is_strict_and_http_only(client, steward):
    r = _login(client)
    assert r.status_code == 303 and r.headers["location"] == "/catalog"
    attrs = _cookie_attrs(r, SESSION_COOKIE)
    assert attrs["samesite"].lower() == "strict" and attrs["httponly"] is True
    assert "secure" not in attrs  # plain http on the default "auto"
    # the login's own redirect lands logged in: the flow browsers follow still works
    assert client.get("/catalog", follow_redirects=False).status_code == 200
    page = client.get("/catalog").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    out = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    gone = _cookie_attrs(out, SESSION_COOKIE)
    assert gone["samesite"].lower() == "strict" and gone["max-age"] == "0"


def test_over_https_the_cookies_are_secure(app, steward):
    with TestClient(app, base_url="https://testserver") as secure:
        assert "secure" in _cookie_attrs(secure.get("/login"), "login_csrf")
        r = _login(secure)
        assert r.status_code == 303
        assert _cookie_attrs(r, SESSION_COOKIE)["secure"] is True
        assert secure.get("/catalog", follow_redirects=False).status_code == 200


@pytest.mark.parametrize(
    ("mode", "base", "secure"),
    [("always", "http://testserver", True), ("never", "https://testserver", False)],
)
def test_the_setting_forces_the_secure_flag(app, steward, mode, base, secure):
    app.state.settings.auth.secure_cookies = mode
    with TestClient(app, base_url=base) as c:
        form = c.get("/login")
        assert ("secure" in _cookie_attrs(form, "login_csrf")) is secure
        # a client on plain http would not send back a Secure cookie: hand it over as a proxy would
        c.cookies.clear()
        c.cookies.set("login_csrf", form.cookies["login_csrf"])
        token = re.search(r'name="login_csrf" value="([^"]+)"', form.text).group(1)
        r = c.post(
            "/login",
            data={"username": "ga.steward", "password": PASSWORD, "login_csrf": token},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert ("secure" in _cookie_attrs(r, SESSION_COOKIE)) is secure
