"""The DuckDB sandbox reads registered versions only, and stops what runs too long or too large.

Every test runs against the in-process sandbox (Arrow reader) and against a query worker as the
exchange uses it (DuckDB's own reader where the kernel confines the worker, Arrow elsewhere)."""

import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.engine.parquet import float_statistics, statistics_columns
from shuzhi.engine.sandbox import QueryFailed, QueryTimeout, Sandbox, guard
from shuzhi.engine.worker import WorkerPool


@pytest.fixture(scope="module", params=["in-process", "worker"])
def sandbox(request):
    if request.param == "worker":
        box = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, threads=1, size=3)
    else:
        box = Sandbox(memory_limit="256MB", threads=1)
    yield box
    box.close()


@pytest.fixture
def version(tmp_path):
    path = tmp_path / "v1.parquet"
    pq.write_table(pa.table({"a": list(range(1000)), "secret": [f"s{i}" for i in range(1000)]}), path)
    return path


def test_registered_version_is_readable(sandbox, version):
    r = sandbox.run('SELECT COUNT(*) AS n, SUM(a) AS s FROM "_sz_r" WHERE a >= 500', {"_sz_r": version})
    assert r.table.to_pylist() == [{"n": 500, "s": sum(range(500, 1000))}]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_parquet('{path}')",
        "SELECT * FROM '{path}'",
        "SELECT * FROM read_text('{path}')",
        "SELECT * FROM glob('{dir}/*')",
    ],
)
def test_no_file_is_reachable_even_by_path(sandbox, version, sql):
    with pytest.raises(QueryFailed):
        sandbox.run(sql.format(path=version, dir=version.parent), {})


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH ':memory:' AS x",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO 'out.csv'",
        "SET memory_limit = '64GB'",
        "SET enable_external_access = true",
        "PRAGMA database_list",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT 1; SELECT 2",
        "CALL pragma_version()",
    ],
)
def test_statements_refused_before_running(sandbox, sql):
    with pytest.raises(QueryFailed):
        sandbox.run(sql, {})


def test_copy_cannot_overwrite_a_version(sandbox, version):
    before = version.read_bytes()
    with pytest.raises(QueryFailed):
        sandbox.run(f"COPY (SELECT 1 AS a) TO '{version}' (FORMAT parquet)", {})
    assert version.read_bytes() == before


def test_registration_is_per_query(sandbox, version):
    sandbox.run('SELECT a FROM "_sz_r" LIMIT 1', {"_sz_r": version})
    with pytest.raises(QueryFailed):
        sandbox.run('SELECT a FROM "_sz_r" LIMIT 1', {})


def test_row_cap_truncates(sandbox, version):
    r = sandbox.run('SELECT a FROM "_sz_r"', {"_sz_r": version}, max_rows=10, batch_rows=4)
    assert r.table.num_rows == 10 and r.truncated


def test_timeout_interrupts_and_connection_survives(sandbox):
    with pytest.raises(QueryTimeout):
        sandbox.run(
            "SELECT COUNT(*) FROM range(100000) a, range(100000) b WHERE a.range + b.range = 7",
            {},
            timeout_s=0.3,
        )
    assert sandbox.run("SELECT 42 AS x", {}).table.to_pylist() == [{"x": 42}]


def test_memory_limit_applies(sandbox):
    with pytest.raises(Exception) as info:
        sandbox.run(
            "SELECT list(repeat('x', 1000)) FROM (SELECT unnest(generate_series(1, 2000000)))",
            {},
            timeout_s=20,
        )
    assert "memory" in str(info.value).lower() or "内存" in str(info.value)


def test_concurrent_queries_do_not_see_each_other(sandbox, version, tmp_path):
    other = tmp_path / "v2.parquet"
    pq.write_table(pa.table({"a": [-1]}), other)
    results = {}

    def run(name, path):
        results[name] = sandbox.run(f'SELECT MIN(a) AS m FROM "{name}"', {name: path}).table.to_pylist()

    threads = [threading.Thread(target=run, args=(f"_sz_{i}", version if i % 2 else other)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(v == [{"m": 0 if int(k[-1]) % 2 else -1}] for k, v in results.items())


def test_guard_accepts_plain_query():
    guard("WITH x AS (SELECT 1 AS a) SELECT a FROM x")


# -- the engine interface: both engines keep one contract ----------------------------------------


def test_satisfies_the_engine_interface(sandbox):
    import inspect

    from shuzhi.engine.interface import QueryEngine

    assert isinstance(sandbox, QueryEngine)
    for name in ("stream", "run"):
        wanted = inspect.signature(getattr(QueryEngine, name)).parameters
        have = inspect.signature(getattr(sandbox, name)).parameters
        for p in list(wanted.values())[1:]:  # past self
            if p.kind is p.VAR_KEYWORD:
                continue
            assert p.name in have, f"{type(sandbox).__name__}.{name} lacks {p.name}"
            assert have[p.name].default == p.default and have[p.name].kind == p.kind, p.name
    sandbox.ready()


def test_a_capped_stream_with_an_owner_says_it_was_truncated(sandbox, version):
    with sandbox.stream(
        'SELECT a FROM "_sz_r" ORDER BY a',
        {"_sz_r": version},
        max_rows=10,
        batch_rows=4,
        owner=("u1", "d1"),
        idle_timeout_s=5.0,
    ) as s:
        assert s.schema.names == ["a"]
        rows = [v for b in s for v in b.column("a").to_pylist()]
    assert rows == list(range(10)) and s.rows == 10 and s.truncated


def test_the_engine_is_chosen_by_the_settings():
    from shuzhi.config import Settings
    from shuzhi.engine.interface import engine_for

    assert isinstance(engine_for(Settings(exchange={"query_engine": "in-process"})), Sandbox)
    assert isinstance(engine_for(Settings()), WorkerPool)


NAN_ANSWERS = {
    'SELECT count(*) AS n FROM "_sz_r" WHERE x < 1000': 2,
    'SELECT count(*) AS n FROM "_sz_r" WHERE x >= 1000': 1,
    'SELECT count(*) AS n FROM "_sz_r" WHERE isnan(x)': 1,
    'SELECT count(*) AS n FROM "_sz_r" WHERE x <> 1.0': 2,
    'SELECT count(*) AS n FROM "_sz_r" WHERE x IS NOT NULL AND NOT x < 1000': 1,
}
"""Over [1.0, 2.0, NaN], as DuckDB orders numbers (NaN above all of them, equal to itself)."""


@pytest.mark.parametrize("statistics", ["as the platform writes", "as other writers do"])
def test_nan_is_found_whatever_statistics_the_file_carries(sandbox, tmp_path, statistics):
    """Parquet's minimum and maximum leave NaN out: a grant's row filter `x < 1000` answered from them
    handed out the NaN row (and `isnan` found none), so neither reader may trust them."""
    table = pa.table({"x": [1.0, 2.0, float("nan")], "k": ["a", "b", "c"]})
    path = tmp_path / "v.parquet"
    kept = statistics_columns(table.schema) if statistics == "as the platform writes" else True
    pq.write_table(table, path, write_statistics=kept)
    assert float_statistics(path) is (statistics != "as the platform writes")
    for sql, n in NAN_ANSWERS.items():
        assert sandbox.run(sql, {"_sz_r": path}).table.to_pylist() == [{"n": n}], sql
    got = sandbox.run('SELECT max(x) AS m FROM "_sz_r"', {"_sz_r": path}).table.to_pylist()[0]["m"]
    assert got != got  # NaN: the largest
