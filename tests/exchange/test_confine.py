"""A confined query worker can write no file and open no TCP connection, whatever SQL reaches it.

DuckDB's allowed paths are writable: ``COPY … TO '<version>' (USE_TMP_FILE false)`` overwrote a
version file on an allowed path. These tests run that statement — and the other ways out — on
the native reader's own connection, past the SQL guard, as if the guard had missed it: the
kernel must refuse. Confinement is irreversible, so each runs in a child process.
"""

import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.engine.confine import landlock_abi
from shuzhi.engine.duckdb import Sandbox
from shuzhi.engine.worker import WorkerPool

needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")


def _child(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def versions(tmp_path):
    own, other = tmp_path / "own.parquet", tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), own)
    pq.write_table(pa.table({"secret": ["x"]}), other)
    return own, other


@needs_landlock
def test_guard_bypass_cannot_write_or_read_beyond_the_query(versions):
    own, other = versions
    before = own.read_bytes()
    r = _child(f"""
        from shuzhi.engine.confine import deny_writes_and_network
        assert deny_writes_and_network() >= 1
        from pathlib import Path
        from shuzhi.engine.duckdb import Sandbox
        box = Sandbox(memory_limit="256MB", reader="native")
        con = box._native_connection({{"_sz_r": Path({str(own)!r})}})
        print("sum", con.sql('SELECT SUM(a) FROM "_sz_r"').fetchall()[0][0])
        attempts = {{
            "copy over version": "COPY (SELECT 42 AS a) TO '{own}' (FORMAT parquet, USE_TMP_FILE false)",
            "copy beside it": "COPY (SELECT 42 AS a) TO '{own.parent}/new.parquet' (FORMAT parquet)",
            "read other version": "SELECT * FROM read_parquet({str(other)!r})",
            "glob the directory": "SELECT * FROM glob({str(own.parent) + "/*"!r})",
        }}
        for name, sql in attempts.items():
            try:
                con.execute(sql)
                print("ALLOWED", name)
            except Exception as e:
                print("refused", name, type(e).__name__)
    """)
    assert r.returncode == 0, r.stderr
    assert "sum 6" in r.stdout
    assert "ALLOWED" not in r.stdout, r.stdout
    assert r.stdout.count("refused") == 4
    assert own.read_bytes() == before
    assert sorted(p.name for p in own.parent.iterdir()) == ["other.parquet", "own.parquet"]


@needs_landlock
def test_confined_process_has_no_writes_no_tcp(tmp_path):
    target = tmp_path / "keep.txt"
    target.write_text("kept")
    r = _child(f"""
        import os, socket
        from shuzhi.engine.confine import confined, deny_writes_and_network
        print("abi", deny_writes_and_network(), confined())
        path = {str(target)!r}
        tries = {{
            "write": lambda: open(path, "w"),
            "append": lambda: open(path, "a"),
            "truncate": lambda: os.truncate(path, 0),
            "create": lambda: open(path + ".new", "w"),
            "remove": lambda: os.remove(path),
            "rename": lambda: os.rename(path, path + ".moved"),
            "mkdir": lambda: os.mkdir(path + ".d"),
            "tcp": lambda: socket.create_connection(("127.0.0.1", 5432), timeout=2),
        }}
        for name, fn in tries.items():
            try:
                fn()
                print("ALLOWED", name)
            except OSError as e:
                print("refused", name, e.errno)
        print("read", open(path).read())
    """)
    assert r.returncode == 0, r.stderr
    abi = int(r.stdout.split()[1])
    assert abi >= 1
    allowed = [line for line in r.stdout.splitlines() if line.startswith("ALLOWED")]
    assert allowed == ([] if abi >= 4 else ["ALLOWED tcp"])  # TCP rules came with Landlock ABI 4
    assert "read kept" in r.stdout
    assert target.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_native_reader_refused_in_an_unconfined_process():
    with pytest.raises(RuntimeError, match="confined"):
        Sandbox(reader="native")


@needs_landlock
def test_workers_confine_themselves_and_read_natively(versions):
    own, _ = versions
    pool = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, size=1)
    try:
        r = pool.run('SELECT SUM(a) AS s FROM "_sz_r"', {"_sz_r": own})
        assert r.table.to_pylist() == [{"s": 6}]
        (worker,) = pool._idle
        assert worker.reader == "native"
        with open(f"/proc/{worker.proc.pid}/status") as f:
            assert "NoNewPrivs:\t1" in f.read()
    finally:
        pool.close()


def test_arrow_reader_when_asked(versions):
    own, _ = versions
    pool = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, size=1, reader="arrow")
    try:
        assert pool.run('SELECT SUM(a) AS s FROM "_sz_r"', {"_sz_r": own}).table.to_pylist() == [{"s": 6}]
        assert pool._idle[0].reader == "arrow"
    finally:
        pool.close()
