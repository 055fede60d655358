"""The dataset page offers a request only where one can apply: "request access" on another
department's conditionally shared data to analysts and stewards, "query directly" on unconditionally
shared data (the workbench opened with a starter query that runs), nothing on one's own data, on data
not shared, or to roles that do not request."""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

import pytest
from tests.conftest import csrf_of, login
from tests.exchange.conftest import set_grades


def _actions(client, ref: str) -> str:
    html = client.get(f"/datasets/{ref}").text
    found = re.search(r'<p class="actions">(.*?)</p>', html, flags=re.S)
    return found.group(1) if found else ""


@pytest.mark.parametrize(
    ("user", "ref", "offered"),
    [
        ("rs_analyst", "enterprise", "query-directly"),  # another department's unconditional data
        ("rs_steward", "population", "request-access"),  # stewards ask for others' data too
        ("sc_steward", "population", "request-access"),  # any other department's
        ("ga_analyst", "enterprise", "query-directly"),  # unconditional data of a third department
        ("sc_steward", "enterprise", None),  # its own unconditional data: nothing to ask
        ("rs_steward", "enterprise", None),  # unconditional data is read by analysts
        ("ga_analyst", "population", None),  # its own department's data
        ("ga_steward", "population", None),
        ("rs_analyst", "secret_registry", None),  # 不予共享
        ("rs_auditor", "population", None),  # auditors do not request data
        ("admin1", "population", None),
    ],
)
def test_what_the_page_offers(world, client, user, ref, offered):
    login(client, user, next=f"/datasets/{ref}")
    actions = _actions(client, ref)
    assert ("request-access" in actions) is (offered == "request-access")
    assert ("query-directly" in actions) is (offered == "query-directly")


def test_conditional_data_of_another_department_offers_the_request(world, client):
    login(client, "rs_analyst", next="/datasets/population")
    actions = _actions(client, "population")
    assert 'id="request-access"' in actions and "query-directly" not in actions
    form = client.get("/exchange/request/new?dataset=population")
    assert form.status_code == 200


def test_query_directly_opens_the_workbench_with_a_query_that_runs(world, client):
    set_grades(world, "enterprise", {"legal_id_number": "L4"})
    login(client, "rs_analyst", next="/datasets/enterprise")
    link = re.search(r'href="([^"]+)" id="query-directly"', _actions(client, "enterprise")).group(1)
    assert link.startswith("/exchange/workbench?sql=")
    page = client.get(link.replace("&amp;", "&"))
    starter = unquote(link.split("sql=", 1)[1].split("#", 1)[0])
    textarea = html.unescape(
        re.search(r'<textarea name="sql"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
    )
    assert page.status_code == 200 and textarea == starter
    assert (
        starter
        == 'SELECT "uscc", "ent_name", "legal_id_number", "capital", "tax_owed" FROM "enterprise" LIMIT 100'
    )
    ran = client.post("/exchange/workbench", data={"csrf_token": csrf_of(page.text), "sql": starter})
    assert ran.status_code == 200 and "<td>" in ran.text
