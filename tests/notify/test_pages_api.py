"""The notification pages and API: own notifications only, the badge on every page, marking read,
and the home page each role sees."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.conftest import csrf_of, login

from shuzhi.catalog.models import Dataset
from shuzhi.classify.alerts import new_alert
from shuzhi.exchange import share_requests
from shuzhi.exchange.models import ShareRequest
from shuzhi.notify import service
from shuzhi.notify.models import Notification
from shuzhi.store.base import utcnow


def _submit(world, dataset="population", fields=("name", "income")) -> int:
    with world.db.transaction() as s:
        return share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset=dataset, fields=list(fields), purpose="低保资格核查"),
            submit=True,
        ).id


def _ids(world, who) -> list[int]:
    with world.db.read() as s:
        return [n.id for n in service.page(s, who.user_id)]


def _badge(html: str) -> str | None:
    m = re.search(r'<span class="badge" id="notify-badge"[^>]*>([^<]+)</span>', html)
    return m.group(1) if m else None


def test_the_api_refuses_anonymous_callers(world, client):
    _submit(world)
    assert client.get("/api/v1/notifications").status_code == 401
    nid = _ids(world, world.ga_steward)[0]
    assert client.post(f"/api/v1/notifications/{nid}/read").status_code == 401
    with world.db.read() as s:
        assert s.get(Notification, nid).read_at is None


def test_the_api_lists_and_marks_only_the_callers_own(world, client, token_for):
    rid = _submit(world)
    nid = _ids(world, world.ga_steward)[0]
    steward, analyst = token_for("ga_steward"), token_for("rs_analyst")
    body = client.get("/api/v1/notifications", headers=steward).json()
    assert body["unread_count"] == 1 and [n["id"] for n in body["notifications"]] == [nid]
    assert body["notifications"][0]["link"] == f"/exchange/requests/{rid}"
    assert body["notifications"][0]["kind"] == "request_submitted"
    assert client.get("/api/v1/notifications", headers=analyst).json()["notifications"] == []
    # someone else's notification is as absent as a missing one, and stays unread
    r = client.post(f"/api/v1/notifications/{nid}/read", headers=analyst)
    assert r.status_code == 404
    assert client.post("/api/v1/notifications/999999/read", headers=analyst).status_code == 404
    with world.db.read() as s:
        assert s.get(Notification, nid).read_at is None
    r = client.post(f"/api/v1/notifications/{nid}/read", headers=steward)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    body = client.get("/api/v1/notifications", headers=steward, params={"unread": "true"}).json()
    assert body == {"notifications": [], "unread_count": 0, "next_before_id": None}


def test_the_api_pages_newest_first(world, client, token_for):
    for _ in range(3):
        _submit(world)
    steward = token_for("ga_steward")
    first = client.get("/api/v1/notifications", headers=steward, params={"limit": 2}).json()
    ids = [n["id"] for n in first["notifications"]]
    assert ids == sorted(ids, reverse=True) and first["next_before_id"] == ids[-1]
    rest = client.get(
        "/api/v1/notifications", headers=steward, params={"limit": 2, "before_id": ids[-1]}
    ).json()
    assert len(rest["notifications"]) == 1 and rest["notifications"][0]["id"] < ids[-1]


def test_the_badge_counts_unread_on_every_page_and_drops_on_click_through(world, client):
    rid = _submit(world)
    _submit(world, fields=("gender",))
    login(client, "ga_steward")
    for path in ("/", "/catalog", "/exchange", "/notifications"):
        assert _badge(client.get(path).text) == "2", path
    nid = max(_ids(world, world.ga_steward))
    r = client.get(f"/notifications/{nid}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/exchange/requests/")
    assert _badge(client.get("/catalog").text) == "1"
    # the analyst has none: no badge
    login(client, "rs_analyst")
    assert _badge(client.get("/catalog").text) is None
    # nor may they open the steward's
    assert (
        client.get(f"/notifications/{min(_ids(world, world.ga_steward))}", follow_redirects=False).status_code
        == 404
    )
    assert rid


def test_the_list_marks_unread_and_mark_all_read_needs_csrf(world, client):
    _submit(world)
    _submit(world, fields=("gender",))
    login(client, "ga_steward")
    page = client.get("/notifications", params={"lang": "en"}).text
    assert page.count('class="unread"') == 2 and "2 unread" in page
    refused = client.post("/notifications/read-all", data={}, follow_redirects=False)
    assert refused.status_code == 403
    with world.db.read() as s:
        assert service.unread_count(s, world.ga_steward.user_id) == 2
    done = client.post("/notifications/read-all", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    after = client.get("/notifications", params={"lang": "en"}).text
    assert "Notifications marked read: 2" in after and _badge(after) is None
    assert after.count('class="read"') == 2 and 'class="unread"' not in after


def test_the_home_page_is_the_login_page_when_logged_out(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def _section(html: str, sid: str) -> str:
    m = re.search(rf'<section class="card" id="{sid}">(.*?)</section>', html, re.S)
    return m.group(1) if m else ""


def test_a_stewards_home_lists_requests_to_review_with_overdue_marked(world, client):
    late = _submit(world)
    on_time = _submit(world, fields=("gender",))
    with world.db.write() as s:
        s.get(ShareRequest, late).deadline = utcnow().date() - timedelta(days=2)
    login(client, "ga_steward", next="/")
    home = client.get("/", params={"lang": "en"}).text
    review = _section(home, "to-review")
    assert f'data-request="{late}"' in review and f'data-request="{on_time}"' in review
    late_row = re.search(rf'<li data-request="{late}">(.*?)</li>', review, re.S).group(1)
    on_time_row = re.search(rf'<li data-request="{on_time}">(.*?)</li>', review, re.S).group(1)
    assert "overdue" in late_row and "overdue" not in on_time_row
    assert re.search(r'id="count-overdue"><span class="n warn">1<', home)
    assert 'id="city"' not in home  # stewards see their department, not the city
    # a steward of another department has nothing of GA's to review
    login(client, "sc_steward", next="/")
    other = client.get("/", params={"lang": "en"}).text
    assert "data-request" not in _section(other, "to-review") and "Nothing to review." in other


def test_an_analysts_home_lists_their_requests_and_states(world, client):
    rid = _submit(world)
    with world.db.transaction() as s:
        share_requests.reject_request(s, world.ga_steward, s.get(ShareRequest, rid), "用途不明确")
    open_one = _submit(world, fields=("gender",))
    login(client, "rs_analyst", next="/")
    home = client.get("/", params={"lang": "en"}).text
    mine = _section(home, "my-requests")
    assert re.search(rf'data-request="{rid}">.*?rejected', mine, re.S)
    assert re.search(rf'data-request="{open_one}">.*?submitted', mine, re.S)
    assert 'id="to-review"' not in home and 'id="alerts"' not in home
    assert re.search(r'id="count-mine"><span class="n">1<', home)
    assert _badge(home) == "1"  # told of the rejection


def test_an_admins_home_has_the_city_wide_view(world, client):
    late = _submit(world)
    _submit(world, dataset="population", fields=("gender",))
    with world.db.write() as s:
        s.get(ShareRequest, late).deadline = utcnow().date() - timedelta(days=1)
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "enterprise"))
        s.add(new_alert(ds, None, "new_sensitive", "ent_name", "新发现敏感字段", {}))
    login(client, "admin1", next="/")
    home = client.get("/", params={"lang": "en"}).text
    city = _section(home, "city")
    assert re.search(r'data-state="submitted"><span class="n">2<', city)
    assert re.search(r'id="city-overdue"><span class="n warn">1<', city)
    row = re.search(r'<tr data-department="GA">(.*?)</tr>', city, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row)[:1] == ["2"] and 'class="tag overdue">1<' in row
    assert f"#{late}" in city
    assert re.search(r'id="city-alerts"><span class="n">1<', city)
    sc = re.search(r'<tr data-department="SC">(.*?)</tr>', city, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", sc)[-1] == "1"  # SC's open alert
    assert 'data-alert="' in _section(home, "alerts")  # admins see every department's alerts


def test_the_home_page_lists_grants_ending_soon(world, granted, client):
    from shuzhi.exchange.models import Grant

    with world.db.write() as s:
        s.get(Grant, granted).expires_at = utcnow() + timedelta(days=5)
    login(client, "rs_analyst", next="/")
    assert f'data-grant="{granted}"' in _section(client.get("/").text, "expiring")
    login(client, "ga_steward", next="/")
    given = _section(client.get("/", params={"lang": "en"}).text, "expiring")
    assert f'data-grant="{granted}"' in given and "given to" in given
    login(client, "sc_steward", next="/")
    assert "data-grant" not in _section(client.get("/").text, "expiring")
    with world.db.read() as s:
        assert s.scalar(select(Grant.id).where(Grant.id == granted)) == granted


@pytest.mark.parametrize(
    ("lang", "kind", "title"),
    [("zh", "新的共享申请", "新的共享申请 #"), ("en", "new share request", "New share request #")],
)
def test_a_notification_is_shown_in_the_readers_language(world, client, lang, kind, title):
    rid = _submit(world)
    login(client, "ga_steward")
    page = client.get("/notifications", params={"lang": lang}).text
    item = page.split('data-kind="request_submitted">')[1].split("</li>")[0]
    assert f'<span class="tag">{kind}</span>' in item and f"{title}{rid}" in item
    other = "New share request" if lang == "zh" else "新的共享申请"
    assert other not in item
