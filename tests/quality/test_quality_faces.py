"""The API and the command line of data quality: rules, runs, results, scores, and every refusal."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app

runner = CliRunner()

RULES = {
    "rules": [
        {"kind": "not_blank", "field": "name", "blocking": True},
        {"kind": "resident_id", "field": "id_number"},
        {"kind": "unique", "fields": ["id_number"]},
    ],
    "sample_size": 2,
}


@pytest.fixture
def heads(world, token_for):
    return {u: token_for(u) for u in ("ga_steward", "sc_steward", "ga_analyst", "sc_analyst", "admin1")}


def test_the_kinds_are_listed_with_their_parameters(client, heads):
    r = client.get("/api/v1/quality/kinds", headers=heads["sc_analyst"])
    kinds = {k["name"]: k for k in r.json()["kinds"]}
    assert r.status_code == 200 and {"not_null", "unique", "references", "timeliness"} <= set(kinds)
    assert kinds["range"]["dimension"] == "validity" and "min" in kinds["range"]["params"]["properties"]


def test_rules_saved_shown_run_and_read_through_the_api(client, heads):
    r = client.put("/api/v1/quality/datasets/people/rules", json=RULES, headers=heads["ga_steward"])
    assert r.status_code == 200, r.text
    assert r.json()["revision"] == 1 and r.json()["sample_size"] == 2
    shown = client.get("/api/v1/quality/datasets/people/rules", headers=heads["sc_analyst"]).json()
    assert [x["kind"] for x in shown["rules"]] == ["not_blank", "resident_id", "unique"]
    r = client.post("/api/v1/quality/datasets/people/runs", json={"version": 1}, headers=heads["ga_steward"])
    assert r.status_code == 201, r.text
    run = r.json()
    assert run["blocked"] is True and [x["rows_failed"] for x in run["results"]] == [2, 1, 2]
    assert "sample" not in run["results"][0]
    listed = client.get("/api/v1/quality/datasets/people/runs", headers=heads["sc_analyst"]).json()
    assert [x["id"] for x in listed["runs"]] == [run["id"]]
    history = client.get("/api/v1/quality/datasets/people/scores", headers=heads["sc_analyst"]).json()
    assert [v["version"] for v in history["versions"]] == [1] and history["versions"][0]["score"] == run[
        "score"
    ]
    mine = client.get(f"/api/v1/quality/runs/{run['id']}?samples=true", headers=heads["ga_analyst"])
    assert mine.status_code == 200 and mine.json()["results"][0]["sample"][0]["row"] == 1


def test_the_api_refuses_what_the_caller_may_not_do(client, heads):
    for who in ("sc_steward", "ga_analyst", "sc_analyst"):
        r = client.put("/api/v1/quality/datasets/people/rules", json=RULES, headers=heads[who])
        assert r.status_code == 403, who
    assert (
        client.put("/api/v1/quality/datasets/people/rules", json=RULES, headers=heads["admin1"]).status_code
        == 200
    )
    for who in ("sc_steward", "ga_analyst"):
        assert client.post("/api/v1/quality/datasets/people/runs", headers=heads[who]).status_code == 403, who
    run = client.post("/api/v1/quality/datasets/people/runs", headers=heads["admin1"]).json()
    for who in ("sc_steward", "sc_analyst"):
        r = client.get(f"/api/v1/quality/runs/{run['id']}?samples=true", headers=heads[who])
        assert r.status_code == 403 and r.json()["where"] == "samples", who
        assert (
            "sample"
            not in client.get(f"/api/v1/quality/runs/{run['id']}", headers=heads[who]).json()["results"][0]
        )
    assert client.get("/api/v1/quality/kinds").status_code == 401
    assert client.get(f"/api/v1/quality/runs/{run['id']}").status_code == 401


def test_a_wrong_rule_is_refused_through_the_api_naming_it(client, heads):
    bad = {
        "rules": [
            {"kind": "not_null", "field": "name"},
            {"kind": "range", "field": "name", "min": 1, "name": "收入范围"},
        ]
    }
    r = client.put("/api/v1/quality/datasets/people/rules", json=bad, headers=heads["ga_steward"])
    assert r.status_code == 422
    assert r.json()["where"] == "rules[1]" and "收入范围" in json.dumps(r.json(), ensure_ascii=False)
    r = client.put(
        "/api/v1/quality/datasets/people/rules", json={"rules": [], "extra": 1}, headers=heads["ga_steward"]
    )
    assert r.status_code == 422
    assert client.get("/api/v1/quality/runs/999", headers=heads["admin1"]).status_code == 404
    assert client.post("/api/v1/quality/datasets/nothing/runs", headers=heads["admin1"]).status_code == 404


@pytest.fixture
def cli(world, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")

    def run(*args: str):
        result = runner.invoke(cli_app, ["quality", *args])
        return result.exit_code, result.output

    return run


def test_the_command_line_sets_rules_runs_and_shows_results(cli, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "sample_size: 2\nrules:\n  - kind: not_blank\n    field: name\n    blocking: true\n"
        "  - kind: unique\n    fields: [id_number]\n",
        encoding="utf-8",
    )
    code, out = cli("rules", "set", "people", str(rules), "--as", "ga_steward")
    assert code == 0, out
    code, out = cli("rules", "show", "people", "--json")
    assert code == 0 and json.loads(out)["revision"] == 1
    code, out = cli("run", "people", "--as", "ga_steward")
    assert code == 0, out
    assert "not_blank(name)" in out and "unique(id_number)" in out
    code, out = cli("results", "people", "--samples", "--as", "ga_analyst")
    assert code == 0 and "not_blank(name) #1" in out
    code, out = cli("results", "people", "--history")
    assert code == 0 and "1" in out


def test_the_command_line_refuses_as_the_api_does(cli, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- kind: range\n  field: name\n  min: 1\n", encoding="utf-8")
    code, out = cli("rules", "set", "people", str(rules), "--as", "ga_steward")
    assert code == 2 and "rule #1" in out and "rules[0]" in out
    rules.write_text("- kind: not_null\n  field: name\n", encoding="utf-8")
    code, out = cli("rules", "set", "people", str(rules), "--as", "sc_steward")
    assert code == 2
    assert cli("rules", "set", "people", str(rules))[0] == 0  # the operator acts as platform admin
    assert cli("run", "people", "--as", "ga_analyst")[0] == 2
    assert cli("run", "people")[0] == 0
    code, out = cli("results", "people", "--samples", "--as", "sc_analyst")
    assert code == 2
    rules.write_text("rules: [unclosed", encoding="utf-8")
    assert cli("rules", "set", "people", str(rules))[0] == 2


def test_hold_and_override_through_the_api(client, heads):
    client.put("/api/v1/quality/datasets/people/rules", json=RULES, headers=heads["ga_steward"])
    client.post("/api/v1/quality/datasets/people/runs", headers=heads["ga_steward"])
    held = client.get("/api/v1/quality/datasets/people/versions/1/hold", headers=heads["sc_analyst"]).json()
    assert held["held"] is True and held["rules"] == ["not_blank(name)"]
    url = "/api/v1/quality/datasets/people/versions/1/override"
    assert client.post(url, json={"reason": "ok"}, headers=heads["sc_steward"]).status_code == 403
    assert client.post(url, json={"reason": ""}, headers=heads["ga_steward"]).status_code == 422
    r = client.post(url, json={"reason": "已核实"}, headers=heads["ga_steward"])
    assert r.status_code == 200 and r.json()["held"] is False
    assert client.post(url, json={"reason": "again"}, headers=heads["ga_steward"]).status_code == 409
    assert (
        client.get("/api/v1/quality/datasets/people/versions/1/hold", headers=heads["sc_analyst"]).json()[
            "held"
        ]
        is False
    )


def test_override_on_the_command_line(cli, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- kind: not_blank\n  field: name\n  blocking: true\n", encoding="utf-8")
    assert cli("rules", "set", "people", str(rules), "--as", "ga_steward")[0] == 0
    assert cli("run", "people", "--as", "ga_steward")[0] == 0
    assert cli("override", "people", "--reason", "已核实", "--as", "sc_steward")[0] == 2
    code, out = cli("override", "people", "--reason", "已核实", "--as", "ga_steward")
    assert code == 0, out
