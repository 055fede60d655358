"""Applications through their faces: the portal's account pages, the departments' page and API, and what a portal login can never reach."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import csrf_of, login
from tests.opendata.conftest import plan

from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import applications, releases, usage
from shuzhi.opendata.application_models import PortalUser
from shuzhi.opendata.models import Release
from shuzhi.web.ckan.ratelimit import RateLimiter
from shuzhi.web.portal_account import PORTAL_COOKIE

TODAY = date.today()


@pytest.fixture
def release(world) -> int:
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, "population", plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, world.steward2, s.get(Release, rid))
    return rid


def _form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def register(client, email: str = "li@example.org", next: str = "/open/account"):
    client.cookies.clear()
    token = _form_token(client.get(f"/open/register?next={next}").text)
    return client.post(
        "/open/register",
        data={
            "email": email,
            "password": "correct horse",
            "display_name": "李研究",
            "organisation": "某大学",
            "next": next,
            "form_token": token,
        },
        follow_redirects=False,
    )


def apply(client, **over):
    page = client.get("/open/dataset/population/apply")
    assert page.status_code == 200, page.text
    data = {
        "csrf_token": csrf_of(page.text),
        "terms_sha256": applications.terms_sha256(),
        "accept_terms": "yes",
        "purpose": "研究低保覆盖率",
        "organisation": "某大学",
        "start": TODAY.isoformat(),
        "end": (TODAY + timedelta(days=30)).isoformat(),
        **over,
    }
    return client.post("/open/dataset/population/apply", data=data, follow_redirects=False)


def app_id_of(world) -> int:
    with world.db.read() as s:
        return s.scalar(select(applications.Application.id).order_by(applications.Application.id.desc()))


@pytest.fixture
def portal(app):
    with TestClient(app) as c:
        yield c


def test_register_apply_approve_download(world, release, portal, client, token_for):
    r = register(portal, next="/open/dataset/population/apply")
    assert r.status_code == 303 and r.headers["location"] == "/open/dataset/population/apply"
    assert PORTAL_COOKIE in r.cookies and "shuzhi_session" not in r.cookies
    page = portal.get("/open/dataset/population/apply")
    assert "Name the publishing department" in page.text or "注明发布部门" in page.text
    done = apply(portal)
    assert done.status_code == 303 and done.headers["location"] == "/open/account"
    mine = portal.get("/open/account").text
    assert 'data-state="submitted"' in mine and "population" in mine and "/download" not in mine
    app_id = app_id_of(world)
    assert portal.get(f"/open/account/applications/{app_id}/download").status_code == 403
    steward = token_for("ga_steward")
    listed = client.get("/api/v1/opendata/applications", headers=steward).json()["applications"]
    assert [(a["id"], a["state"], a["applicant"]["email"]) for a in listed] == [
        (app_id, "submitted", "li@example.org")
    ]
    end = (TODAY + timedelta(days=7)).isoformat()
    ok = client.post(f"/api/v1/opendata/applications/{app_id}/approve", json={"end": end}, headers=steward)
    assert ok.status_code == 200 and ok.json()["granted"] == {"start": TODAY.isoformat(), "end": end}
    mine = portal.get("/open/account").text
    assert 'data-state="approved"' in mine and f"/open/account/applications/{app_id}/download" in mine
    got = portal.get(f"/open/account/applications/{app_id}/download")
    assert got.status_code == 200 and got.content[:4] == b"PAR1"
    with world.db.read() as s:
        [entry] = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "opendata.data_read")).all()
        assert json.loads(entry.entry)["detail"]["application_id"] == app_id
    # the public CKAN API stays closed to everyone: it knows no portal login
    cond = f"population-r{release}"
    assert client.get("/api/3/action/datastore_search", params={"resource_id": cond}).status_code == 403


def test_api_denials(world, release, portal, client, token_for):
    register(portal)
    apply(portal)
    app_id = app_id_of(world)
    other = token_for("sc_steward")
    assert client.get("/api/v1/opendata/applications", headers=other).json()["applications"] == []
    assert client.get(f"/api/v1/opendata/applications/{app_id}", headers=other).status_code == 404
    assert client.post(f"/api/v1/opendata/applications/{app_id}/approve", headers=other).status_code == 404
    assert client.get("/api/v1/opendata/applications", headers=token_for("ga_analyst")).status_code == 403
    assert client.get("/api/v1/opendata/applications").status_code == 401
    no_reason = client.post(f"/api/v1/opendata/applications/{app_id}/reject", headers=token_for("ga_steward"))
    assert no_reason.status_code == 422
    admin = token_for("admin1")
    assert client.post(f"/api/v1/opendata/applications/{app_id}/approve", headers=admin).status_code == 200
    longer = (TODAY + timedelta(days=400)).isoformat()
    again = client.post(
        f"/api/v1/opendata/applications/{app_id}/approve", json={"end": longer}, headers=admin
    )
    assert again.status_code == 409
    gone = client.post(
        f"/api/v1/opendata/applications/{app_id}/revoke", json={"reason": "违规"}, headers=admin
    )
    assert gone.json()["state"] == "revoked"
    assert portal.get(f"/open/account/applications/{app_id}/download").status_code == 403


def test_a_portal_login_reaches_nothing_of_staff(world, release, portal):
    register(portal)
    clear = portal.cookies.get(PORTAL_COOKIE)
    assert portal.get("/open/account").status_code == 200
    for path in ("/catalog", "/exchange/inbox", "/opendata/applications", "/admin", "/audit"):
        r = portal.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    assert portal.get("/api/v1/opendata/applications").status_code == 401
    bearer = {"Authorization": f"Bearer {clear}"}
    assert portal.get("/api/v1/datasets", headers=bearer).status_code == 401
    portal.cookies.set("shuzhi_session", clear)  # the portal's value as a staff cookie is no login
    assert portal.get("/catalog", follow_redirects=False).status_code == 303


def test_another_applicants_application_is_not_there(world, release, portal, app):
    register(portal)
    apply(portal)
    app_id = app_id_of(world)
    with world.db.transaction() as s:
        applications.approve(s, world.steward, s.get(applications.Application, app_id))
    with TestClient(app) as other:
        register(other, "wang@example.org")
        assert other.get(f"/open/account/applications/{app_id}/download").status_code == 404
        assert "population" not in other.get("/open/account").text


def test_portal_forms_refuse_bad_input_and_forged_posts(world, release, portal):
    r = register(portal, next="https://evil.example/")
    assert r.headers["location"] == "/open/account"
    terms = apply(portal, accept_terms="")
    assert terms.status_code == 422 and 'data-where="terms"' in terms.text
    bad_day = apply(portal, end="31/12/2026")
    assert bad_day.status_code == 422 and 'data-where="end"' in bad_day.text
    forged = portal.post(
        "/open/dataset/population/apply", data={"csrf_token": "x", "purpose": "p"}, follow_redirects=False
    )
    assert forged.status_code == 403
    portal.cookies.clear()
    assert portal.get("/open/account", follow_redirects=False).headers["location"].startswith("/open/login")
    no_token = portal.post("/open/login", data={"email": "li@example.org", "password": "correct horse"})
    assert no_token.status_code == 403
    token = _form_token(portal.get("/open/login").text)
    wrong = portal.post(
        "/open/login", data={"email": "li@example.org", "password": "nope", "form_token": token}
    )
    assert wrong.status_code == 401
    token = _form_token(portal.get("/open/login").text)
    ok = portal.post(
        "/open/login",
        data={"email": "li@example.org", "password": "correct horse", "form_token": token},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and portal.get("/open/account").status_code == 200
    out = portal.post("/open/logout", data={"csrf_token": csrf_of(portal.get("/open/account").text)})
    assert out.status_code == 200 and portal.get("/open/account", follow_redirects=False).status_code == 303


def test_the_steward_page_decides(world, release, portal, client):
    register(portal)
    apply(portal)
    app_id = app_id_of(world)
    login(client, "ga_steward", next="/opendata/applications")
    page = client.get("/opendata/applications")
    assert (
        page.status_code == 200
        and f'id="application-{app_id}"' in page.text
        and "研究低保覆盖率" in page.text
    )
    token = csrf_of(page.text)
    refused = client.post(f"/opendata/applications/{app_id}/reject", data={"csrf_token": token, "reason": ""})
    assert refused.status_code == 422 and 'data-where="reason"' in refused.text
    ok = client.post(
        f"/opendata/applications/{app_id}/approve",
        data={"csrf_token": token, "reason": "同意"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert 'data-state="approved"' in portal.get("/open/account").text
    login(client, "sc_steward", next="/opendata/applications")
    assert f'id="application-{app_id}"' not in client.get("/opendata/applications").text


def test_register_and_login_posts_are_rate_limited_per_client(world, app):
    """A flood of register or login POSTs from one client is refused (429, a page, Retry-After)
    before it writes anything; another client is not held up."""
    app.state.ckan_limiter = RateLimiter(1, 3)
    with (
        TestClient(app, client=("10.0.0.1", 1000)) as busy,
        TestClient(app, client=("10.0.0.2", 1000)) as other,
    ):
        answers = [register(busy, email=f"u{i}@example.org").status_code for i in range(3)]
        assert answers == [303, 303, 303]  # the forms' GETs are not counted
        refused = register(busy, email="u9@example.org")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["content-type"].startswith("text/html") and 'role="alert"' in refused.text
        token = _form_token(busy.get("/open/login").text)
        login_post = busy.post(
            "/open/login",
            data={"email": "u0@example.org", "password": "correct horse", "form_token": token},
            follow_redirects=False,
        )
        assert login_post.status_code == 429 and int(login_post.headers["Retry-After"]) >= 1
        assert 'role="alert"' in login_post.text and PORTAL_COOKIE not in login_post.cookies
        assert register(other, email="other@example.org").status_code == 303
        other.cookies.clear()
        token = _form_token(other.get("/open/login").text)
        ok = other.post(
            "/open/login",
            data={"email": "u1@example.org", "password": "correct horse", "form_token": token},
            follow_redirects=False,
        )
        assert ok.status_code == 303 and PORTAL_COOKIE in ok.cookies
    with world.db.read() as s:
        emails = set(s.scalars(select(PortalUser.email)).all())
    assert emails == {"u0@example.org", "u1@example.org", "u2@example.org", "other@example.org"}


def test_a_conditional_resource_url_is_the_portal_page_not_a_refused_download(world, release, client):
    res = client.get("/api/3/action/resource_show", params={"id": f"population-r{release}"}).json()["result"]
    assert res["url"] == "http://testserver/open/dataset/population" and res["url_type"] is None
    page = client.get(res["url"].removeprefix("http://testserver"))
    assert page.status_code == 200 and "/open/dataset/population/apply" in page.text
    [listed] = client.get("/api/3/action/package_show", params={"id": "population"}).json()["result"][
        "resources"
    ]
    assert listed["url"] == res["url"]


def _approve(world, client, token_for) -> int:
    app_id = app_id_of(world)
    steward = token_for("ga_steward")
    r = client.post(f"/api/v1/opendata/applications/{app_id}/approve", json={}, headers=steward)
    assert r.status_code == 200, r.text
    return app_id


def test_an_approved_applicant_downloads_every_format_from_the_dataset_page(
    world, release, portal, client, token_for
):
    register(portal)
    apply(portal)
    html = portal.get("/open/dataset/population").text
    assert "download.csv" not in html and 'id="granted"' not in html  # submitted, not approved
    for fmt in ("csv", "xlsx", "json", "parquet"):
        refused = portal.get(f"/open/dataset/population/download.{fmt}")
        assert refused.status_code == 403 and 'href="/open/dataset/population/apply"' in refused.text
    app_id = _approve(world, client, token_for)
    html = portal.get("/open/dataset/population").text
    assert 'id="granted"' in html
    for fmt in ("csv", "xlsx", "json", "parquet"):
        assert f'href="/open/dataset/population/download.{fmt}"' in html
    got = {
        fmt: portal.get(f"/open/dataset/population/download.{fmt}")
        for fmt in ("csv", "xlsx", "json", "parquet")
    }
    assert all(r.status_code == 200 for r in got.values()), {f: r.status_code for f, r in got.items()}
    assert got["parquet"].content[:4] == b"PAR1" and got["xlsx"].content[:2] == b"PK"
    assert got["csv"].content.startswith("\ufeff".encode()) and json.loads(got["json"].content)
    with world.db.read() as s:
        reads = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "opendata.data_read")).all()
        downloads = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "opendata.release_downloaded")
        ).all()
        assert [json.loads(e.entry)["detail"]["application_id"] for e in reads] == [app_id] * 4
        assert {json.loads(e.entry)["detail"]["format"] for e in downloads} == {
            "csv",
            "xlsx",
            "json",
            "parquet",
        }
        assert usage.counts_of(s, "population").downloads == 4


def test_anonymous_and_other_applicants_are_refused_conditional_downloads(
    world, release, portal, client, token_for, app
):
    register(portal)
    apply(portal)
    _approve(world, client, token_for)
    with TestClient(app) as other:
        for fmt in ("csv", "parquet"):
            anon = other.get(f"/open/dataset/population/download.{fmt}")
            assert anon.status_code == 403 and 'href="/open/dataset/population/apply"' in anon.text
        assert "download.csv" not in other.get("/open/dataset/population").text
        register(other, email="wang@example.org")
        assert other.get("/open/dataset/population/download.csv").status_code == 403
        assert 'id="granted"' not in other.get("/open/dataset/population").text
    with world.db.read() as s:
        assert s.scalars(select(LedgerEntry).where(LedgerEntry.event == "opendata.data_read")).all() == []
        assert usage.counts_of(s, "population").downloads == 0
