"""The policy rules refuse what must be refused and name what they refuse."""

import pytest
from tests.exchange.policy_tables import TABLES

from shuzhi.errors import Forbidden, InvalidInput, ShuzhiError
from shuzhi.exchange.policy import RULES, govern, referenced_names, validate_row_filter

REFUSED = {
    "star": "SELECT * FROM population",
    "table_star": "SELECT p.* FROM population p",
    "star_exclude": "SELECT * EXCLUDE (religion) FROM population",
    "columns_fn": "SELECT COLUMNS('.*') FROM population",
    "star_in_cte": "WITH c AS (SELECT * FROM population) SELECT name FROM c",
    "ungranted": "SELECT religion FROM population",
    "ungranted_in_where": "SELECT name FROM population WHERE religion = 'x'",
    "ungranted_in_order": "SELECT name FROM population ORDER BY religion",
    "ungranted_in_agg": "SELECT COUNT(DISTINCT religion) FROM population",
    "ungranted_in_join": "SELECT p.name FROM population p JOIN enterprise e ON e.tax_owed = p.name",
    "via_cte_alias": "WITH c AS (SELECT religion AS r FROM population) SELECT r FROM c",
    "via_nested_cte": "WITH a AS (SELECT religion FROM population), b AS (SELECT religion FROM a) SELECT * FROM b",
    "via_subquery": "SELECT x FROM (SELECT religion AS x FROM population) s",
    "via_scalar_subquery": "SELECT (SELECT MAX(religion) FROM population) AS m",
    "via_union": "SELECT name FROM population UNION ALL SELECT religion FROM population",
    "via_lateral": "SELECT s.x FROM population p, LATERAL (SELECT p.religion AS x) s",
    "via_window": "SELECT name, ROW_NUMBER() OVER (ORDER BY religion) FROM population",
    "quoted": 'SELECT "religion" FROM population',
    "upper_case": "SELECT RELIGION FROM POPULATION",
    "mixed_quoted": 'SELECT "ReLiGiOn" FROM "PoPuLaTiOn"',
    "comment_hidden": "SELECT name, /* harmless */ religion FROM population",
    "line_comment": "SELECT name --\n, religion FROM population",
    "unknown_dataset": "SELECT a FROM taxes",
    "path_table": "SELECT * FROM '/etc/passwd'",
    "path_parquet": "SELECT name FROM 'versions/1/1.parquet'",
    "raw_relation": "SELECT name FROM _sz_r1",
    "reserved_alias": "SELECT _sz_x.name FROM population AS _sz_x",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_csv_auto": "SELECT a FROM read_csv_auto('x.csv')",
    "read_parquet": "SELECT a FROM read_parquet('versions/1/1.parquet')",
    "read_text": "SELECT content FROM read_text('/etc/passwd')",
    "glob": "SELECT file FROM glob('/*')",
    "range": "SELECT range FROM range(10)",
    "recursive_doubling": (
        "WITH RECURSIVE r(s, n) AS (SELECT 'xx', 0 UNION ALL SELECT s || s, n + 1 FROM r WHERE n < 40) "
        "SELECT length(s) AS len FROM r WHERE n = 40"
    ),
    "scalar_read": "SELECT name, current_setting('memory_limit') FROM population",
    "getvariable": "SELECT getvariable('x')",
    "system_table": "SELECT table_name FROM information_schema.tables",
    "duckdb_tables": "SELECT * FROM duckdb_tables()",
    "qualified": "SELECT name FROM main.population",
    "attach": "ATTACH ':memory:' AS x",
    "attach_file": "ATTACH 'x.db' AS x",
    "copy": "COPY population TO '/tmp/out.csv'",
    "copy_query": "COPY (SELECT name FROM population) TO 'x.parquet'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET memory_limit = '100GB'",
    "reset": "RESET memory_limit",
    "pragma": "PRAGMA database_list",
    "call": "CALL pragma_version()",
    "vacuum": "VACUUM",
    "create": "CREATE TABLE x AS SELECT name FROM population",
    "insert": "INSERT INTO population VALUES (1)",
    "delete": "DELETE FROM population",
    "drop": "DROP TABLE population",
    "export": "EXPORT DATABASE 'x'",
    "describe": "DESCRIBE population",
    "multiple": "SELECT name FROM population; SELECT religion FROM population",
    "multiple_benign": "SELECT 1; SELECT 2",
    "select_into": "SELECT name INTO t2 FROM population",
    "pivot": "PIVOT population ON gender USING COUNT(*)",
    "placeholder": "SELECT name FROM population WHERE name = ?",
    "natural_join": "SELECT name FROM population NATURAL JOIN enterprise",
}


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_refused(sql):
    with pytest.raises(ShuzhiError) as info:
        govern(sql, TABLES)
    assert isinstance(info.value, Forbidden | InvalidInput)


def test_refusal_names_all_ungranted_fields():
    with pytest.raises(Forbidden) as info:
        govern("SELECT religion, e.tax_owed FROM population, enterprise e", TABLES)
    assert info.value.detail["refused"] == ["enterprise.tax_owed", "population.religion"]
    assert "population.religion" in info.value.message


def test_refusal_names_ungranted_dataset():
    with pytest.raises(Forbidden) as info:
        govern("SELECT a FROM taxes JOIN population ON true", TABLES)
    assert info.value.detail["refused"] == ["taxes"]


def test_star_refusal_lists_granted_fields():
    with pytest.raises(Forbidden) as info:
        govern("SELECT * FROM enterprise", TABLES)
    assert "uscc" in info.value.hint and "tax_owed" not in info.value.hint


def test_spark_refuses_duckdb_only_syntax():
    sql = "SELECT p.name FROM population p ASOF JOIN enterprise e ON p.region_code >= e.region_code"
    govern(sql, TABLES, write="duckdb")
    with pytest.raises(Forbidden):
        govern(sql, TABLES, write="spark")
    with pytest.raises(Forbidden):
        govern("SELECT list_sort_unknown(name) FROM population", TABLES, write="spark")


def test_row_filter_sits_inside_the_dataset_subquery():
    q = govern("SELECT name FROM population WHERE 1 = 1 OR gender = 'F'", TABLES)
    inner = q.sql.index('FROM "_sz_r1"')
    assert q.sql.index("LIKE '3301%'") > inner
    assert q.sql.rindex("OR") > q.sql.index(') AS "population"')


def test_raw_relation_only_inside_policy_subquery():
    q = govern("WITH x AS (SELECT name FROM population) SELECT name FROM x", TABLES)
    assert q.sql.count('"_sz_r1"') >= 1
    assert q.datasets == {"population": ["name"]}


def test_cte_named_like_dataset_shadows_it():
    q = govern("WITH population AS (SELECT 'x' AS religion) SELECT religion FROM population", TABLES)
    assert "_sz_r1" not in q.sql
    assert q.datasets == {}


def test_query_hash_is_of_consumer_text():
    import hashlib

    sql = "SELECT name FROM population"
    assert govern(sql, TABLES).query_sha256 == hashlib.sha256(sql.encode()).hexdigest()


def test_referenced_names_skip_ctes():
    assert referenced_names("WITH a AS (SELECT 1 AS x) SELECT x FROM a JOIN Population ON true") == [
        "population"
    ]


@pytest.mark.parametrize(
    "bad",
    [
        "religion = 'x' OR (SELECT 1) = 1",
        "unknown_col > 1",
        "read_text('x') IS NULL",
        "region_code LIKE '33%'; DROP TABLE t",
    ],
)
def test_row_filter_validation(bad):
    fields = [n for n, _ in TABLES["population"].fields]
    with pytest.raises(InvalidInput):
        validate_row_filter(bad, fields)


def test_rules_listed_in_one_place():
    names = [r.__name__ for r in RULES]
    assert (
        names.index("resolve_datasets") < names.index("check_granted_fields") < names.index("inject_policy")
    )
    assert names[-1] == "assert_sealed"


def test_record_reads_are_a_rule_between_field_checks_and_the_rewrite():
    names = [r.__name__ for r in RULES]
    assert (
        names.index("check_granted_fields")
        < names.index("require_record_reads")
        < names.index("inject_policy")
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT max(licence_no) AS m FROM licences",
        "SELECT licence_no, lead(licence_no) OVER (ORDER BY licence_no) AS nxt FROM licences",
        "SELECT DISTINCT holder FROM licences",
        "SELECT holder FROM licences GROUP BY holder",
        "SELECT licence_no FROM licences UNION ALL SELECT licence_no FROM licences",
        "SELECT (SELECT count(*) FROM licences) AS n FROM licences",
    ],
)
def test_row_quota_refuses_what_packs_many_records_into_a_row(sql):
    with pytest.raises(Forbidden, match="only record reads") as info:
        govern(sql, TABLES)
    assert info.value.detail["grant_id"] == 3 and info.value.detail["quota"] == "rows_per_day"


def test_row_quota_binds_only_its_own_tables():
    assert govern("SELECT gender, count(*) AS n FROM population GROUP BY gender", TABLES).sql
    assert govern("SELECT lower(holder) AS h FROM licences WHERE licence_no LIKE 'A%' LIMIT 3", TABLES).sql


def test_govern_takes_a_parsed_tree_and_leaves_it_alone():
    from shuzhi.exchange.policy import parse_query

    sql = "SELECT Name FROM Population"
    tree = parse_query(sql)
    before = tree.sql()
    q = govern(sql, TABLES, parsed=tree)
    assert referenced_names(tree) == ["population"]
    assert tree.sql() == before and q.sql == govern(sql, TABLES).sql
