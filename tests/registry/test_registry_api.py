"""The registry API: profiles of an enterprise and a person, search; refusals alike for the unknown
and the unreadable; every read and refusal in the ledger. On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.registry.profile_world import build

from shuzhi.ledger.models import LedgerEntry


@pytest.fixture
def world(db, settings, make_user):
    return build(db, settings, make_user)


@pytest.fixture
def heads(world, token_for):
    return {u: token_for(u) for u in ("psb_analyst", "hrss_analyst", "sc_analyst", "bdb_steward")}


def _ledger(db, event):
    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [(e.user_id, e.outcome, json.loads(e.entry)["detail"]["entry"]) for e in rows]


def test_an_enterprise_profile_through_the_api(client, world, heads):
    r = client.get(f"/api/v1/registry/enterprises/{world.firm}", headers=heads["sc_analyst"])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["entry"] == world.firm and body["registry"] == "enterprises"
    assert [(s["dataset"], s["version"]) for s in body["sections"]] == [("samr_firms", 1), ("tax_credit", 1)]
    assert body["sections"][1]["rows"] == [{"信用代码": "91330100MA27XXXX1X", "纳税信用等级": "A"}]
    assert body["sections"][0]["loaded_at"][:4].isdigit()
    assert {g["attribute"]: g["dataset"] for g in body["golden"]}["name"] == "samr_firms"
    assert _ledger(world.db, "registry.profile_read") == [(world.outsider.user_id, "ok", world.firm)]


def test_a_person_profile_only_where_the_caller_may_read_and_a_blank_refusal_elsewhere(client, world, heads):
    own = client.get(f"/api/v1/registry/persons/{world.person}", headers=heads["hrss_analyst"])
    assert own.status_code == 200 and [s["dataset"] for s in own.json()["sections"]] == ["hrss_insured"]
    known = client.get(f"/api/v1/registry/persons/{world.person}", headers=heads["sc_analyst"])
    unknown = client.get("/api/v1/registry/persons/P-07777777", headers=heads["sc_analyst"])
    assert known.status_code == unknown.status_code == 404
    assert known.json()["error"] == unknown.json()["error"] and "王明" not in known.text
    assert known.json()["where"] == unknown.json()["where"]
    # an enterprise id is no person, and the other way round
    assert (
        client.get(f"/api/v1/registry/persons/{world.firm}", headers=heads["psb_analyst"]).status_code == 404
    )
    assert _ledger(world.db, "registry.profile_refused") == [
        (world.outsider.user_id, "denied", world.person),
        (world.outsider.user_id, "denied", "P-07777777"),
        (world.psb_analyst.user_id, "denied", world.firm),
    ]
    assert _ledger(world.db, "registry.profile_read") == [(world.hrss_analyst.user_id, "ok", world.person)]


def test_search_through_the_api(client, world, heads):
    r = client.get("/api/v1/registry/enterprises/search", params={"q": "shuzhi"}, headers=heads["sc_analyst"])
    assert r.status_code == 200 and [h["entry"] for h in r.json()["hits"]] == [world.firm]
    assert r.json()["hits"][0]["name"] == "杭州数治科技有限公司"
    persons = client.get("/api/v1/registry/persons/search", params={"q": "王明"}, headers=heads["sc_analyst"])
    assert persons.status_code == 200 and persons.json()["hits"] == []
    mine = client.get("/api/v1/registry/persons/search", params={"q": "王明"}, headers=heads["psb_analyst"])
    assert [h["entry"] for h in mine.json()["hits"]] == [world.person]
    assert (
        client.get(
            "/api/v1/registry/nobody/search", params={"q": "x"}, headers=heads["sc_analyst"]
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/api/v1/registry/enterprises/search", params={"q": " "}, headers=heads["sc_analyst"]
        ).status_code
        == 422
    )


def test_no_token_no_profile(client, world):
    assert client.get(f"/api/v1/registry/enterprises/{world.firm}").status_code == 401
