"""Finding 12: `GET /api/v1/exchange/grants?provided=true` listed a provider's grants to any of its analysts.
Only the providing department's stewards (and admins, auditors) list the grants it gave."""

from __future__ import annotations

import pytest

from shuzhi.catalog.schemas import DatasetIn, FieldIn
from shuzhi.catalog.service import create_dataset
from shuzhi.exchange import share_requests


@pytest.fixture
def world(db, settings, make_user, token_for):
    people = {
        "ga.steward": make_user("ga.steward", dept="GA", roles=("steward",)),
        "ga.analyst": make_user("ga.analyst", dept="GA", roles=("analyst",)),
        "rs.analyst": make_user("rs.analyst", dept="RS", roles=("analyst",)),
        "rs.steward": make_user("rs.steward", dept="RS", roles=("steward",)),
        "root": make_user("root", dept="BDB", roles=("admin",)),
        "audit": make_user("audit", dept="BDB", roles=("auditor",)),
    }
    with db.transaction() as s:
        create_dataset(
            s,
            people["ga.steward"],
            DatasetIn(
                identifier="hz-psb-population",
                title_zh="人口",
                department="GA",
                theme="safety",
                share_type="conditional",
                fields=[FieldIn(name="姓名"), FieldIn(name="公民身份号码")],
            ),
        )
        req = share_requests.create_request(
            s,
            settings,
            people["rs.analyst"],
            share_requests.RequestIn(dataset="hz-psb-population", fields=["姓名"], purpose="低保资格核查"),
            submit=True,
        )
        grant = share_requests.approve_request(s, settings, people["ga.steward"], req)
    return {"grant": grant.id, **{name: token_for(name) for name in people}}


def _provided(client, headers):
    return client.get("/api/v1/exchange/grants", params={"provided": "true"}, headers=headers)


@pytest.mark.parametrize("who", ["ga.analyst", "rs.analyst"])
def test_analysts_cannot_list_provided_grants(client, world, who):
    r = _provided(client, world[who])
    assert r.status_code == 403, r.text
    assert "hz-psb-population" not in r.text


@pytest.mark.parametrize(
    ("who", "sees"), [("ga.steward", True), ("root", True), ("audit", True), ("rs.steward", False)]
)
def test_the_providers_stewards_admins_and_auditors_can(client, world, who, sees):
    r = _provided(client, world[who])
    assert r.status_code == 200, r.text
    assert ([g["grant_id"] for g in r.json()["grants"]] == [world["grant"]]) is sees


def test_an_analyst_still_lists_the_grants_they_hold(client, world):
    r = client.get("/api/v1/exchange/grants", headers=world["rs.analyst"])
    assert r.status_code == 200 and [g["grant_id"] for g in r.json()["grants"]] == [world["grant"]]


def test_the_inbox_page_shows_an_analyst_no_provided_grants(client, world):
    from tests.conftest import login

    login(client, "ga.analyst", next="/exchange/inbox")
    r = client.get("/exchange/inbox")
    assert r.status_code == 200 and "低保资格核查" not in r.text and "rs.analyst" not in r.text
