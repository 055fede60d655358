"""Finding 12: the platform admin, who does not read data, got raw min/max/top profile values of every
dataset, unaudited. Values go only to the owning department's stewards, and each such read is audited;
values of sensitive fields (graded L3 and above) only when that steward asks to reveal them, and the
audit entry names the fields revealed."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.conftest import login

from shuzhi.ledger import LedgerEntry

ID_NUMBER = "110101199003074258"


@pytest.fixture
def world(client, db, settings, tmp_path, make_user, token_for):
    from shuzhi.catalog.service import get_dataset
    from shuzhi.ingest.service import ingest_source

    make_user("root", dept="BDB", roles=("admin",))
    make_user("ga.steward", dept="GA", roles=("steward",))
    make_user("ga.analyst", dept="GA", roles=("analyst",))
    make_user("rs.steward", dept="RS", roles=("steward",))
    make_user("audit", dept="BDB", roles=("auditor",))
    body = {
        "identifier": "hz-psb-population",
        "title_zh": "人口",
        "department": "GA",
        "theme": "population",
        "fields": [{"name": "sfzh"}, {"name": "xm"}],
    }
    assert client.post("/api/v1/datasets", json=body, headers=token_for("root")).status_code == 201
    src = tmp_path / "people.csv"
    src.write_text(f"sfzh,xm\n{ID_NUMBER},张三\n{ID_NUMBER},李四\n", encoding="utf-8")
    with db.transaction() as s:
        ingest_source(s, settings, get_dataset(s, "hz-psb-population"), src, user_id=None)
    return {n: token_for(n) for n in ("root", "ga.steward", "ga.analyst", "rs.steward", "audit")}


def _reads(db) -> list[LedgerEntry]:
    with db.session() as s:
        return list(s.scalars(select(LedgerEntry).where(LedgerEntry.event == "profile.values_read")))


@pytest.mark.parametrize("who", ["root", "audit", "ga.analyst", "rs.steward"])
def test_only_statistics_for_everyone_but_the_owning_stewards(client, db, world, who):
    for path in (
        "/api/v1/datasets/hz-psb-population/versions/1",
        "/api/v1/datasets/hz-psb-population/versions",
    ):
        r = client.get(path, headers=world[who])
        assert r.status_code == 200, r.text
        assert ID_NUMBER not in r.text and "张三" not in r.text
        out = r.json() if isinstance(r.json(), dict) else r.json()[0]
        assert out["profile"]["values_hidden"] is True
        columns = {c["name"]: c for c in out["profile"]["columns"]}
        assert "min" not in columns["sfzh"] and "top" not in columns["sfzh"]
        assert columns["sfzh"]["null_share"] == 0  # the statistics are still there
    assert _reads(db) == []


def test_the_owning_steward_sees_sensitive_values_only_when_revealed_and_audited(client, db, world):
    path = "/api/v1/datasets/hz-psb-population/versions/1"
    held = client.get(path, headers=world["ga.steward"])
    assert held.status_code == 200 and ID_NUMBER not in held.text
    columns = {c["name"]: c for c in held.json()["profile"]["columns"]}
    assert columns["sfzh"]["values_masked"] is True and "min" not in columns["sfzh"]
    assert held.json()["profile"]["sensitive_masked"] == ["sfzh"]
    assert columns["xm"]["min"] == "张三"  # two names are not graded sensitive: shown, and audited
    (shown,) = _reads(db)
    assert '"revealed"' not in shown.entry
    r = client.get(path, params={"reveal": "true"}, headers=world["ga.steward"])
    assert r.status_code == 200 and ID_NUMBER in r.text
    entry = _reads(db)[-1]
    with db.session() as s:
        from shuzhi.orgs import service as orgs

        steward = orgs.get_user(s, "ga.steward")
    assert (entry.user_id, entry.department_id) == (steward.id, steward.department_id)
    assert (
        entry.dataset_id is not None and '"versions":[1]' in entry.entry and '"channel":"api"' in entry.entry
    )
    assert '"revealed":["sfzh"]' in entry.entry


@pytest.mark.parametrize("who", ["root", "audit", "ga.analyst", "rs.steward"])
def test_asking_to_reveal_gives_no_one_else_a_value(client, db, world, who):
    r = client.get(
        "/api/v1/datasets/hz-psb-population/versions", params={"reveal": "true"}, headers=world[who]
    )
    assert r.status_code == 200 and ID_NUMBER not in r.text and "张三" not in r.text
    assert _reads(db) == []


def test_the_dataset_page_follows_the_same_rule(client, db, world):
    login(client, "root", next="/datasets/hz-psb-population")
    for url in ("/datasets/hz-psb-population", "/datasets/hz-psb-population?reveal=1"):
        html = client.get(url).text
        assert 'id="fields"' in html and ID_NUMBER not in html and "张三" not in html
        assert 'id="reveal-values"' not in html and 'id="values-hidden"' in html  # the empty columns say why
    assert _reads(db) == []
    login(client, "ga.steward", next="/datasets/hz-psb-population")
    html = client.get("/datasets/hz-psb-population").text
    assert ID_NUMBER not in html and 'id="values-masked"' in html and 'href="?reveal=1"' in html
    assert [e for e in _reads(db) if '"revealed"' in e.entry] == []
    html = client.get("/datasets/hz-psb-population?reveal=1").text
    assert f"{ID_NUMBER} (2)" in html and 'id="values-revealed"' in html
    entry = _reads(db)[-1]
    assert '"channel":"page"' in entry.entry and '"revealed":["sfzh"]' in entry.entry
