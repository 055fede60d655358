"""A rule set's values of the data (bounds, enumerations, patterns) as each reader is shown them: masked
for fields graded L3 or above to readers outside the owning department, clear (and audited) to its
members and admins, on every path that shows a rule set: API, command line, the dataset page, runs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.conftest import login
from tests.quality.test_quality_pages import _section
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app
from shuzhi.ledger.models import LedgerEntry
from shuzhi.quality import overview, service

RULES = {
    "rules": [
        {"kind": "range", "field": "income", "min": -10.0, "max": 2999999.5},  # L2
        {"kind": "enum", "field": "sex", "values": ["男", "女"]},  # L1
        {"kind": "range", "field": "birth", "min": "1901-02-03", "max": "2020-12-31"},  # L3
        {"kind": "enum", "field": "name", "values": ["甲某某", "乙某某"]},  # L3
        {"kind": "regex", "field": "id_number", "pattern": "11010519[0-9]{9}[0-9X]"},  # L4
        {"kind": "id_matches", "id": "id_number", "sex": "sex", "male": ["男"], "female": ["女"]},
    ]
}
SECRETS = ("1901-02-03", "2020-12-31", "甲某某", "乙某某", "11010519[0-9]")
"""What an outsider must never be shown of the rules of L3 and L4 fields."""


def _read_events(db) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.event == "quality.rule_values_read")
            .order_by(LedgerEntry.seq)
        )
        return [json.loads(e.entry) for e in rows]


def _by_field(rules: list[dict]) -> dict[str, dict]:
    return {r.get("field", r["kind"]): r for r in rules}


def _masked_for_outsider(rules: list[dict]) -> None:
    seen = _by_field(rules)
    assert seen["income"]["max"] == 2999999.5 and seen["income"]["values_masked"] is False
    assert seen["sex"]["values"] == ["男", "女"] and seen["sex"]["values_masked"] is False
    assert seen["id_matches"]["male"] == ["男"] and seen["id_matches"]["values_masked"] is False
    assert seen["birth"]["values_masked"] is True and seen["birth"]["min"] != "1901-02-03"
    assert seen["name"]["values_masked"] is True and len(seen["name"]["values"]) == 2
    assert seen["id_number"]["pattern"] == "***" and seen["id_number"]["values_masked"] is True
    text = json.dumps(rules, ensure_ascii=False)
    assert not [s for s in SECRETS if s in text]


def _clear(rules: list[dict]) -> None:
    seen = _by_field(rules)
    assert seen["birth"]["min"] == "1901-02-03" and seen["name"]["values"] == ["甲某某", "乙某某"]
    assert seen["id_number"]["pattern"] == "11010519[0-9]{9}[0-9X]" and seen["income"]["min"] == -10.0
    assert not any(r["values_masked"] for r in rules)


@pytest.fixture
def ruled(world):
    with world.db.write() as s:
        service.save_rules(s, world.steward, "people", RULES)
    return world


def test_the_service_masks_for_outsiders_and_audits_insiders(ruled):
    w = ruled
    for who in (w.outsider, w.other_steward):
        _masked_for_outsider(service.read_rules(w.db, w.settings, who, "people")["rules"])
    assert _read_events(w.db) == []  # nothing was shown
    for who in (w.analyst, w.steward, w.admin):
        _clear(service.read_rules(w.db, w.settings, who, "people")["rules"])
    shown = _read_events(w.db)
    assert [e["user_id"] for e in shown] == [w.analyst.user_id, w.steward.user_id, w.admin.user_id]
    assert shown[-1]["detail"] == {"revision": 1, "fields": ["birth", "id_number", "name"]}
    # Only L1/L2 values: nothing masked, nothing to audit.
    with w.db.write() as s:
        service.save_rules(s, w.steward, "people", {"rules": RULES["rules"][:2]})
    assert not any(
        r["values_masked"] for r in service.read_rules(w.db, w.settings, w.outsider, "people")["rules"]
    )
    service.read_rules(w.db, w.settings, w.admin, "people")
    assert len(_read_events(w.db)) == 3


def test_the_api_masks_for_outsiders_and_the_runs_carry_no_values(client, ruled, token_for):
    url = "/api/v1/quality/datasets/people/rules"
    r = client.get(url, headers=token_for("sc_analyst"))
    assert r.status_code == 200 and r.json()["revision"] == 1
    _masked_for_outsider(r.json()["rules"])
    assert _read_events(ruled.db) == []
    for who in ("ga_analyst", "admin1"):
        _clear(client.get(url, headers=token_for(who)).json()["rules"])
    assert len(_read_events(ruled.db)) == 2
    # Saving is unchanged: the steward who wrote the values gets them back.
    saved = client.put(url, json=RULES, headers=token_for("ga_steward"))
    assert saved.status_code == 200 and saved.json()["rules"][2]["min"] == "1901-02-03"
    # A run's results name rules and count rows; they hold none of the rules' values.
    run = client.post("/api/v1/quality/datasets/people/runs", headers=token_for("ga_steward")).json()
    read = client.get(f"/api/v1/quality/runs/{run['id']}", headers=token_for("sc_analyst"))
    assert read.status_code == 200 and len(read.json()["results"]) == 6
    assert not [s for s in SECRETS if s in json.dumps(read.json(), ensure_ascii=False)]


def test_the_command_line_masks_for_outsiders(ruled, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")

    def cli(*args):
        result = CliRunner().invoke(cli_app, ["quality", "rules", "show", "people", *args])
        assert result.exit_code == 0, result.output
        return result.output

    _masked_for_outsider(json.loads(cli("--json", "--as", "sc_analyst"))["rules"])
    table = cli("--as", "sc_analyst")
    assert "***" in table and "2999999.5" in table and not [s for s in SECRETS if s in table]
    assert _read_events(ruled.db) == []
    _clear(json.loads(cli("--json", "--as", "ga_analyst"))["rules"])
    _clear(json.loads(cli("--json"))["rules"])  # the operator, a platform admin
    assert "1901-02-03" in cli("--as", "ga_steward")
    assert len(_read_events(ruled.db)) == 3


def test_the_page_shows_no_rule_values_and_writes_no_entry(client, ruled):
    w = ruled
    with w.db.read() as s:
        ds = service.get_dataset(s, "people")
        for who in (w.outsider, w.analyst, w.admin):
            # The page shows no parameter: its data is masked as for an outsider, whoever reads.
            _masked_for_outsider(overview.overview(s, who, ds, w.settings).rules["rules"])
    service.run(w.db, w.settings, w.steward, "people")
    for who in ("sc_analyst", "ga_analyst", "ga_steward", "admin1"):
        login(client, who)
        page = _section(client.get("/datasets/people").text)
        assert 'id="quality-results"' in page and "range(birth)" in page
        assert not [s for s in SECRETS if s in page], who
    assert _read_events(w.db) == []
