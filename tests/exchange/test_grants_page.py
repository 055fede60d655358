"""The analyst's grants page shows each grant as it applies: every field with its mask, the row
filter, today's use against the quotas, the expiry, and a first query over the granted fields that
runs in the workbench."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from sqlalchemy import update
from tests.conftest import csrf_of, login

from shuzhi.exchange.models import Grant


def test_a_grant_shows_its_masks_filter_quota_and_a_query_that_runs(world, granted, client):
    with world.db.transaction() as s:
        s.execute(update(Grant).where(Grant.id == granted).values(calls_per_day=10, rows_per_day=1000))
    login(client, "rs_analyst", next="/exchange/grants")
    page = client.get("/exchange/grants", params={"lang": "en"}).text
    row = re.search(rf'<tr id="grant-{granted}">(.*?)</tr>', page, re.S).group(1)
    assert '<code>id_number</code> <small class="muted">keyed hash (HMAC-SHA256)</small>' in row
    assert "keep first N (N=1)" in row and "<code>religion</code>" not in row  # not granted
    assert "region_code LIKE &#39;3301%&#39;" in row or "region_code LIKE '3301%'" in html.unescape(row)
    assert "queries 0 / 10" in row and "rows 0 / 1,000" in row
    link = html.unescape(re.search(r'href="([^"]+)" class="starter"', row).group(1))
    starter = unquote(link.split("sql=", 1)[1].split("#", 1)[0])
    assert starter.startswith('SELECT "id_number", "name"') and starter.endswith(
        'FROM "population" LIMIT 100'
    )
    ran = client.post("/exchange/workbench", data={"csrf_token": csrf_of(page), "sql": starter})
    assert ran.status_code == 200 and "<td>" in ran.text
    again = client.get("/exchange/grants", params={"lang": "en"}).text
    row = re.search(rf'<tr id="grant-{granted}">(.*?)</tr>', again, re.S).group(1)
    assert "queries 1 / 10" in row  # the query just run counts against today's quota


def test_the_provider_revokes_a_grant_from_the_inbox_and_reads_stop(world, granted, client):
    import pytest

    from shuzhi.errors import Forbidden
    from shuzhi.exchange import service

    login(client, "sc_steward", next="/exchange/inbox")  # a steward of another department
    page = client.get("/exchange/inbox").text
    assert f'id="provided-{granted}"' not in page
    refused = client.post(
        f"/exchange/grants/{granted}/revoke", data={"csrf_token": csrf_of(page), "reason": "x"}
    )
    assert refused.status_code == 404  # another department's grant: as if there were none

    login(client, "ga_steward", next="/exchange/inbox")
    page = client.get("/exchange/inbox").text
    assert f'id="provided-{granted}"' in page
    no_reason = client.post(
        f"/exchange/grants/{granted}/revoke", data={"csrf_token": csrf_of(page), "reason": " "}
    )
    assert no_reason.status_code == 422
    done = client.post(
        f"/exchange/grants/{granted}/revoke",
        data={"csrf_token": csrf_of(page), "reason": "合作结束"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    row = re.search(
        rf'<tr id="provided-{granted}">(.*?)</tr>', client.get("/exchange/inbox").text, re.S
    ).group(1)
    assert "已撤销" in row and "<form" not in row
    with pytest.raises(Forbidden):
        service.run_sql(world.db, world.settings, world.rs_analyst, "SELECT gender FROM population")


def test_the_approval_form_names_the_datasets_fields_and_what_a_row_quota_forbids(world, client):
    from shuzhi.exchange import share_requests

    with world.db.transaction() as s:
        share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["gender", "region_code"], purpose="统计"),
            submit=True,
        )
    login(client, "ga_steward", next="/exchange/inbox")
    page = client.get("/exchange/inbox", params={"lang": "en"}).text
    assert 'placeholder="gender = &#39;…&#39;"' in page or "placeholder=\"gender = '…'\"" in page
    assert "<code>religion</code>" in page  # every field of the dataset can be filtered on
    assert "no aggregates (count, GROUP BY" in page
    # a mistake in the decision comes back on the inbox, beside that request
    request_id = int(re.search(r'id="request-(\d+)"', page).group(1))
    bad = client.post(
        f"/exchange/requests/{request_id}/decide",
        data={"csrf_token": csrf_of(page), "action": "approve", "fields": "gender", "rows_per_day": "many"},
    )
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]
    section = re.search(rf'id="request-{request_id}"(.*?)</section>', bad.text, re.S).group(1)
    assert 'class="error"' in section and 'data-where="rows_per_day"' in section
