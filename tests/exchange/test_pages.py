"""The exchange pages: request form from a dataset, provider inbox decisions, workbench — with CSRF."""

import re

import pytest
from tests.conftest import csrf_of as csrf
from tests.conftest import login as shared_login
from tests.exchange.conftest import POPULATION_ROWS


def login(client, username):
    shared_login(client, username, next="/exchange")


@pytest.fixture
def browser(world, client):
    return client


def _asked_then_inbox(c, fields: list[str]):
    """The analyst asks for `fields` of population; the steward opens the inbox. (request id, inbox)."""
    login(c, "rs_analyst")
    page = c.get("/exchange/request/new?dataset=population")
    c.post(
        "/exchange/request/new",
        data={"csrf_token": csrf(page.text), "dataset": "population", "fields": fields, "purpose": "核查"},
    )
    login(c, "ga_steward")
    inbox = c.get("/exchange/inbox")
    return re.search(r"/exchange/requests/(\d+)/decide", inbox.text).group(1), inbox


def test_request_inbox_workbench(browser):
    c = browser
    login(c, "rs_analyst")
    page = c.get("/exchange/request/new?dataset=population")
    assert page.status_code == 200 and "申请共享" in page.text
    r = c.post(
        "/exchange/request/new",
        data={"dataset": "population", "fields": ["name", "gender"], "purpose": "核查"},
        follow_redirects=False,
    )
    assert r.status_code == 403  # no CSRF token
    r = c.post(
        "/exchange/request/new",
        data={
            "csrf_token": csrf(page.text),
            "dataset": "population",
            "fields": ["name", "gender"],
            "purpose": "核查",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    hub = c.get("/exchange")
    assert "population" in hub.text
    # the action is confirmed once, on the page the form led to, and not again
    assert re.search(r'<div class="banner success"[^>]*>申请 #\d+ 已提交', hub.text)
    assert 'class="banner' not in c.get("/exchange").text

    login(c, "ga_steward")
    inbox = c.get("/exchange/inbox")
    rid = re.search(r"/exchange/requests/(\d+)/decide", inbox.text).group(1)
    r = c.post(
        f"/exchange/requests/{rid}/decide",
        data={
            "csrf_token": csrf(inbox.text),
            "action": "approve",
            "fields": ["gender"],
            "row_filter": "gender = 'F'",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert f"Request #{rid} approved" in c.get("/exchange/inbox?lang=en").text

    login(c, "rs_analyst")
    grants = c.get("/exchange/grants?lang=en")
    assert 'href="/exchange/workbench" id="open-workbench"' in grants.text
    grants = c.get("/exchange/workbench?lang=en")
    assert "SQL workbench" in grants.text
    token = csrf(grants.text)
    r = c.post(
        "/exchange/workbench",
        data={"csrf_token": token, "sql": "SELECT gender, COUNT(*) AS n FROM population GROUP BY 1"},
    )
    assert r.status_code == 200 and "<td>F</td>" in r.text and "<td>M</td>" not in r.text
    r = c.post("/exchange/workbench", data={"csrf_token": token, "sql": "SELECT name FROM population"})
    assert r.status_code == 403 and "population.name" in r.text
    r = c.post(
        "/exchange/workbench",
        data={"csrf_token": token, "format": "csv", "sql": "SELECT gender FROM population LIMIT 2"},
    )
    # a download for spreadsheet programs: UTF-8 with a byte order mark, named after the dataset
    assert r.content.startswith(b"\xef\xbb\xbf")
    assert r.content.decode("utf-8-sig").splitlines() == ['"gender"', '"F"', '"F"']
    assert 'filename="population_' in r.headers["content-disposition"]


def test_workbench_reads_only_the_rows_it_shows(world, client, monkeypatch):
    """The page shows the first rows: the query is capped there (not read whole, then cut), the ledger
    says how many left, and a download still has them all."""
    import json

    from sqlalchemy import select

    from shuzhi.ledger.models import LedgerEntry

    monkeypatch.setattr(world.settings.exchange, "workbench_rows", 7)
    shared_login(client, "ga_analyst", next="/exchange/workbench")  # the owner's department reads it all
    token = csrf(client.get("/exchange/workbench").text)
    r = client.post("/exchange/workbench", data={"csrf_token": token, "sql": "SELECT gender FROM population"})
    assert r.status_code == 200 and r.text.count("<td>") == 7 and "还有更多…" in r.text
    assert 'id="next-page"' in r.text
    with world.db.session() as s:
        last = json.loads(
            s.scalars(
                select(LedgerEntry).where(LedgerEntry.event == "data.read").order_by(LedgerEntry.seq.desc())
            )
            .first()
            .entry
        )["detail"]
    assert last["rows"] == 7 and last["ended"] == "truncated"
    r = client.post(
        "/exchange/workbench",
        data={"csrf_token": token, "format": "csv", "sql": "SELECT gender FROM population"},
    )
    assert len(r.content.decode("utf-8-sig").splitlines()) == 1 + POPULATION_ROWS


def test_inbox_offers_the_registered_mask_kinds(browser, monkeypatch):
    """The approval form lists what the mask registry offers, a newly registered kind included."""
    from shuzhi.exchange import masking

    monkeypatch.setattr(masking, "KINDS", dict(masking.KINDS))
    masking.register(
        masking.MaskKind("scramble", "打乱顺序", "scramble", (), masking.check_params, lambda r, v, k: v)
    )
    c = browser
    login(c, "rs_analyst")
    page = c.get("/exchange/request/new?dataset=population")
    c.post(
        "/exchange/request/new",
        data={"csrf_token": csrf(page.text), "dataset": "population", "fields": ["name"], "purpose": "核查"},
    )
    login(c, "ga_steward")
    inbox = c.get("/exchange/inbox?lang=en").text
    offered = re.findall(r'<option value="([^"]+)">([^<]+)</option>', inbox)
    assert ("scramble", "scramble") in offered
    assert ("hash", "keyed hash (HMAC-SHA256)") in offered and ("keep_first:1", "Keep first 1") in offered
    assert not any(value.startswith(("band", "round", "custom")) for value, _ in offered)


def test_a_request_with_a_bad_date_comes_back_to_its_form(browser):
    c = browser
    login(c, "rs_analyst")
    page = c.get("/exchange/request/new?dataset=population")
    r = c.post(
        "/exchange/request/new",
        data={
            "csrf_token": csrf(page.text),
            "dataset": "population",
            "fields": ["name"],
            "purpose": "核查",
            "period_end": "2024-13-45",
        },
        follow_redirects=False,
    )
    assert r.status_code == 422 and "period_end" in r.text and "申请共享" in r.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("rows_per_day", "many"), ("rows_per_day", "-3"), ("calls_per_day", "１０"), ("expires_on", "tomorrow")],
)
def test_a_decision_with_a_bad_number_or_date_is_refused_naming_it(browser, field, value):
    c = browser
    rid, inbox = _asked_then_inbox(c, ["gender"])
    r = c.post(
        f"/exchange/requests/{rid}/decide",
        data={"csrf_token": csrf(inbox.text), "action": "approve", field: value},
        follow_redirects=False,
    )
    assert r.status_code == 422 and field in r.text, r.text[:500]


def test_a_refused_request_keeps_what_was_entered_beside_the_field(browser):
    c = browser
    login(c, "rs_analyst")
    page = c.get("/exchange/request/new?dataset=population")
    r = c.post(
        "/exchange/request/new",
        data={
            "csrf_token": csrf(page.text),
            "dataset": "population",
            "purpose": "低保核查",
            "basis": "第十一条",
        },
    )
    # no field ticked: said beside the fields, the purpose and basis still there
    assert r.status_code == 422 and 'data-where="fields">至少选择一个字段' in r.text
    assert ">低保核查</textarea>" in r.text and 'value="第十一条"' in r.text
    r = c.post(
        "/exchange/request/new",
        data={
            "csrf_token": csrf(page.text),
            "dataset": "population",
            "fields": ["name", "gender"],
            "purpose": "",
        },
    )
    assert r.status_code == 422 and 'data-where="purpose"' in r.text
    assert 'value="name" checked' in r.text and 'value="gender" checked' in r.text
    assert 'value="region_code" checked' not in r.text


def test_a_refused_decision_keeps_the_stewards_choices(browser, world):
    c = browser
    rid, inbox = _asked_then_inbox(c, ["name", "gender"])
    r = c.post(
        f"/exchange/requests/{rid}/decide",
        data={
            "csrf_token": csrf(inbox.text),
            "action": "approve",
            "fields": ["gender"],
            "mask_gender": "keep_first:1",
            "row_filter": "nosuch = 1",
            "rows_per_day": "50",
            "reason": "仅限性别",
        },
    )
    assert r.status_code == 422 and "nosuch" in r.text
    form = r.text[r.text.index(f'data-request="{rid}"') :]
    form = form[: form.index("</form>")]
    assert 'value="gender" checked' in form and 'value="name" checked' not in form
    assert '<option value="keep_first:1" selected>' in form
    assert 'value="nosuch = 1"' in form and 'value="50"' in form and 'value="仅限性别"' in form
    from shuzhi.exchange.models import Grant

    with world.db.read() as s:  # nothing was granted
        assert s.query(Grant).count() == 0


@pytest.mark.parametrize(
    ("lang", "said"), [("zh", "band 的 width 须为有限的数"), ("en", "band: width must be a finite number")]
)
@pytest.mark.parametrize("width", ["nan", "inf", "-inf"])
def test_a_mask_of_no_finite_width_is_refused_at_its_field(browser, world, lang, said, width):
    """The page offers only listed bands; a crafted form's `band:nan` is refused beside its field."""
    c = browser
    rid, inbox = _asked_then_inbox(c, ["gender", "income"])
    r = c.post(
        f"/exchange/requests/{rid}/decide?lang={lang}",
        data={"csrf_token": csrf(inbox.text), "action": "approve", "mask_income": f"band:{width}"},
    )
    assert r.status_code == 422, r.text[:500]
    assert f'data-where="masks.income">{said}' in r.text
    assert '<select name="mask_income" aria-invalid="true">' in r.text
    assert '<select name="mask_gender">' in r.text
    from shuzhi.exchange.models import Grant

    with world.db.read() as s:
        assert s.query(Grant).count() == 0


@pytest.mark.parametrize("action", ["", "withdraw", "APPROVE"])
def test_only_approve_or_reject_decides(browser, world, action):
    c = browser
    rid, inbox = _asked_then_inbox(c, ["gender"])
    r = c.post(f"/exchange/requests/{rid}/decide", data={"csrf_token": csrf(inbox.text), "action": action})
    assert r.status_code == 422 and 'data-where="action"' in r.text
    from shuzhi.exchange.models import Grant, ShareRequest

    with world.db.read() as s:
        assert s.query(Grant).count() == 0 and s.get(ShareRequest, int(rid)).state == "submitted"


def test_revoking_someone_elses_grant_looks_like_no_grant(browser, world):
    """An outsider learns nothing from the answer: a grant that exists and one that does not are
    both not found."""
    c = browser
    rid, inbox = _asked_then_inbox(c, ["gender"])
    c.post(f"/exchange/requests/{rid}/decide", data={"csrf_token": csrf(inbox.text), "action": "approve"})
    from shuzhi.exchange.models import Grant

    with world.db.read() as s:
        (grant_id,) = [g.id for g in s.query(Grant)]
    login(c, "sc_steward")
    token = csrf(c.get("/exchange").text)
    real = c.post(f"/exchange/grants/{grant_id}/revoke", data={"csrf_token": token, "reason": "x"})
    missing = c.post(f"/exchange/grants/{grant_id + 100}/revoke", data={"csrf_token": token, "reason": "x"})
    assert real.status_code == missing.status_code == 404
    with world.db.read() as s:
        assert s.get(Grant, grant_id).revoked_at is None
