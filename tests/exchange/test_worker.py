"""Query workers: an OS memory cap per query process, and a pool that survives what kills a worker."""

import os
import signal
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.engine.sandbox import QueryFailed, QueryTimeout
from shuzhi.engine.worker import WorkerLost, WorkerPool, parse_size
from shuzhi.errors import TooLarge

# Large enough to start DuckDB and pyarrow (about 2.5 GB of address space), far below what the
# runaway query below asks for.
CAP = 4 * 2**30
SLOW = "SELECT SUM(a.range * b.range) AS s FROM range(200000) a, range(200000) b"


@pytest.fixture(scope="module")
def pool():
    p = WorkerPool(memory_limit="512MB", address_space=CAP, threads=1, size=2)
    yield p
    p.close()


@pytest.fixture(scope="module")
def version(tmp_path_factory):
    path = tmp_path_factory.mktemp("worker") / "v1.parquet"
    pq.write_table(pa.table({"a": list(range(20_000)), "s": [f"s{i}" for i in range(20_000)]}), path)
    return path


def _pids(pool: WorkerPool) -> set[int]:
    return {w.proc.pid for w in pool._idle}


def test_query_runs_in_another_process(pool, version):
    r = pool.run('SELECT COUNT(*) AS n, MAX(s) AS m FROM "_sz_r" WHERE a < 10', {"_sz_r": version})
    assert r.table.to_pylist() == [{"n": 10, "m": "s9"}]
    assert _pids(pool) and os.getpid() not in _pids(pool)


def test_allocation_past_the_cap_fails_and_the_worker_lives_on(pool):
    # DuckDB's memory limit does not count this list (it reached 15 GB in-process); the cap does.
    with pytest.raises(TooLarge) as e:
        pool.run("SELECT len(range(400000000)::BIGINT[]) AS n", {})
    assert e.value.detail["error_class"] == "memory"  # DuckDB's out-of-memory, by its type
    before = _pids(pool)
    assert pool.run("SELECT 42 AS x", {}).table.to_pylist() == [{"x": 42}]
    assert _pids(pool) == before  # the same worker answered


def test_cap_is_set_on_the_worker(pool):
    pool.warm()
    pid = next(iter(_pids(pool)))
    with open(f"/proc/{pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max address space"))
    assert int(line.split()[3]) == CAP


def test_time_limit_stops_the_query_and_the_pool_goes_on(pool):
    started = time.monotonic()
    with pytest.raises(QueryTimeout):
        pool.run(SLOW, {}, timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert pool.run("SELECT 1 AS x", {}).table.num_rows == 1


def test_killed_worker_is_reported_and_replaced(pool):
    result: dict = {}

    def run():
        try:
            pool.run(SLOW, {}, timeout_s=60)
        except Exception as e:  # noqa: BLE001 - the test inspects it
            result["error"] = e

    t = threading.Thread(target=run)
    t.start()
    for _ in range(400):  # until the query is running in a worker
        if pool._running:
            break
        time.sleep(0.02)
    (victim,) = list(pool._running)
    time.sleep(0.3)
    os.kill(victim.proc.pid, signal.SIGKILL)
    t.join(30)
    assert isinstance(result.get("error"), WorkerLost)
    assert "-9" in result["error"].hint
    assert pool.run("SELECT 7 AS x", {}).table.to_pylist() == [{"x": 7}]
    assert pool._busy == 0 and not pool._running


def test_stopping_early_replaces_the_worker(pool, version):
    with pool.stream('SELECT a FROM "_sz_r"', {"_sz_r": version}, batch_rows=1000) as s:
        first = next(iter(s))
        assert first.num_rows == 1000
    assert pool._busy == 0
    assert pool.run('SELECT COUNT(*) AS n FROM "_sz_r"', {"_sz_r": version}).table.to_pylist() == [
        {"n": 20_000}
    ]


def test_refused_sql_never_reaches_a_worker(version):
    p = WorkerPool(memory_limit="256MB", address_space=CAP, size=1)
    try:
        with pytest.raises(QueryFailed):
            p.run("COPY (SELECT 1) TO 'x.csv'", {})
        assert p._busy == 0 and not p._idle
    finally:
        p.close()


def test_failed_query_leaves_the_worker_fit(pool):
    pool.warm()
    before = _pids(pool)
    with pytest.raises(QueryFailed):
        pool.run('SELECT nothing FROM "_sz_missing"', {})
    assert _pids(pool) == before


def test_more_queries_than_workers_wait_their_turn(version):
    p = WorkerPool(memory_limit="256MB", address_space=CAP, threads=1, size=2)
    results: list = []

    def run(i):
        r = p.run(f'SELECT COUNT(*) AS n FROM "_sz_r" WHERE a >= {i}', {"_sz_r": version})
        results.append(r.table.to_pylist()[0]["n"])

    try:
        threads = [threading.Thread(target=run, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(results) == sorted(20_000 - i for i in range(5))
        assert len(_pids(p)) <= 2
    finally:
        p.close()


def test_closed_pool_lets_its_workers_exit(version):
    p = WorkerPool(memory_limit="256MB", address_space=CAP, size=1)
    p.warm()
    proc = p._idle[0].proc
    p.close()
    assert proc.poll() is not None
    with pytest.raises(QueryFailed):
        p.run("SELECT 1", {})


def test_a_cap_below_the_engine_is_raised_not_fatal(caplog):
    p = WorkerPool(memory_limit="256MB", address_space=2**30, size=1)
    try:
        assert p.run("SELECT 5 AS x", {}).table.to_pylist() == [{"x": 5}]
        with open(f"/proc/{p._idle[0].proc.pid}/limits") as f:
            line = next(line for line in f if line.startswith("Max address space"))
        assert int(line.split()[3]) > 2**30 + 256 * 10**6
        assert "memory cap raised" in caplog.text
    finally:
        p.close()


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("2GB", 2 * 10**9),
        ("2GiB", 2 * 2**30),
        ("512MB", 512 * 10**6),
        ("1.5 GB", 1_500_000_000),
        ("100", 100),
    ],
)
def test_sizes_read_as_duckdb_writes_them(text, size):
    assert parse_size(text) == size


def test_worker_gets_no_secrets_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHUZHI_SECRET_KEY", "do-not-pass")
    monkeypatch.setenv("SHUZHI_DATABASE_URL", "postgresql://user:pw@db/x")
    p = WorkerPool(memory_limit="256MB", address_space=CAP, size=1)
    try:
        p.warm()
        with open(f"/proc/{p._idle[0].proc.pid}/environ", "rb") as f:
            env = dict(item.split(b"=", 1) for item in f.read().split(b"\0") if b"=" in item)
        assert not any(k.startswith(b"SHUZHI_") for k in env)
        assert env[b"MALLOC_ARENA_MAX"] == b"2"
    finally:
        p.close()


def test_a_stalled_reader_does_not_hold_its_worker_past_the_deadline(version):
    """A client that stops reading a streamed result (a slow HTTP reader) loses its worker at the
    query's deadline; otherwise `size` such clients would block every other query."""
    p = WorkerPool(memory_limit="256MB", address_space=CAP, threads=1, size=1)
    try:
        stalled = p.stream('SELECT a FROM "_sz_r"', {"_sz_r": version}, timeout_s=0.2, batch_rows=1000)
        next(iter(stalled))  # one batch read, then the client goes quiet
        time.sleep(0.2 + 10.0 + 1.0)  # past its time limit and the grace the server gives
        assert p.run("SELECT 42 AS x", {}, timeout_s=5).table.to_pylist() == [{"x": 42}]
        with pytest.raises(QueryTimeout):
            list(stalled)  # the stalled reader learns why when it comes back
        assert p._busy == 0
    finally:
        p.close()


def test_large_batches_cross_in_bounded_frames():
    from shuzhi.engine.worker import FRAME_BYTES

    p = WorkerPool(memory_limit="1GB", address_space=CAP, threads=1, size=1)
    try:
        rows = 3 * FRAME_BYTES // 2000  # ~3 frames' worth of 2,000-byte strings
        with p.stream(f"SELECT repeat('x', 2000) AS s FROM range({rows})", {}, batch_rows=rows) as s:
            got = list(s)
        assert sum(b.num_rows for b in got) == rows and len(got) >= 3
        assert all(b.nbytes <= FRAME_BYTES for b in got)
        with pytest.raises(TooLarge, match="exceeds"):
            p.run(f"SELECT repeat('x', {FRAME_BYTES + 1}) AS s", {})
        assert p.run("SELECT 1 AS x", {}).table.num_rows == 1  # the worker goes on
    finally:
        p.close()
