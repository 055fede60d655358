"""Finding 10: wrong passwords without end. Throttling per account and per address, lockouts a steward
or an admin lifts, all in the store (every server process agrees) and in the ledger."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import PASSWORD

from shuzhi.ledger import LedgerEntry
from shuzhi.orgs.models import LoginThrottle

WRONG = "not-the-password"


def _token(client, username: str, password: str):
    return client.post("/api/v1/tokens", json={"username": username, "password": password})


def _events(db, event: str) -> list[LedgerEntry]:
    with db.session() as s:
        return list(
            s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        )


@pytest.fixture
def people(make_user, token_for):
    make_user("root", dept="BDB", roles=("admin",))
    make_user("ga.steward", dept="GA", roles=("steward",))
    make_user("ga.analyst", dept="GA", roles=("analyst",))
    make_user("li.na", dept="GA", roles=("analyst",))
    make_user("rs.steward", dept="RS", roles=("steward",))
    return {name: token_for(name) for name in ("root", "ga.steward", "ga.analyst", "rs.steward")}


def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, db, people):
    answers = [_token(client, "li.na", WRONG) for _ in range(30)]
    limit = client.app.state.settings.auth.max_failures_per_account
    assert [r.status_code for r in answers[:limit]] == [401] * limit
    assert {r.status_code for r in answers[limit:]} == {429}
    right = _token(client, "li.na", PASSWORD)
    assert right.status_code == 429, right.text
    assert int(right.headers["Retry-After"]) >= 1
    assert right.json()["error"] == "throttled" and "token" not in right.json()
    # the lockout and each refused attempt are in the ledger; refused attempts never reached the hash
    locked = _events(db, "auth.locked")
    assert len(locked) == 1 and '"username":"li.na"' in locked[0].entry and locked[0].outcome == "denied"
    assert len(_events(db, "auth.login_throttled")) == 30 - limit + 1
    assert len(_events(db, "auth.login_failed")) == limit
    # an unknown username is throttled the same way: a lockout says nothing about who exists
    for _ in range(limit):
        assert _token(client, "no.such.user", WRONG).status_code == 401
    assert _token(client, "no.such.user", WRONG).status_code == 429


def test_the_login_page_is_throttled_too(client, db, people):
    def post(password: str):
        form = client.get("/login").text
        token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
        return client.post(
            "/login",
            data={"username": "li.na", "password": password, "login_csrf": token},
            follow_redirects=False,
        )

    limit = client.app.state.settings.auth.max_failures_per_account
    assert [post(WRONG).status_code for _ in range(limit)] == [401] * limit
    r = post(PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "登录失败次数过多" in r.text and "shuzhi_session" not in r.cookies
    # the same lockout holds on the token endpoint: one count per account, whichever face is used
    assert _token(client, "li.na", PASSWORD).status_code == 429


def test_a_steward_of_the_department_unlocks_and_it_is_audited(client, db, people):
    for _ in range(10):
        _token(client, "li.na", WRONG)
    assert _token(client, "li.na", PASSWORD).status_code == 429
    r = client.post("/api/v1/users/li.na/unlock", headers=people["ga.steward"])
    assert r.status_code == 200, r.text
    assert r.json()["unlocked"] is True and r.json()["locked_until"] is not None
    assert _token(client, "li.na", PASSWORD).status_code == 201
    entry = _events(db, "auth.unlocked")[-1]
    with db.session() as s:
        from shuzhi.orgs import service as orgs

        steward_id = orgs.get_user(s, "ga.steward").id
        dept_id = orgs.get_user(s, "li.na").department_id
    assert (entry.user_id, entry.department_id, entry.outcome) == (steward_id, dept_id, "ok")
    assert '"username":"li.na"' in entry.entry and '"kind":"account"' in entry.entry


def test_an_admin_unlocks_through_the_cli(cli_env, db, people, client):
    from typer.testing import CliRunner

    from shuzhi.cli import app as cli

    for _ in range(6):
        _token(client, "li.na", WRONG)
    assert _token(client, "li.na", PASSWORD).status_code == 429
    result = CliRunner().invoke(cli, ["user", "unlock", "li.na"])
    assert result.exit_code == 0, result.output
    assert _token(client, "li.na", PASSWORD).status_code == 201
    assert '"username":"li.na"' in _events(db, "auth.unlocked")[-1].entry


@pytest.mark.parametrize("who", ["ga.analyst", "rs.steward"])
def test_an_analyst_or_another_departments_steward_cannot_unlock(client, db, people, who):
    for _ in range(6):
        _token(client, "li.na", WRONG)
    r = client.post("/api/v1/users/li.na/unlock", headers=people[who])
    assert r.status_code == 403, r.text
    assert _token(client, "li.na", PASSWORD).status_code == 429
    assert _events(db, "auth.unlocked") == []


def test_a_steward_cannot_unlock_an_admin_but_an_admin_can(client, db, people, make_user, token_for):
    make_user("ga.admin", dept="GA", roles=("admin",))
    for _ in range(6):
        _token(client, "ga.admin", WRONG)
    assert client.post("/api/v1/users/ga.admin/unlock", headers=people["ga.steward"]).status_code == 403
    assert client.post("/api/v1/users/ga.admin/unlock", headers=people["root"]).status_code == 200
    assert _token(client, "ga.admin", PASSWORD).status_code == 201


def test_the_address_limit_holds_across_many_accounts(app, client, db, people, make_user):
    auth = app.state.settings.auth
    auth.max_failures_per_address = 12
    names = [f"user{i}" for i in range(7)]
    for name in names:
        make_user(name, dept="GA")
    # two wrong passwords per account: no account reaches its own limit, the address reaches its own
    for name in names[:6]:
        assert [_token(client, name, WRONG).status_code for _ in range(2)] == [401, 401]
    r = _token(client, names[6], PASSWORD)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    locked = _events(db, "auth.locked")
    assert len(locked) == 1 and '"kind":"address"' in locked[0].entry
    # another address logs in as usual: the lockout is the address's, not the accounts'
    with TestClient(app, client=("192.0.2.7", 40000)) as elsewhere:
        assert _token(elsewhere, names[6], PASSWORD).status_code == 201
    # the admin lifts it
    r = client.post("/api/v1/login-addresses/testclient/unlock", headers=people["root"])
    assert r.status_code == 200, r.text
    assert _token(client, names[6], PASSWORD).status_code == 201
    assert '"kind":"address"' in _events(db, "auth.unlocked")[-1].entry
    assert (
        client.post("/api/v1/login-addresses/testclient/unlock", headers=people["ga.steward"]).status_code
        == 403
    )


def test_the_counts_live_in_the_store(app, client, db, people, settings):
    """A second server process on the same store sees the lockout the first one set."""
    from shuzhi.store.db import Database
    from shuzhi.web.app import create_app

    for _ in range(5):
        _token(client, "li.na", WRONG)
    other_db = Database(settings.db_url)
    try:
        with TestClient(create_app(settings, db=other_db), client=("198.51.100.9", 1)) as other:
            assert _token(other, "li.na", PASSWORD).status_code == 429
    finally:
        other_db.dispose()
    with db.session() as s:
        row = s.scalar(select(LoginThrottle).where(LoginThrottle.kind == "account"))
        assert row.key == "li.na" and row.locked_until is not None and row.refused == 1


def test_lockouts_double_and_a_right_password_clears_the_count(db, people):
    from datetime import timedelta

    from shuzhi.errors import Throttled
    from shuzhi.orgs import service as orgs
    from shuzhi.orgs import throttle
    from shuzhi.orgs.settings import AuthSettings
    from shuzhi.store.base import utcnow

    auth = AuthSettings(max_failures_per_account=3, lockout_s=60, max_lockout_s=200)

    def attempt(password):
        with db.transaction() as s:
            try:
                return orgs.authenticate(s, "li.na", password, address="203.0.113.5", auth=auth)
            except Throttled as e:
                return e

    def expire_lock():  # as if the lockout had just run out, within the same counting window
        with db.transaction() as s:
            row = throttle.lockout_of(s, "account", "li.na")
            row.locked_until = utcnow() - timedelta(seconds=1)

    seconds = []
    for _ in range(3):
        assert [attempt(WRONG) for _ in range(3)] == [None, None, None]
        assert isinstance(attempt(PASSWORD), Throttled)
        seconds.append(int(re.search(r'"seconds":(\d+)', _events(db, "auth.locked")[-1].entry).group(1)))
        expire_lock()
    assert seconds == [60, 120, 200]  # doubling, up to the cap
    assert attempt(PASSWORD).username == "li.na"
    assert attempt(WRONG) is None and attempt(WRONG) is None
    assert attempt(PASSWORD).username == "li.na"  # two failures after a success: not locked


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:fffe", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("testclient", "testclient"),
    ],
)
def test_failures_count_per_ipv4_address_and_per_ipv6_64(address, key):
    from shuzhi.orgs.throttle import address_key

    assert address_key(address) == key
