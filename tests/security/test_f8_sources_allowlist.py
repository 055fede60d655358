"""A second way to the raw relation, found after finding 8 was fixed: DuckDB reads more than tables
in FROM. `(SUMMARIZE '<relation>')` read a registered version by its engine name, outside every
scope the policy analyses, and returned an L4 column's raw values as min/max. What a query may read
from is an allowlist (a dataset name, a parenthesised SELECT, VALUES); refusals are audited."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.exchange.conftest import granted, world  # noqa: F401
from tests.exchange.policy_tables import TABLES

from shuzhi.errors import Forbidden
from shuzhi.exchange import service
from shuzhi.exchange.policy import govern
from shuzhi.ledger.models import LedgerEntry

ESCAPES = {
    "summarize_string": "SELECT name, id_number FROM population UNION ALL SELECT #1, #3 FROM (SUMMARIZE '_sz_r1')",
    "summarize_table_join": "SELECT name FROM population JOIN (SUMMARIZE population) s ON true",
    "summarize_in_list": "SELECT name FROM population WHERE name IN (SUMMARIZE population)",
    "describe": "SELECT column_name FROM (DESCRIBE population)",
    "positional": "SELECT #1 FROM population",
    "pivot_source": "SELECT gender FROM (PIVOT population ON gender USING count(name))",
    "string_source": "SELECT name FROM '_sz_r1'",
}


@pytest.mark.parametrize("sql", ESCAPES.values(), ids=ESCAPES.keys())
def test_sources_off_the_allowlist_are_refused(sql):
    with pytest.raises(Forbidden):
        govern(sql, TABLES)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT gender, count(*) AS n FROM population GROUP BY gender",
        "SELECT p.name FROM population p JOIN (SELECT uscc FROM enterprise) e ON true",
        "SELECT a FROM (VALUES (1), (2)) t(a)",
        "WITH x AS (SELECT name FROM population) SELECT name FROM x",
        "SELECT name FROM population WHERE gender IN (SELECT gender FROM population)",
    ],
)
def test_allowed_sources_still_work(sql):
    assert govern(sql, TABLES).sql


def test_summarize_refused_end_to_end_and_audited(world, granted):  # noqa: F811
    sql = "SELECT name FROM population UNION ALL SELECT max FROM (SUMMARIZE '_sz_d1_v1')"
    with pytest.raises(Forbidden):
        read = service.run_sql(world.db, world.settings, world.rs_analyst, sql)
        list(read.batches())
    with world.db.session() as s:
        entry = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.denied").order_by(LedgerEntry.seq.desc())
        ).first()
    assert entry is not None and entry.user_id == world.rs_analyst.user_id
    assert json.loads(entry.entry)["detail"]["refused"] == ["SUMMARIZE"]
