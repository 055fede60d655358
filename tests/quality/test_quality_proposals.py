"""Rules proposed from a version: each heuristic on planted columns, accepting (as is or edited) and
rejecting on SQLite and PostgreSQL, who may, masked values, and the API and command line."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.quality.conftest import add_dataset, add_version
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app
from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import Pair
from shuzhi.ledger.models import LedgerEntry
from shuzhi.quality import proposing, service
from shuzhi.quality.proposals import (
    ColumnStats,
    Detected,
    Thresholds,
    column_stats,
    covered_keys,
    propose,
    rule_key,
)

LIMITS = Thresholds(enum_max_values=5, enum_max_ratio=0.1, unique_min_rows=10)


def keys(rows, columns, found=None, covered=frozenset()):
    return [p.key for p in propose(rows, columns, found or {}, LIMITS, set(covered))]


# -- the heuristics, on statistics planted by hand ------------------------------------------------------


def test_completeness_is_proposed_only_where_nothing_is_absent():
    assert keys(100, [ColumnStats("a", "text", nulls=0, distinct=90)]) == ["not_blank(a)"]
    assert keys(100, [ColumnStats("a", "text", nulls=0, blanks=3, distinct=90)]) == ["not_null(a)"]
    assert keys(100, [ColumnStats("a", "text", nulls=1, distinct=90)]) == []
    assert keys(100, [ColumnStats("b", "boolean", nulls=0, distinct=2)]) == ["not_null(b)"]
    assert keys(0, [ColumnStats("a", "text", nulls=0, distinct=0)]) == []
    (p,) = propose(12345, [ColumnStats("a", "text", nulls=0, distinct=9000)], {}, LIMITS)
    assert p.reason.in_lang("zh") == "无空值（0/12,345）" and p.evidence == {
        "rows": 12345,
        "nulls": 0,
        "blanks": 0,
    }


def test_a_range_is_proposed_from_the_observed_bounds_of_ordered_fields():
    (p,) = propose(100, [ColumnStats("n", "integer", nulls=5, distinct=60, min=-3, max=70)], {}, LIMITS)
    assert p.rule == {"kind": "range", "field": "n", "min": -3, "max": 70} and p.evidence["present"] == 95
    day = ColumnStats("d", "date", nulls=1, distinct=50, min=dt.date(2020, 1, 1), max=dt.date(2024, 5, 6))
    assert propose(100, [day], {}, LIMITS)[0].rule["max"] == "2024-05-06"
    assert keys(100, [ColumnStats("x", "number", nulls=1, distinct=50, min=float("nan"), max=1.0)]) == []
    assert keys(100, [ColumnStats("x", "number", nulls=100, distinct=0)]) == []
    assert keys(100, [ColumnStats("t", "text", nulls=1, distinct=50, min="a", max="z")]) == []


def test_an_enumeration_is_proposed_for_few_repeated_values():
    few = ColumnStats("s", "text", nulls=10, blanks=0, distinct=3, values=["A", "B", "C"])
    assert keys(100, [few]) == ["enum(s)"]
    assert propose(100, [few], {}, LIMITS)[0].rule["values"] == ["A", "B", "C"]
    many = ColumnStats("s", "text", nulls=1, distinct=6, values=None)
    assert keys(100, [many]) == []
    not_repeated = ColumnStats("s", "integer", nulls=0, distinct=3, min=1, max=3, values=[1, 2, 3])
    assert keys(20, [not_repeated]) == ["not_null(s)", "range(s)"]  # 3 > 0.1 × 20: no enumeration
    assert "enum(s)" in keys(100, [not_repeated])


def test_uniqueness_is_proposed_where_every_value_is_present_and_differs():
    assert "unique(k)" in keys(50, [ColumnStats("k", "text", nulls=0, distinct=50)])
    assert "unique(k)" not in keys(50, [ColumnStats("k", "text", nulls=0, distinct=49)])
    assert "unique(k)" not in keys(50, [ColumnStats("k", "text", nulls=1, distinct=49)])
    assert "unique(k)" not in keys(50, [ColumnStats("k", "text", nulls=0, blanks=1, distinct=50)])
    assert "unique(k)" not in keys(9, [ColumnStats("k", "text", nulls=0, distinct=9)])  # too few rows
    assert "unique(k)" not in keys(50, [ColumnStats("k", "number", nulls=0, distinct=50, min=1.0, max=9.0)])


def test_checks_of_what_grading_detected():
    def found(category, detector=None):
        return Detected(category, Pair("身份证号", "resident ID"), detector or category, 0.97)

    text = ColumnStats("id", "text", nulls=1, distinct=90)
    assert keys(100, [text], {"id": found("resident_id")}) == ["resident_id(id)"]
    (p,) = propose(100, [text], {"id": found("resident_id")}, LIMITS)
    assert "身份证号" in p.reason.in_lang("zh") and p.evidence["confidence"] == 0.97
    assert keys(100, [text], {"id": found("uscc")}) == ["credit_code(id)"]
    assert propose(100, [text], {"id": found("mobile")}, LIMITS)[0].rule["kinds"] == ["mobile"]
    assert keys(100, [text], {"id": found("phone", "phone_intl")}) == []
    assert keys(100, [text], {"id": found("person_name")}) == []
    number = ColumnStats("id", "integer", nulls=1, distinct=90, min=1, max=9)
    assert keys(100, [number], {"id": found("resident_id")}) == ["range(id)"]  # a checksum takes text
    born = ColumnStats("b", "date", nulls=1, distinct=90, min=dt.date(1950, 1, 1), max=dt.date(2000, 1, 1))
    assert "not_future(b)" in keys(100, [born], {"b": found("birth_date")})


def test_what_the_rule_set_has_or_a_steward_rejected_is_not_proposed():
    col = ColumnStats("a", "integer", nulls=0, distinct=100, min=1, max=100)
    assert keys(100, [col]) == ["not_null(a)", "range(a)", "unique(a)"]
    have = covered_keys([{"kind": "range", "field": "a", "min": 0}, {"kind": "unique", "fields": ["a"]}])
    assert keys(100, [col], covered=have) == ["not_null(a)"]
    assert (
        keys(
            100,
            [ColumnStats("t", "text", nulls=0, blanks=2)],
            covered=covered_keys([{"kind": "not_blank", "field": "t"}]),
        )
        == []
    )
    assert rule_key({"kind": "id_matches", "id": "i", "birth": "b"}) == "id_matches(i, b)"


# -- the statistics, read from a file --------------------------------------------------------------------


def test_the_statistics_are_exact_and_values_read_only_for_few_valued_columns(tmp_path):
    path = tmp_path / "v.parquet"
    table = pa.table(
        {
            "t": ["a", " ", "\u3000", None, "b", "a"],
            "n": [3, 1, None, 1, 2, 9],
            "d": [dt.date(2020, 1, 2), None, None, None, None, dt.date(2019, 5, 6)],
            "x": [[1], [2], None, [3], [4], [5]],
            "wide": [f"w{i}" for i in range(6)],
        }
    )
    pq.write_table(table, path)
    families = {"t": "text", "n": "integer", "d": "date", "x": "other", "wide": "text"}
    rows, stats = column_stats(path, families, Thresholds(enum_max_values=4))
    by = {c.name: c for c in stats}
    assert rows == 6
    assert (by["t"].nulls, by["t"].blanks, by["t"].values) == (1, 2, ["a", "b"])  # blanks not values
    assert (by["n"].nulls, by["n"].distinct, by["n"].min, by["n"].max, by["n"].values) == (
        1,
        4,
        1,
        9,
        [1, 2, 3, 9],
    )
    assert (by["d"].min, by["d"].max, by["d"].values) == (dt.date(2019, 5, 6), dt.date(2020, 1, 2), None)
    assert by["x"].nulls == 1 and by["x"].distinct is None
    assert by["wide"].distinct == 6 and by["wide"].values is None  # too many values: not read


# -- a planted version, proposals made and decided ----------------------------------------------------

ROWS = 40
REGISTRY = pa.table(
    {
        "code": [f"C{i:04d}" for i in range(ROWS)],
        "status": [("存续", "注销", "吊销")[i % 3] for i in range(ROWS)],
        "age": [18 + i % 30 for i in range(ROWS)],
        "income": [None if i % 10 == 0 else 1000.0 + i for i in range(ROWS)],
        "birth": [dt.date(1960, 1, 1) + dt.timedelta(days=400 * i) for i in range(ROWS)],
        "id_number": [f"1101051949123{i:04d}X" for i in range(ROWS)],
        "note": [None if i % 7 == 0 else (" " if i % 5 == 0 else f"备注{i}") for i in range(ROWS)],
        "level": [1 + i % 3 for i in range(ROWS)],
    }
)
REGISTRY_GRADES = {
    "code": "L1",
    "status": "L1",
    "age": "L2",
    "income": "L3",
    "birth": "L3",
    "id_number": "L4",
    "note": "L2",
    "level": "L4",
}
CATEGORIES = {"id_number": "resident_id", "birth": "birth_date"}
EXPECTED = [
    "not_blank(code)",
    "unique(code)",
    "not_blank(status)",
    "enum(status)",
    "not_null(age)",
    "range(age)",
    "range(income)",
    "not_null(birth)",
    "range(birth)",
    "unique(birth)",
    "not_future(birth)",
    "not_blank(id_number)",
    "unique(id_number)",
    "resident_id(id_number)",
    "not_null(level)",
    "range(level)",
    "enum(level)",
]


@pytest.fixture
def registry(world):
    add_dataset(world.db, world.steward, "registry", REGISTRY)
    add_version(world.db, world.settings, "registry", REGISTRY, REGISTRY_GRADES, categories=CATEGORIES)
    return world


def _events(db, name) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == name).order_by(LedgerEntry.seq))
        return [json.loads(e.entry)["detail"] for e in rows]


def _made(w, who=None, number=None) -> dict[str, dict]:
    ids = proposing.make(w.db, w.settings, who or w.steward, "registry", number)
    out = proposing.read(w.db, w.settings, w.steward, "registry", ids=ids)["proposals"]
    return {p["key"]: p for p in out}


def _rules(w) -> dict:
    with w.db.read() as s:
        from shuzhi.catalog.service import get_dataset

        ds = get_dataset(s, "registry")
        return service.rules_out(ds, service.current_rules(s, ds))


def test_proposals_made_accepted_as_is_or_edited_rejected_and_made_again(registry):
    w = registry
    made = _made(w)
    assert list(made) == EXPECTED
    assert made["enum(status)"]["rule"]["values"] == ["吊销", "存续", "注销"]
    assert made["range(income)"]["rule"] == {"kind": "range", "field": "income", "min": 1001.0, "max": 1039.0}
    assert made["range(income)"]["evidence"]["present"] == 36
    assert made["range(birth)"]["rule"]["min"] == "1960-01-01"
    assert made["not_blank(code)"]["reason"]["zh"] == "无空值（0/40）"
    assert made["resident_id(id_number)"]["evidence"]["category"] == "resident_id"
    assert all(p["state"] == "proposed" for p in made.values())
    assert _events(w.db, "quality.rules_proposed")[-1]["proposals"] == EXPECTED
    with w.db.write() as s:
        proposing.accept(s, w.steward, made["not_blank(code)"]["id"])
    with w.db.write() as s:
        edited = {"kind": "range", "field": "age", "min": 0, "max": 150, "name": "年龄合理"}
        p = proposing.accept(s, w.admin, made["range(age)"]["id"], edited)
        assert p.revision == 2 and p.accepted_rule["name"] == "年龄合理"
    rules = _rules(w)
    assert rules["revision"] == 2 and [r["name"] for r in rules["rules"]] == ["not_blank(code)", "年龄合理"]
    assert rules["rules"][1]["max"] == 150
    assert [e["revision"] for e in _events(w.db, "quality.rules_saved")] == [1, 2]
    assert [e["edited"] for e in _events(w.db, "quality.proposal_accepted")] == [False, True]
    # A wrong edit is refused saying which rule and why, and changes nothing.
    with pytest.raises(InvalidInput) as bad, w.db.write() as s:
        proposing.accept(
            s, w.steward, made["enum(status)"]["id"], {"kind": "range", "field": "status", "min": 1}
        )
    assert bad.value.where == "rule" and "rule #3" in bad.value.message and "range" in bad.value.message
    with pytest.raises(InvalidInput), w.db.write() as s:
        proposing.accept(
            s, w.steward, made["enum(status)"]["id"], {"kind": "enum", "field": "nowhere", "values": ["a"]}
        )
    assert _rules(w)["revision"] == 2
    with pytest.raises(InvalidInput) as empty, w.db.write() as s:
        proposing.reject(s, w.steward, made["unique(birth)"]["id"], "  ")
    assert empty.value.where == "reason"
    with w.db.write() as s:
        proposing.reject(s, w.steward, made["unique(birth)"]["id"], "出生日期可以重复")
    with pytest.raises(Conflict), w.db.write() as s:
        proposing.accept(s, w.steward, made["unique(birth)"]["id"])
    with pytest.raises(Conflict), w.db.write() as s:
        proposing.reject(s, w.steward, made["not_blank(code)"]["id"], "again")
    with pytest.raises(NotFound), w.db.write() as s:
        proposing.accept(s, w.steward, 99999)
    assert _events(w.db, "quality.proposal_rejected")[0]["key"] == "unique(birth)"
    # A later version: neither what the rule set has nor what was rejected is offered again.
    add_version(w.db, w.settings, "registry", REGISTRY, REGISTRY_GRADES, categories=CATEGORIES)
    again = _made(w)
    assert set(again) == set(EXPECTED) - {"not_blank(code)", "range(age)", "unique(birth)"}
    assert {p["version"] for p in again.values()} == {2}
    states = proposing.read(w.db, w.settings, w.steward, "registry")["proposals"]
    old = [p["state"] for p in states if p["version"] == 1]
    assert (
        old.count("superseded") == len(EXPECTED) - 3
        and old.count("accepted") == 2
        and old.count("rejected") == 1
    )
    assert (
        proposing.read(w.db, w.settings, w.steward, "registry", state="rejected")["proposals"][0][
            "decision_reason"
        ]
        == "出生日期可以重复"
    )
    with pytest.raises(InvalidInput):
        proposing.read(w.db, w.settings, w.steward, "registry", state="maybe")


def test_who_may_make_decide_and_see_the_values_of_proposals(registry):
    w = registry
    for who in (w.other_steward, w.analyst, w.outsider):
        with pytest.raises(Forbidden):
            proposing.make(w.db, w.settings, who, "registry")
    made = _made(w, who=w.admin)
    pid = made["enum(status)"]["id"]
    for who in (w.other_steward, w.analyst, w.outsider):
        with pytest.raises(Forbidden), w.db.write() as s:
            proposing.accept(s, who, pid)
        with pytest.raises(Forbidden), w.db.write() as s:
            proposing.reject(s, who, pid, "no")
    assert _rules(w)["revision"] is None
    with pytest.raises(NotFound):
        proposing.make(w.db, w.settings, w.steward, "nothing")
    with pytest.raises(NotFound):
        proposing.make(w.db, w.settings, w.steward, "registry", 9)

    # Anyone signed in reads proposals; values of L3/L4 fields only the department and admins.
    before = len(_events(w.db, "quality.proposal_values_read"))
    seen = {p["key"]: p for p in proposing.read(w.db, w.settings, w.outsider, "registry")["proposals"]}
    assert seen["enum(status)"]["rule"]["values"] == ["吊销", "存续", "注销"]  # L1: as is
    assert seen["enum(status)"]["values_masked"] is False and seen["range(age)"]["rule"]["max"] == 47
    income = seen["range(income)"]
    assert (
        income["values_masked"] is True
        and income["rule"]["min"] != 1001.0
        and income["evidence"]["max"] != 1039.0
    )
    assert "1039" not in json.dumps(income)
    assert seen["enum(level)"]["rule"]["values"] == ["***", "***", "***"]  # L4: withheld
    assert "1960-01-01" not in json.dumps(seen["range(birth)"])
    assert seen["not_blank(id_number)"]["values_masked"] is False  # no values: nothing to mask
    assert len(_events(w.db, "quality.proposal_values_read")) == before  # nothing was shown
    for who in (w.analyst, w.admin):
        mine = {p["key"]: p for p in proposing.read(w.db, w.settings, who, "registry")["proposals"]}
        assert mine["range(income)"]["rule"]["max"] == 1039.0 and mine["enum(level)"]["rule"]["values"] == [
            1,
            2,
            3,
        ]
    shown = _events(w.db, "quality.proposal_values_read")
    assert len(shown) == before + 2 and shown[-1]["fields"] == ["birth", "income", "level"]
    # An accepted edit is masked by its own field's grade, whatever field it was proposed for.
    with w.db.write() as s:
        edited = {"kind": "range", "field": "income", "min": 5000}
        proposing.accept(s, w.steward, seen["range(age)"]["id"], edited)
    seen = {p["key"]: p for p in proposing.read(w.db, w.settings, w.outsider, "registry")["proposals"]}
    assert seen["range(age)"]["rule"]["max"] == 47 and seen["range(age)"]["accepted_rule"]["min"] != 5000
    assert seen["range(age)"]["values_masked"] is True


# -- the faces ----------------------------------------------------------------------------------------


@pytest.fixture
def heads(registry, token_for):
    return {u: token_for(u) for u in ("ga_steward", "sc_steward", "sc_analyst", "admin1")}


def test_proposals_through_the_api(client, heads):
    url = "/api/v1/quality/datasets/registry/proposals"
    assert client.post(url, headers=heads["sc_steward"]).status_code == 403
    r = client.post(url, json={"version": 1}, headers=heads["ga_steward"])
    assert r.status_code == 201, r.text
    made = {p["key"]: p for p in r.json()["proposals"]}
    assert list(made) == EXPECTED
    listed = client.get(url + "?state=proposed", headers=heads["sc_analyst"]).json()["proposals"]
    assert {p["key"]: p for p in listed}["enum(level)"]["rule"]["values"] == ["***", "***", "***"]
    assert client.get(url + "?state=maybe", headers=heads["sc_analyst"]).status_code == 422
    accept = f"/api/v1/quality/proposals/{made['range(age)']['id']}/accept"
    assert client.post(accept, headers=heads["sc_steward"]).status_code == 403
    bad = client.post(accept, json={"rule": {"kind": "range", "field": "age"}}, headers=heads["ga_steward"])
    assert bad.status_code == 422 and bad.json()["where"] == "rule"
    assert "min" in bad.json()["message"]
    r = client.post(
        accept, json={"rule": {"kind": "range", "field": "age", "min": 0}}, headers=heads["ga_steward"]
    )
    assert r.status_code == 200, r.text
    assert (
        r.json()["state"] == "accepted"
        and r.json()["accepted_rule"]["min"] == 0
        and r.json()["revision"] == 1
    )
    assert client.post(accept, headers=heads["ga_steward"]).status_code == 409
    reject = f"/api/v1/quality/proposals/{made['unique(code)']['id']}/reject"
    assert client.post(reject, json={"reason": ""}, headers=heads["ga_steward"]).status_code == 422
    r = client.post(reject, json={"reason": "编码会复用"}, headers=heads["admin1"])
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    assert client.post("/api/v1/quality/proposals/99999/accept", headers=heads["admin1"]).status_code == 404
    assert (
        client.get("/api/v1/quality/datasets/nothing/proposals", headers=heads["admin1"]).status_code == 404
    )
    assert client.get(url).status_code == 401
    rules = client.get("/api/v1/quality/datasets/registry/rules", headers=heads["sc_analyst"]).json()
    assert [x["name"] for x in rules["rules"]] == ["range(age)"]


def test_proposals_on_the_command_line(registry, cli_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")

    def cli(*args):
        result = CliRunner().invoke(cli_app, ["quality", *args])
        return result.exit_code, result.output

    assert cli("propose", "registry", "--as", "sc_steward")[0] == 2
    code, out = cli("propose", "registry", "--version", "1", "--as", "ga_steward")
    assert code == 0 and "enum" in out and "unique" in out, out
    code, out = cli("proposals", "registry", "--json", "--as", "sc_analyst")
    made = {p["key"]: p for p in json.loads(out)["proposals"]}
    assert code == 0 and made["enum(level)"]["values_masked"] is True
    pid = made["enum(status)"]["id"]
    code, out = cli(
        "accept", str(pid), "--rule-json", '{"kind": "enum", "field": "status"}', "--as", "ga_steward"
    )
    assert code == 2 and "rule" in out
    assert cli("accept", str(pid), "--rule-json", "{nope", "--as", "ga_steward")[0] == 2
    code, out = cli("accept", str(pid), "--as", "ga_steward")
    assert code == 0 and "r1" in out, out
    assert cli("accept", str(pid), "--as", "ga_steward")[0] == 2
    assert cli("reject", str(made["unique(code)"]["id"]), "--reason", "复用", "--as", "sc_steward")[0] == 2
    code, out = cli("reject", str(made["unique(code)"]["id"]), "--reason", "复用", "--as", "ga_steward")
    assert code == 0, out
    code, out = cli("proposals", "registry", "--state", "rejected", "--as", "ga_steward")
    assert code == 0 and "unique" in out and "enum" not in out and "已拒绝" in out
