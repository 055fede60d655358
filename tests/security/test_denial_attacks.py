"""Attacks found in review: each once got through, and each must now be refused."""

import json

import pytest
from sqlalchemy import select
from tests.exchange.policy_tables import TABLES
from tests.exchange.test_access import ledger, sql_rows

from shuzhi.catalog.models import Dataset
from shuzhi.errors import Forbidden, ShuzhiError
from shuzhi.exchange import service
from shuzhi.exchange.channels import RowsQuery
from shuzhi.exchange.policy import govern

QUERY_TEXT_LEAKS = {
    # The text DuckDB runs is the rewritten query: its hash-mask pads give the grant key away,
    # and with it every hashed ID number falls to a dictionary of candidate numbers.
    "current_query": "SELECT current_query() AS q, id_number FROM population",
    "current_query_qualified": "SELECT main.current_query() AS q FROM population",
    "current_query_in_where": "SELECT name FROM population WHERE length(current_query()) > 0",
    # SQL in a string literal is bound by DuckDB where no rule of the policy sees it.
    "serialize_plan": "SELECT json_serialize_plan('SELECT religion FROM population') AS p",
    "serialize_sql": "SELECT json_serialize_sql('SELECT 1') AS p",
    "deserialize_sql": "SELECT json_deserialize_sql('{}') AS p",
}


@pytest.mark.parametrize("sql", QUERY_TEXT_LEAKS.values(), ids=QUERY_TEXT_LEAKS.keys())
def test_query_text_functions_refused(sql):
    with pytest.raises(Forbidden, match="function not allowed"):
        govern(sql, TABLES)


def test_current_query_refused_end_to_end(world, granted):
    with pytest.raises(Forbidden, match="current_query"):
        sql_rows(world, world.rs_analyst, QUERY_TEXT_LEAKS["current_query"])
    assert ledger(world, "data.denied")[-1].outcome == "denied"


def _reclassify_not_shared(world):
    with world.db.transaction() as s:
        s.scalar(select(Dataset).where(Dataset.identifier == "population")).share_type = "none"


def test_not_shared_closes_earlier_grant_on_every_path(world, granted):
    """Naming the grant explicitly once reopened a dataset reclassified as 不予共享."""
    _reclassify_not_shared(world)
    with pytest.raises(Forbidden, match="不予共享|not shared"):
        sql_rows(world, world.rs_analyst, "SELECT name FROM population", grant_ids={"population": granted})
    with pytest.raises(Forbidden, match="不予共享|not shared"):
        read = service.read_rows(
            world.db, world.settings, world.rs_analyst, RowsQuery(dataset="population"), grant_id=granted
        )
        list(read.batches())
    with pytest.raises(Forbidden, match="不予共享|not shared"):
        service.open_export(world.db, world.settings, world.rs_analyst, "population", grant_id=granted)


@pytest.mark.parametrize("name", ['"populatio_"', '"%"', '"POP%"'])
def test_dataset_names_are_not_patterns(world, granted, name):
    """A name is matched exactly (case aside), so a wildcard cannot pull another dataset into the decision."""
    with pytest.raises(Forbidden):
        sql_rows(world, world.rs_analyst, f"SELECT name FROM {name}")
    detail = json.loads(ledger(world, "data.denied")[-1].entry)["detail"]
    assert detail["datasets"] == []


MEMORY_BOMBS = {
    # DuckDB's memory limit does not bound values built from a size argument.
    "range_list": "SELECT len(range(400000000)) AS n FROM population",
    "generate_series": "SELECT count(*) AS n FROM (SELECT unnest(generate_series(1, 400000000)) AS x)",
    "repeat": "SELECT length(repeat('x', 2000000000)) AS n",
    "repeat_from_data": "SELECT length(repeat(name, CAST(income AS BIGINT) * 100000)) AS n FROM population",
    "lpad": "SELECT lpad(name, 2000000000, 'x') AS n FROM population",
    "list_resize": "SELECT len(list_resize([1], 400000000)) AS n",
    "format_width": "SELECT format('{:>2000000000}', name) AS n FROM population",
}


@pytest.mark.parametrize("sql", MEMORY_BOMBS.values(), ids=MEMORY_BOMBS.keys())
def test_unbounded_generators_refused(sql):
    with pytest.raises(Forbidden, match="function not allowed"):
        govern(sql, TABLES)


# sqlglot keeps `"…"` after CAST … AS / `::` as a user-defined type and writes its text back
# unquoted: without a check, the consumer's text inside the quotes would become SQL of the
# rewritten query after every rule had run (`varint` is a DuckDB type sqlglot does not know).
TYPE_INJECTION = (
    'SELECT CAST(1 AS "varint) AS a, religion, id_number, region_code FROM {relation} --") AS n '
    "FROM population"
)


@pytest.mark.parametrize(
    "sql",
    [
        TYPE_INJECTION.format(relation="_sz_r1"),
        'SELECT name::"varint) AS x FROM _sz_r1 --" AS n FROM population',
        'SELECT TRY_CAST(name AS "x") AS n FROM population',
        "SELECT CAST(name AS varint) AS n FROM population",
    ],
)
def test_type_names_cannot_carry_sql(sql):
    with pytest.raises(ShuzhiError, match="type|类型"):
        govern(sql, TABLES)


def test_type_injection_reads_nothing_raw(world, granted):
    with world.db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
    with pytest.raises(ShuzhiError):
        sql_rows(world, world.rs_analyst, TYPE_INJECTION.format(relation=f"_sz_d{ds.id}_v1"))


def test_rewritten_sql_must_read_back_as_checked(monkeypatch):
    """The last check holds even if a rule let through text the generator writes differently."""
    from sqlglot import exp

    from shuzhi.exchange import policy

    def smuggle(tree, ctx):  # a rule with a hole: puts raw text where a column name was
        for col in tree.find_all(exp.Column):
            if col.name == "name":
                col.set("this", exp.Identifier(this="name FROM _sz_r1 --", quoted=False))
        return tree

    monkeypatch.setattr(policy, "RULES", (*policy.RULES, smuggle))
    with pytest.raises(ShuzhiError, match="read back|无法复核"):
        policy.govern("SELECT name FROM population", TABLES)
