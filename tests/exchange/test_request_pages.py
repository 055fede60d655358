"""A request's and a grant's own pages (number, timeline from the ledger, amend and resubmit after a
rejection, renew and revoke), the approval's masked preview and live row-filter check, and the
dataset page's rows and downloads through the governed read — with who may not, refused."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from tests.conftest import csrf_of, login
from tests.exchange.conftest import GRANTED, set_grades

from shuzhi.exchange import share_requests
from shuzhi.exchange.models import Grant, ShareRequest
from shuzhi.exchange.state import SOURCE as GRANTS_STATE
from shuzhi.ledger.models import LedgerEntry
from shuzhi.ledger.reconcile import reconcile

API = "/api/v1/exchange"


def entries(world, event: str) -> list[dict]:
    with world.db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [json.loads(e.entry) for e in rows]


def ledger_size(world) -> int:
    with world.db.session() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


def request_of(world, granted: int) -> int:
    with world.db.session() as s:
        return s.get(Grant, granted).request_id


@pytest.fixture
def submitted(world) -> int:
    """A request from RS for some fields of population, awaiting GA's decision."""
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(
                dataset="population", fields=["id_number", "name", "gender"], purpose="低保资格核查"
            ),
            submit=True,
        )
        return req.id


def reject(world, request_id: int, reason: str = "用途不明确") -> None:
    with world.db.transaction() as s:
        req = s.get(ShareRequest, request_id)
        share_requests.reject_request(s, world.ga_steward, req, reason)


# -- the request's page -----------------------------------------------------------------------


def test_request_page_shows_its_number_what_was_asked_and_granted_and_its_timeline(world, granted, client):
    rid = request_of(world, granted)
    login(client, "rs_analyst", next="/exchange")
    hub = client.get("/exchange").text
    assert f'href="/exchange/requests/{rid}"' in hub  # the hub links each request to its page
    page = client.get(f"/exchange/requests/{rid}", params={"lang": "en"})
    assert page.status_code == 200
    number = f"GX-{date.today().year}-{rid:06d}"
    assert number in page.text and share_requests.application_number
    facts = re.search(r'id="request-facts">(.*?)</dl>', page.text, re.S).group(1)
    assert "<code>religion</code>" in facts and "低保资格核查" in facts  # asked for, with the purpose
    granted_part = re.search(r'id="granted">(.*?)</section>', page.text, re.S).group(1)
    assert f'href="/exchange/grants/{granted}"' in granted_part
    assert "Not granted</small>" not in granted_part or "religion" in granted_part  # narrowed
    assert re.search(r"Not granted: religion", granted_part)
    timeline = re.search(r'id="timeline">(.*?)</ol>', page.text, re.S).group(1)
    steps = re.findall(r"<strong>(.*?)</strong>", timeline)
    assert steps == ["request drafted", "request submitted", "grant created", "request approved"]
    assert "Analyst" in timeline or world.ga_steward.display_name in timeline  # who decided
    # the provider's steward sees it too, and the inbox's grants link to the grant's page
    login(client, "ga_steward", next="/exchange/inbox")
    assert client.get(f"/exchange/requests/{rid}").status_code == 200
    assert f'href="/exchange/grants/{granted}"' in client.get("/exchange/inbox").text


@pytest.mark.parametrize("user", ["sc_steward", "ga_analyst"])
def test_request_page_is_not_found_for_anyone_else(world, granted, client, user):
    # another department's steward; the providing department's analyst (who does not decide)
    rid = request_of(world, granted)
    login(client, user, next="/exchange")
    assert client.get(f"/exchange/requests/{rid}").status_code == 404
    assert client.get("/exchange/requests/999999").status_code == 404


def test_a_rejected_request_is_amended_and_submitted_again_with_its_history(world, submitted, client):
    reject(world, submitted)
    login(client, "rs_analyst", next="/exchange")
    page = client.get(f"/exchange/requests/{submitted}", params={"lang": "en"}).text
    assert 'id="amend-form"' in page and "用途不明确" in page
    form = {
        "fields": ["gender", "name"],
        "purpose": "低保资格核查：仅核对性别",
        "basis": "《社会救助暂行办法》",
    }
    assert client.post(f"/exchange/requests/{submitted}/resubmit", data=form).status_code == 403  # no CSRF
    token = csrf_of(page)
    bad = client.post(
        f"/exchange/requests/{submitted}/resubmit", data={**form, "purpose": " ", "csrf_token": token}
    )
    assert bad.status_code == 422 and 'id="amend-error"' in bad.text
    assert "《社会救助暂行办法》" in bad.text  # what was entered is kept
    with world.db.session() as s:
        assert s.get(ShareRequest, submitted).state == "rejected"  # nothing changed
    done = client.post(
        f"/exchange/requests/{submitted}/resubmit", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == f"/exchange/requests/{submitted}"
    with world.db.session() as s:
        req = s.get(ShareRequest, submitted)
        assert req.state == "submitted" and req.fields == ["name", "gender"]
        assert req.decision_reason is None and req.deadline is not None
    (amended,) = entries(world, "request.amended")
    assert amended["detail"]["changed"] == ["fields", "purpose", "basis"]
    assert entries(world, "request.submitted")[-1]["detail"]["from"] == "rejected"
    page = client.get(f"/exchange/requests/{submitted}", params={"lang": "en"}).text
    timeline = re.search(r'id="timeline">(.*?)</ol>', page, re.S).group(1)
    assert re.findall(r"<strong>(.*?)</strong>", timeline) == [
        "request drafted",
        "request submitted",
        "request rejected",
        "request amended",
        "request submitted",
    ]
    assert "用途不明确" in timeline and 'id="amend-form"' not in page  # only once rejected
    assert "changed: fields, purpose, basis" in timeline
    # back in the provider's inbox, to be decided again
    login(client, "ga_steward", next="/exchange/inbox")
    assert f'id="request-{submitted}"' in client.get("/exchange/inbox").text


def test_only_the_requesters_side_amends_and_only_a_rejected_request(world, submitted, client):
    login(client, "rs_analyst", next="/exchange")
    token = csrf_of(client.get("/exchange").text)
    form = {"fields": ["gender"], "purpose": "统计", "csrf_token": token}
    not_rejected = client.post(f"/exchange/requests/{submitted}/resubmit", data=form)
    assert not_rejected.status_code == 409
    reject(world, submitted)
    login(client, "ga_steward", next="/exchange")
    token = csrf_of(client.get("/exchange").text)
    refused = client.post(f"/exchange/requests/{submitted}/resubmit", data={**form, "csrf_token": token})
    assert refused.status_code == 403
    login(client, "sc_steward", next="/exchange")
    token = csrf_of(client.get("/exchange").text)
    hidden = client.post(f"/exchange/requests/{submitted}/resubmit", data={**form, "csrf_token": token})
    assert hidden.status_code == 404
    with world.db.session() as s:
        assert s.get(ShareRequest, submitted).state == "rejected"
    assert entries(world, "request.amended") == []
    # submitting a rejected request as it was is refused: it is amended first
    with world.db.transaction() as s, pytest.raises(Exception, match="amended"):
        share_requests.submit_request(s, world.settings, world.rs_analyst, s.get(ShareRequest, submitted))


# -- the grant's page -------------------------------------------------------------------------


def test_grant_page_shows_masks_filter_quota_use_and_expiry_to_the_grantee(world, granted, client):
    with world.db.transaction() as s:
        s.get(Grant, granted).rows_per_day = 1000
    login(client, "rs_analyst", next="/exchange/grants")
    grants = client.get("/exchange/grants").text
    assert f'href="/exchange/grants/{granted}"' in grants
    page = client.get(f"/exchange/grants/{granted}", params={"lang": "en"})
    assert page.status_code == 200
    fields = re.search(r'id="grant-fields">(.*?)</table>', page.text, re.S).group(1)
    assert "<code>id_number</code></td><td>keyed hash (HMAC-SHA256)" in fields
    assert "<code>religion</code>" not in fields
    assert "region_code LIKE" in page.text and 'id="grant-state">active' in page.text
    assert 'id="renew-form"' not in page.text and 'id="revoke-form"' not in page.text  # grantee
    quota = re.search(r'id="grant-quota">(.*?)</section>', page.text, re.S).group(1)
    assert "0 / 1,000" in quota and "no aggregates (count, GROUP BY" in quota  # what the quota forbids
    zh = client.get(f"/exchange/grants/{granted}", params={"lang": "zh"}).text
    assert 'id="grant-state">有效' in zh and "不能汇总（count、GROUP BY 等）" in zh
    row = re.search(rf'<tr id="grant-{granted}">(.*?)</tr>', grants, re.S).group(1)
    assert "records only: no aggregates or joins" in row or "仅逐条读取" in row


@pytest.mark.parametrize("user", ["sc_steward", "ga_analyst"])
def test_grant_page_is_not_found_for_anyone_else(world, granted, client, user):
    login(client, user, next="/exchange")
    assert client.get(f"/exchange/grants/{granted}").status_code == 404


def test_the_grantee_can_neither_renew_nor_revoke(world, granted, client):
    login(client, "rs_steward", next=f"/exchange/grants/{granted}")
    token = csrf_of(client.get(f"/exchange/grants/{granted}").text)
    later = (date.today() + timedelta(days=400)).isoformat()
    renew = client.post(
        f"/exchange/grants/{granted}/renew", data={"csrf_token": token, "expires_on": later, "reason": "续"}
    )
    revoke = client.post(
        f"/exchange/grants/{granted}/revoke", data={"csrf_token": token, "reason": "x", "back": "detail"}
    )
    assert renew.status_code == 403 and revoke.status_code == 403
    with world.db.session() as s:
        g = s.get(Grant, granted)
        assert g.revoked_at is None and g.expires_on != date.fromisoformat(later)
    assert entries(world, "grant.renewed") == []


def test_the_provider_renews_to_a_later_day_audited_and_in_step_with_the_ledger(world, granted, client):
    login(client, "ga_steward", next=f"/exchange/grants/{granted}")
    page = client.get(f"/exchange/grants/{granted}", params={"lang": "en"}).text
    assert 'id="renew-form"' in page and 'id="revoke-form"' in page
    token = csrf_of(page)
    with world.db.session() as s:
        before = s.get(Grant, granted).expires_on
    later = before + timedelta(days=90)
    assert (
        client.post(
            f"/exchange/grants/{granted}/renew", data={"expires_on": later.isoformat(), "reason": "续"}
        ).status_code
        == 403
    )  # no CSRF
    for day, reason, where in (
        ((date.today() - timedelta(days=1)).isoformat(), "续期", "later than today"),
        (before.isoformat(), "续期", "later than the current one"),
        (later.isoformat(), " ", "reason is required"),
        ("soon", "续期", "a date such as"),
        ("9999-12-31", "续期", "at most 10 years ahead"),  # once a server error: past the calendar's end
    ):
        bad = client.post(
            f"/exchange/grants/{granted}/renew",
            data={"csrf_token": token, "expires_on": day, "reason": reason},
            params={"lang": "en"},
        )
        assert bad.status_code == 422 and 'id="renew-error"' in bad.text and where in bad.text
    with world.db.session() as s:
        assert s.get(Grant, granted).expires_on == before
    done = client.post(
        f"/exchange/grants/{granted}/renew",
        data={"csrf_token": token, "expires_on": later.isoformat(), "reason": "项目延期"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with world.db.session() as s:
        assert s.get(Grant, granted).expires_on == later
        assert reconcile(s, [GRANTS_STATE])[1] == []  # the table says what the ledger implies
    (renewed,) = entries(world, "grant.renewed")
    assert renewed["detail"]["reason"] == "项目延期" and renewed["user_id"] == world.ga_steward.user_id
    page = client.get(f"/exchange/grants/{granted}", params={"lang": "en"}).text
    assert f'id="grant-expires">{later.isoformat()}' in page and "grant renewed" in page
    # the request's timeline shows it too
    rid = request_of(world, granted)
    assert "grant renewed" in client.get(f"/exchange/requests/{rid}", params={"lang": "en"}).text


def test_the_provider_revokes_from_the_grant_page(world, granted, client):
    login(client, "ga_steward", next=f"/exchange/grants/{granted}")
    token = csrf_of(client.get(f"/exchange/grants/{granted}").text)
    no_reason = client.post(
        f"/exchange/grants/{granted}/revoke", data={"csrf_token": token, "reason": " ", "back": "detail"}
    )
    assert no_reason.status_code == 422 and 'id="revoke-error"' in no_reason.text
    done = client.post(
        f"/exchange/grants/{granted}/revoke",
        data={"csrf_token": token, "reason": "合作结束", "back": "detail"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/exchange/grants/{granted}"
    page = client.get(f"/exchange/grants/{granted}", params={"lang": "en"}).text
    assert 'id="grant-state">revoked' in page and 'id="renew-form"' not in page and "合作结束" in page


# -- the approval's preview and row filter check ---------------------------------------------


def test_the_providing_steward_previews_masks_on_a_few_of_its_values_audited(world, submitted, client):
    set_grades(world, "population", {"id_number": "L4"})
    login(client, "ga_steward", next="/exchange/inbox")
    inbox = client.get("/exchange/inbox", params={"lang": "en"}).text
    section = re.search(rf'id="request-{submitted}"(.*?)</section>', inbox, re.S).group(1)
    assert 'class="mask-preview" data-field="name"' in section and "exchange_inbox.js" in inbox
    assert f'list="fields-{submitted}"' in section and '<option value="religion">' in section
    quota = re.search(r'class="quota-field">(.*?)</span>', section, re.S).group(1)
    assert "no aggregates" in quota  # said beside the quota field itself
    size = ledger_size(world)
    shown = client.get(
        f"{API}/requests/{submitted}/approval/mask-preview",
        params={"field": "name", "mask": "keep_first:1", "lang": "en"},
    )
    assert shown.status_code == 200
    data = shown.json()
    assert data["field"] == "name" and data["mask"] == "keep first N (N=1)" and len(data["values"]) == 3
    assert all(len(v) >= 2 and set(v[1:]) == {"*"} for v in data["values"]), data
    reads = entries(world, "data.read")
    assert ledger_size(world) == size + 1 and reads[-1]["user_id"] == world.ga_steward.user_id
    assert reads[-1]["detail"]["fields"] == ["name"] and "审批预览" in reads[-1]["detail"]["purpose"]
    # no mask chosen: the grade's default (L4: a keyed hash)
    default = client.get(
        f"{API}/requests/{submitted}/approval/mask-preview", params={"field": "id_number"}
    ).json()
    assert default["default"] and all(re.fullmatch(r"[0-9a-f]{64}", v) for v in default["values"])
    bad = client.get(f"{API}/requests/{submitted}/approval/mask-preview", params={"field": "religion"})
    assert bad.status_code == 422 and bad.json()["where"] == "field"  # not asked for
    assert (
        client.get(
            f"{API}/requests/{submitted}/approval/mask-preview", params={"field": "name", "mask": "nosuch"}
        ).status_code
        == 422
    )
    assert ledger_size(world) == size + 2  # refused before anything was read


@pytest.mark.parametrize(("user", "status"), [("rs_analyst", 403), ("sc_steward", 404), ("ga_analyst", 404)])
def test_nobody_else_previews_the_owners_values(world, submitted, client, user, status):
    login(client, user, next="/exchange")
    size = ledger_size(world)
    refused = client.get(f"{API}/requests/{submitted}/approval/mask-preview", params={"field": "name"})
    assert refused.status_code == status and refused.json()["message"]
    assert "values" not in refused.json() and ledger_size(world) == size  # nothing read


def test_an_admin_who_decides_is_refused_the_preview_by_the_read_itself(world, submitted, client):
    # admins may decide any request but read no data: the governed read refuses, and says so
    login(client, "admin1", next="/exchange/inbox")
    refused = client.get(f"{API}/requests/{submitted}/approval/mask-preview", params={"field": "name"})
    assert refused.status_code == 403 and "values" not in refused.json()
    (denied,) = entries(world, "data.denied")
    assert denied["user_id"] == world.admin.user_id and entries(world, "data.read") == []


def test_the_row_filter_is_checked_as_the_approval_would(world, submitted, client):
    login(client, "ga_steward", next="/exchange/inbox")
    url = f"{API}/requests/{submitted}/approval/row-filter-check"
    assert client.get(url, params={"row_filter": "region_code LIKE '3301%'"}).json() == {"ok": True}
    for wrong in ("nosuch = 1", "1=1; DROP TABLE x", "name IN (SELECT name FROM population)"):
        found = client.get(url, params={"row_filter": wrong})
        assert found.status_code == 200 and found.json()["ok"] is False
        with pytest.raises(Exception) as raised, world.db.session() as s:
            share_requests.check_row_filter(s.get(ShareRequest, submitted).dataset, wrong)
        assert found.json()["message"] == raised.value.message  # the very message the approval gives
    login(client, "rs_analyst", next="/exchange")
    assert client.get(url, params={"row_filter": "gender = 'F'"}).status_code == 404


# -- the dataset page's rows and downloads ---------------------------------------------------


def test_a_grantee_sees_rows_masked_and_filtered_on_request_audited(world, granted, client):
    set_grades(world, "population", {"name": "L3", "id_number": "L4"})  # the grant's masks apply
    login(client, "rs_analyst", next="/datasets/population")
    size = ledger_size(world)
    page = client.get("/datasets/population", params={"lang": "en"}).text
    assert 'id="show-rows"' in page and 'id="rows"' not in page and 'id="downloads"' in page
    assert ledger_size(world) == size  # a page view reads no rows
    page = client.get("/datasets/population", params={"rows": "1", "lang": "en"}).text
    table = re.search(r'id="rows">(.*?)</table>', page, re.S).group(1)
    head = re.findall(r"<th>(.*?)</th>", table)
    assert head == GRANTED  # the granted fields, religion not among them, none held back
    assert 'id="rows-held"' not in page
    cells = [re.findall(r"<td>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]]
    assert len(cells) == 5
    for row in cells:
        assert re.fullmatch(r"[0-9a-f]{64}", row[0])  # id_number hashed
        assert row[4].startswith("3301")  # the grant's row filter
        assert len(row[1]) >= 2 and set(row[1][1:]) == {"*"}  # name: first character kept
    (read,) = [e for e in entries(world, "data.read") if e["user_id"] == world.rs_analyst.user_id]
    assert read["detail"]["basis"] == "grant" and read["detail"]["rows"] == 5
    assert "数据集页面预览" in read["detail"]["purpose"] or read["detail"]["purpose"]


def test_the_owner_reads_its_own_rows_with_sensitive_fields_held_back_unless_asked(world, client):
    set_grades(world, "population", {"religion": "L3", "id_number": "L4"})
    login(client, "ga_steward", next="/datasets/population")
    page = client.get("/datasets/population", params={"rows": "1"}).text
    held = re.search(r'id="rows-held">(.*?)</p>', page, re.S).group(1)
    assert "<code>religion</code>" in held and "<code>id_number</code>" in held
    table = re.search(r'id="rows">(.*?)</table>', page, re.S).group(1)
    assert "religion" not in table and "REL-SECRET" not in table and "id_number" not in table
    assert "<th>name</th>" in table
    page = client.get("/datasets/population", params={"rows": "1", "reveal": "1"}).text
    table = re.search(r'id="rows">(.*?)</table>', page, re.S).group(1)
    assert "REL-SECRET-" in table  # the owner reads its own data unmasked, when it asks
    owner_reads = [e for e in entries(world, "data.read") if e["user_id"] == world.ga_steward.user_id]
    assert [e["detail"]["basis"] for e in owner_reads] == ["owner", "owner"]
    assert "religion" not in owner_reads[0]["detail"]["fields"]
    assert "religion" in owner_reads[1]["detail"]["fields"]


@pytest.mark.parametrize("user", ["sc_steward", "rs_auditor", "admin1"])
def test_no_rows_nor_downloads_for_who_may_not_read(world, client, user):
    login(client, user, next="/datasets/population")
    size = ledger_size(world)
    page = client.get("/datasets/population", params={"rows": "1", "lang": "en"}).text
    assert 'id="rows-refused"' in page and 'id="rows"' not in page and 'id="downloads"' not in page
    assert ledger_size(world) == size
    refused = client.post(
        "/exchange/datasets/population/download", data={"csrf_token": csrf_of(page), "format": "csv"}
    )
    assert refused.status_code == 403 and not refused.content.startswith(b"\xef\xbb\xbf")


def test_a_steward_of_another_department_is_offered_the_request_beside_the_refusal(world, client):
    login(client, "sc_steward", next="/datasets/population")
    page = client.get("/datasets/population").text
    refused = re.search(r'id="rows-refused">(.*?)</p>', page, re.S).group(1)
    assert "共享申请" in refused or "sharing request" in refused
    assert 'id="rows-request"' in page


def test_downloads_are_the_governed_read_masked_and_audited(world, granted, client):
    login(client, "rs_analyst", next="/datasets/population")
    page = client.get("/datasets/population").text
    assert client.post("/exchange/datasets/population/download", data={"format": "csv"}).status_code == 403
    got = client.post(
        "/exchange/datasets/population/download", data={"csrf_token": csrf_of(page), "format": "csv"}
    )
    assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert lines[0] == GRANTED and len(lines) > 10
    assert all(re.fullmatch(r"[0-9a-f]{64}", line[0]) and line[4].startswith("3301") for line in lines[1:])
    assert "REL-SECRET" not in got.text
    xlsx = client.post(
        "/exchange/datasets/population/download", data={"csrf_token": csrf_of(page), "format": "xlsx"}
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    reads = [e for e in entries(world, "data.read") if e["user_id"] == world.rs_analyst.user_id]
    assert len(reads) == 2 and {e["detail"]["channel"] for e in reads} == {"sql"}
    wrong = client.post(
        "/exchange/datasets/population/download", data={"csrf_token": csrf_of(page), "format": "exe"}
    )
    assert wrong.status_code == 422


def test_unconditional_data_shows_its_rows_to_another_departments_analyst(world, client):
    login(client, "rs_analyst", next="/datasets/enterprise")
    page = client.get("/datasets/enterprise", params={"rows": "1"}).text
    assert re.findall(r"<th>(.*?)</th>", re.search(r'id="rows">(.*?)</table>', page, re.S).group(1)) == [
        "uscc",
        "ent_name",
        "legal_id_number",
        "capital",
        "tax_owed",
    ]
    (read,) = [e for e in entries(world, "data.read") if e["user_id"] == world.rs_analyst.user_id]
    assert read["detail"]["basis"] == "unconditional"


def test_profile_blanks_are_explained(world, client):
    login(client, "ga_steward", next="/datasets/population")
    page = client.get("/datasets/population", params={"lang": "en"}).text
    assert 'id="profile-blanks"' in page and "no values, or its type has no order" in page


def test_a_mask_that_cannot_apply_says_so_without_the_values():
    """A date mask over text the engine cannot read as dates: the engine's message would quote the
    value it choked on; the steward is told the mask does not suit the field, nothing more."""
    from shuzhi.errors import InvalidInput
    from shuzhi.exchange.masking import parse_rule
    from shuzhi.exchange.preview import apply_mask

    with pytest.raises(InvalidInput) as refused:
        apply_mask(parse_rule("year"), ["330106199001011234", "王秀英"], b"k" * 32)
    assert "330106199001011234" not in str(refused.value) and "王秀英" not in str(refused.value)
    assert refused.value.where == "mask"


def test_a_request_resubmitted_after_the_dataset_closed_is_refused(world, submitted):
    """Amending is asking again: what a new request would meet today applies (here the dataset was
    made not shared since the rejection)."""
    from shuzhi.catalog.service import get_dataset
    from shuzhi.errors import Forbidden

    reject(world, submitted)
    with world.db.transaction() as s:
        ds = get_dataset(s, "population")
        ds.share_type, ds.share_basis = "none", "《测试依据》"
    with world.db.transaction() as s, pytest.raises(Forbidden, match="不予共享"):
        share_requests.resubmit_request(
            s,
            world.settings,
            world.rs_analyst,
            s.get(ShareRequest, submitted),
            share_requests.RequestIn(dataset="population", fields=["gender"], purpose="统计"),
        )
    with world.db.session() as s:
        assert s.get(ShareRequest, submitted).state == "rejected"
    assert entries(world, "request.amended") == []


def test_a_request_amended_and_submitted_again_tells_the_stewards_again(world, submitted):
    from shuzhi.notify.models import Notification

    def told() -> int:
        with world.db.read() as s:
            return (
                s.query(Notification)
                .filter(
                    Notification.user_id == world.ga_steward.user_id, Notification.kind == "request_submitted"
                )
                .count()
            )

    assert told() == 1
    reject(world, submitted)
    with world.db.transaction() as s:
        share_requests.resubmit_request(
            s,
            world.settings,
            world.rs_analyst,
            s.get(ShareRequest, submitted),
            share_requests.RequestIn(dataset="population", fields=["gender"], purpose="统计（已补充）"),
        )
    assert told() == 2
