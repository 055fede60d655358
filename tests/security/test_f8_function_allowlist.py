"""Finding 8: `pg_get_viewdef(oid)`, a DuckDB macro over the denied `duckdb_views()`, passed the
policy and gave out the registered view's definition with the server's file path. Consumer SQL may
now call only functions on an allowlist; every other function DuckDB has is refused."""

from __future__ import annotations

import json
import re

import duckdb
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.exchange.conftest import granted, population_table, world  # noqa: F401
from tests.exchange.policy_tables import TABLES

from shuzhi.errors import Forbidden, ShuzhiError
from shuzhi.exchange import functions, service
from shuzhi.exchange.policy import govern
from shuzhi.ledger.models import LedgerEntry

ATTACK = "SELECT pg_get_viewdef(oid) AS definition FROM (SELECT 1 AS oid) AS o"


def duckdb_function_names() -> list[str]:
    con = duckdb.connect()
    try:
        return sorted(
            n for (n,) in con.sql("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()
        )
    finally:
        con.close()


def _call(name: str, args: str) -> str:
    # Operators ("+", "~~", "IS DISTINCT FROM") are functions too, callable by their quoted name.
    fn = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) else '"' + name.replace('"', '""') + '"'
    return f"SELECT {fn}({args}) AS x FROM population"


def test_every_duckdb_function_off_the_allowlist_is_refused():
    allowed = functions.names("duckdb")
    off_list = [n for n in duckdb_function_names() if n.lower() not in allowed]
    assert len(off_list) > 800  # scalar, aggregate, window, macro, table and pragma functions
    passed = []
    for name in off_list:
        for args in ("", "name", "name, income", "name, income, birth_date"):
            try:
                govern(_call(name, args), TABLES)
            except ShuzhiError:
                continue
            passed.append(f"{name}({args})")
    assert passed == [], f"{len(passed)} calls of functions off the allowlist were not refused: {passed}"


def test_refusals_of_plain_names_say_function_not_allowed():
    """Not refused by accident (a parse error): the allowlist itself refuses them."""
    allowed = functions.names("duckdb")
    plain = [n for n in duckdb_function_names() if n.lower() not in allowed and re.fullmatch(r"[a-z_]\w*", n)]
    not_by_allowlist = []
    for name in plain:
        messages = []
        for args in ("", "name", "name, income", "name, income, birth_date"):
            try:
                govern(_call(name, args), TABLES)
            except ShuzhiError as e:
                messages.append(e.message)
        if not any("function not allowed" in m or "table functions" in m for m in messages):
            not_by_allowlist.append((name, messages[-1]))
    # A few names are keywords to sqlglot (`filter`, `row`, …) and never parse as calls.
    assert len(not_by_allowlist) < 20, not_by_allowlist


def test_allowlisted_duckdb_names_are_duckdb_functions():
    """The list holds no typo and no other engine's name (COALESCE and IFNULL are DuckDB syntax)."""
    known = {n.lower() for n in duckdb_function_names()} | {"coalesce", "ifnull"}
    assert functions.names("duckdb") - known == set()


def test_groups_and_kinds():
    assert {g.kind for g in functions.GROUPS} == {"scalar", "aggregate", "window"}
    scalar = functions.names("duckdb", kinds=("scalar",))
    assert "upper" in scalar and "count" not in scalar and "row_number" not in scalar
    for name in ("error", "pg_get_viewdef", "current_query", "range", "read_csv", "duckdb_views"):
        assert name not in functions.names("duckdb") and functions.reason_left_out(name), name


def test_the_view_definition_is_what_the_attack_got(tmp_path):
    """Why it matters: in DuckDB the macro returns the registered view with its file path."""
    path = tmp_path / "versions" / "1" / "1.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(population_table(5), path)
    con = duckdb.connect()
    con.execute(f"CREATE VIEW _sz_d1_v1 AS SELECT * FROM read_parquet('{path}')")
    oid = con.execute("SELECT view_oid FROM duckdb_views() WHERE view_name = '_sz_d1_v1'").fetchone()[0]
    (definition,) = con.execute(f"SELECT pg_get_viewdef({oid})").fetchone()
    con.close()
    assert "versions/1/1.parquet" in definition


@pytest.mark.parametrize(
    "sql",
    [
        ATTACK,
        "SELECT pg_get_viewdef(1) AS d, name FROM population",
        "SELECT pg_catalog.pg_get_viewdef(1) AS d FROM population",
        "SELECT name FROM population WHERE pg_get_viewdef(1) IS NOT NULL",
        "SELECT pg_get_viewdef(CAST(income AS INT)) AS d FROM population",
        "WITH v AS (SELECT pg_get_viewdef(1) AS d) SELECT d FROM v",
    ],
)
def test_pg_get_viewdef_refused(sql):
    with pytest.raises(Forbidden, match="function not allowed") as info:
        govern(sql, TABLES)
    assert "pg_get_viewdef" in info.value.message
    assert "catalog" in info.value.hint


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT main.upper(name) AS n FROM population",  # qualified: resolved through the catalog
        "SELECT name.upper() AS n FROM population",  # method-call spelling
        "SELECT error(name) AS e FROM population",  # finding 3: values out through messages
        "SELECT name FROM population WHERE error(name || '|' || id_number) IS NULL",
        "SELECT strptime(name, '%Y') AS t FROM population",
        "SELECT typeof(name) AS t FROM population",
        "SELECT stats(name) AS s FROM population",
        "SELECT current_database() AS d",
        "SELECT write_log('x') AS w",
        "SELECT sleep_ms(100000) AS s",
        "SELECT list_transform([name], x -> x) AS l FROM population",
        "SELECT histogram(name) AS h FROM population",
    ],
)
def test_other_ways_out_refused(sql):
    with pytest.raises(Forbidden, match="function not allowed"):
        govern(sql, TABLES)


def test_attack_refused_end_to_end_and_audited(world, granted):  # noqa: F811
    with pytest.raises(Forbidden, match="pg_get_viewdef"):
        read = service.run_sql(world.db, world.settings, world.rs_analyst, ATTACK)
        list(read.batches())
    with world.db.session() as s:
        entry = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.denied").order_by(LedgerEntry.seq.desc())
        ).first()
        assert entry.user_id == world.rs_analyst.user_id
        assert json.loads(entry.entry)["detail"]["refused"] == ["pg_get_viewdef"]


ALLOWED_QUERY = """
SELECT gender,
       COUNT(*) AS n, COUNT(DISTINCT name) AS names, AVG(income) AS avg_income, MEDIAN(income) AS med,
       MIN(birth_date) AS first_born, STRING_AGG(DISTINCT LEFT(name, 1), ',') AS initials,
       MAX(LENGTH(upper(trim(name)))) AS longest, ROUND(STDDEV(income), 2) AS sd,
       SUM(CASE WHEN income > 5000 THEN 1 ELSE 0 END) AS high,
       COUNT_IF(name LIKE '%' || 'a' || '%' OR name ILIKE 'B%') AS matched,
       MAX(date_diff('day', birth_date, DATE '2030-01-01')) AS days,
       MIN(strftime(date_trunc('month', birth_date), '%Y-%m')) AS month,
       MAX(year(birth_date)) AS latest_year, MAX(EXTRACT(month FROM birth_date)) AS mon,
       MAX(coalesce(nullif(region_code, ''), 'none')) AS region,
       MAX(CAST(income AS BIGINT) % 7) AS rem, MAX(abs(-income) // 3) AS third,
       MAX(regexp_replace(name, '[aeiou]', '', 'g')) AS consonants,
       MAX(greatest(income, 0) + least(income, 0)) AS spread
FROM population
WHERE birth_date BETWEEN DATE '1900-01-01' AND current_date AND region_code IN ('330102', '330105')
GROUP BY gender
"""


def test_allowed_functions_still_run(world, granted):  # noqa: F811
    read = service.run_sql(world.db, world.settings, world.rs_analyst, ALLOWED_QUERY)
    rows = [r for b in read.batches() for r in b.to_pylist()]
    source = [r for r in population_table().to_pylist() if r["region_code"] in ("330102", "330105")]
    assert sum(r["n"] for r in rows) == len(source) > 0
    assert {r["gender"] for r in rows} == {r["gender"] for r in source}
    windowed = service.run_sql(
        world.db,
        world.settings,
        world.rs_analyst,
        "SELECT name, row_number() OVER (PARTITION BY gender ORDER BY income DESC) AS rn, "
        "lag(income) OVER (ORDER BY income) AS prev, ntile(4) OVER (ORDER BY income) AS q "
        "FROM population QUALIFY rn <= 2",
    )
    assert [r for b in windowed.batches() for r in b.to_pylist()]


@pytest.mark.parametrize("dialect", ["duckdb", "spark"])
def test_allowlisted_names_govern_in_their_dialect(dialect):
    """Each listed spelling is accepted by the policy in its own dialect with some arguments."""
    windows = functions.names(dialect, kinds=("window",))
    refused = []
    for name in sorted(functions.names(dialect)):
        over = " OVER (ORDER BY income)" if name in windows else ""
        for args in (
            "",
            "income",
            "name, 1",
            "'day', birth_date, birth_date",
            "name, income, name",
            "income, income",
        ):
            try:
                govern(
                    f"SELECT {name}({args}){over} AS x FROM population", TABLES, read=dialect, write=dialect
                )
                break
            except ShuzhiError:
                continue
        else:
            refused.append(name)
    assert refused == []
