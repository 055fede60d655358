"""Finding 12, two items: a grant's row filter could not contain `AND` ("function not allowed: and"),
which pushed stewards to broader filters; and the rewrite silently dropped `TABLESAMPLE`. Row filters
now take the usual predicates (still only allowlisted scalar functions, no subqueries); a sample
clause is refused, since the rewrite cannot keep it without sampling before the row filter."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from tests.exchange.conftest import GRANTED, granted, population_table, world  # noqa: F401
from tests.exchange.policy_tables import TABLES

from shuzhi.errors import Forbidden, InvalidInput
from shuzhi.exchange import service, share_requests
from shuzhi.exchange.policy import govern, validate_row_filter
from shuzhi.ledger.models import LedgerEntry

FIELDS = [n for n, _ in TABLES["population"].fields]


@pytest.mark.parametrize(
    "predicate",
    [
        "region_code LIKE '3301%' AND gender = 'F'",
        "region_code LIKE '3301%' AND (gender = 'F' OR income >= 5000)",
        "NOT (region_code LIKE '1101%') AND gender <> 'M'",
        "region_code IN ('330102', '330105') OR region_code NOT LIKE '33%'",
        "income BETWEEN 1000 AND 9000 AND birth_date IS NOT NULL",
        "religion IS NULL OR lower(religion) NOT IN ('x', 'y')",
        "year(birth_date) >= 1980 AND left(region_code, 4) = '3301' AND length(name) > 1",
        "coalesce(income, 0) > 0 OR nullif(gender, '') IS NULL",
        "CAST(income AS INTEGER) % 2 = 0 AND region_code ILIKE '33%'",
        "CASE WHEN gender = 'F' THEN income > 0 ELSE income > 100 END",
    ],
)
def test_row_filters_take_the_usual_predicates(predicate):
    validate_row_filter(predicate, FIELDS)


@pytest.mark.parametrize(
    ("predicate", "words"),
    [
        ("region_code IN (SELECT region_code FROM population)", "construct not allowed"),
        ("EXISTS (SELECT 1) AND gender = 'F'", "construct not allowed"),
        ("gender = 'F' AND count(*) > 1", "function not allowed: count"),
        ("gender = 'F' AND row_number() OVER () < 10", "not allowed"),
        ("gender = 'F' AND error(name) IS NULL", "function not allowed: error"),
        ("gender = 'F' OR pg_get_viewdef(1) IS NOT NULL", "function not allowed: pg_get_viewdef"),
        ("gender = 'F' AND current_setting('memory_limit') <> ''", "function not allowed: current_setting"),
        ("gender = 'F' AND repeat(name, 1000000) <> ''", "function not allowed: repeat"),
        ("gender = 'F' AND other_field = 1", "column not allowed"),
        ("gender = 'F' AND p.name = 'x'", "column not allowed"),
        ("gender = 'F'; DROP TABLE t", "cannot parse"),
    ],
)
def test_row_filters_still_validated_strictly(predicate, words):
    with pytest.raises(InvalidInput, match=words):
        validate_row_filter(predicate, FIELDS)


def test_a_grant_with_an_and_filter_reads_only_both(world):  # noqa: F811
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=GRANTED, purpose="低保资格核查"),
            submit=True,
        )
        share_requests.approve_request(
            s,
            world.settings,
            world.ga_steward,
            req,
            share_requests.Approval(fields=GRANTED, row_filter="region_code LIKE '3301%' AND gender = 'F'"),
        )
    read = service.run_sql(
        world.db,
        world.settings,
        world.rs_analyst,
        "SELECT region_code, gender FROM population WHERE 1 = 1 OR true",
    )
    rows = [r for b in read.batches() for r in b.to_pylist()]
    source = population_table().to_pylist()
    expected = [r for r in source if r["region_code"].startswith("3301") and r["gender"] == "F"]
    assert len(rows) == len(expected) > 0
    assert all(r["region_code"].startswith("3301") and r["gender"] == "F" for r in rows)


def test_a_grant_with_a_bad_filter_is_refused(world):  # noqa: F811
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=GRANTED, purpose="低保资格核查"),
            submit=True,
        )
        with pytest.raises(InvalidInput, match="pg_get_viewdef"):
            share_requests.approve_request(
                s,
                world.settings,
                world.ga_steward,
                req,
                share_requests.Approval(
                    fields=GRANTED, row_filter="gender = 'F' AND pg_get_viewdef(1) IS NOT NULL"
                ),
            )


SAMPLES = {
    "tablesample_percent": "SELECT name FROM population TABLESAMPLE 10 PERCENT",
    "tablesample_bernoulli": "SELECT name FROM population TABLESAMPLE BERNOULLI (50)",
    "tablesample_alias": "SELECT p.name FROM population AS p TABLESAMPLE SYSTEM (10)",
    "using_sample": "SELECT gender, COUNT(*) AS n FROM population USING SAMPLE 10% GROUP BY gender",
    "using_sample_rows": "SELECT name FROM population USING SAMPLE reservoir(5 ROWS)",
    "in_cte": "WITH s AS (SELECT name FROM population TABLESAMPLE 1 PERCENT) SELECT name FROM s",
    "in_subquery": "SELECT n FROM (SELECT name AS n FROM population USING SAMPLE 5) AS t",
}


@pytest.mark.parametrize("sql", SAMPLES.values(), ids=SAMPLES.keys())
def test_sampling_is_refused_not_dropped(sql):
    with pytest.raises(Forbidden, match="TABLESAMPLE"):
        govern(sql, TABLES)


def test_sampling_refused_end_to_end_and_audited(world, granted):  # noqa: F811
    with pytest.raises(Forbidden, match="TABLESAMPLE"):
        service.run_sql(world.db, world.settings, world.rs_analyst, SAMPLES["tablesample_percent"])
    with world.db.session() as s:
        entry = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.denied").order_by(LedgerEntry.seq.desc())
        ).first()
    assert entry.user_id == world.rs_analyst.user_id
    assert json.loads(entry.entry)["detail"]["refused"] == ["TABLESAMPLE"]
