"""Finding 7 (policy part): a query nested 3,000 parentheses deep raised RecursionError (HTTP 500,
a CLI traceback) and left no `data.denied`. Depth and length are now limited before any rule runs,
and the refusal is a clear 422 / one CLI line, audited like every other refusal."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.exchange.conftest import granted, world  # noqa: F401
from tests.exchange.policy_tables import TABLES
from typer.testing import CliRunner

from shuzhi.cli import app as cli_app
from shuzhi.errors import InvalidInput
from shuzhi.exchange.policy import QueryLimits, govern
from shuzhi.ledger.models import LedgerEntry

DEEP = "SELECT " + "(" * 3000 + "name" + ")" * 3000 + " AS n FROM population"
LONG = "SELECT name FROM population WHERE name IN (" + ", ".join(["'x'"] * 12_000) + ")"  # ~60,000 characters


def denials(world) -> list[dict]:  # noqa: F811
    with world.db.session() as s:
        rows = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.denied").order_by(LedgerEntry.seq)
        )
        return [{"user_id": e.user_id, **json.loads(e.entry)["detail"]} for e in rows]


@pytest.mark.parametrize(
    "sql",
    [
        DEEP,
        "SELECT " + "NOT " * 3000 + "true AS n FROM population",
        "SELECT " + "abs(" * 3000 + "income" + ")" * 3000 + " AS n FROM population",
        # Parses without recursing (a left-deep chain), then would recurse in the rules.
        "SELECT income" + " + 1" * 3000 + " AS n FROM population",
        "SELECT name FROM population WHERE " + " AND ".join(["income > 1"] * 3000),
    ],
    ids=["parentheses", "not", "calls", "plus_chain", "and_chain"],
)
def test_deep_queries_refused_by_the_policy(sql):
    with pytest.raises(InvalidInput, match="nested too deeply") as info:
        govern(sql, TABLES)
    assert info.value.detail["refused"] == ["query_max_depth"]


def test_long_query_refused_before_parsing():
    assert len(LONG) > QueryLimits().max_chars
    with pytest.raises(InvalidInput, match="query too long") as info:
        govern(LONG, TABLES)
    assert info.value.detail["refused"] == ["query_max_chars"]


def test_limits_are_settings():
    sql = "SELECT " + "(" * 30 + "name" + ")" * 30 + " AS n FROM population"
    govern(sql, TABLES)
    with pytest.raises(InvalidInput, match="at most 20 levels"):
        govern(sql, TABLES, limits=QueryLimits(max_depth=20))
    with pytest.raises(InvalidInput, match=r"92 characters, at most 50\)"):
        govern(sql, TABLES, limits=QueryLimits(max_chars=50))


def test_ordinary_queries_are_far_from_the_limits():
    sql = (
        "WITH c AS (SELECT region_code, gender, income FROM population WHERE income > 0) "
        "SELECT region_code, COUNT(*) AS n, AVG(CASE WHEN gender = 'F' THEN income END) AS f "
        "FROM c WHERE region_code IN (SELECT region_code FROM population WHERE (income > 1 AND "
        "(gender = 'M' OR (gender = 'F' AND NOT (income < 10))))) GROUP BY region_code ORDER BY n DESC"
    )
    govern(sql, TABLES, limits=QueryLimits(max_depth=30))


@pytest.fixture
def api(world, client, token_for):  # noqa: F811
    return client, token_for("rs_analyst")


@pytest.mark.parametrize(
    ("sql", "limit", "words"),
    [(DEEP, "query_max_depth", "nested too deeply"), (LONG, "query_max_chars", "query too long")],
    ids=["deep", "long"],
)
def test_api_answers_422_and_audits(api, world, granted, sql, limit, words):  # noqa: F811
    client, headers = api
    r = client.post("/api/v1/exchange/sql", headers=headers, json={"sql": sql})
    assert r.status_code == 422, r.text[:300]
    assert words in r.json()["message"]
    last = denials(world)[-1]
    assert last["user_id"] == world.rs_analyst.user_id
    assert last["channel"] == "sql" and last["refused"] == [limit]
    assert words in last["reason"]


@pytest.mark.parametrize(
    ("sql", "limit", "words"),
    [(DEEP, "query_max_depth", "nested too deeply"), (LONG, "query_max_chars", "query too long")],
    ids=["deep", "long"],
)
def test_cli_prints_one_line_and_audits(world, granted, cli_env, monkeypatch, sql, limit, words):  # noqa: F811
    monkeypatch.setenv("COLUMNS", "400")
    result = CliRunner().invoke(cli_app, ["exchange", "sql", sql, "--as", "rs_analyst"])
    assert result.exit_code == 2, result.output[:500]
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output and "RecursionError" not in result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("错误 (error):") and words in lines[0] and len(lines) <= 3
    last = denials(world)[-1]
    assert last["user_id"] == world.rs_analyst.user_id and last["refused"] == [limit]
