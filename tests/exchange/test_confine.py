"""A confined query worker can write no file and open no connection, whatever SQL reaches it.

DuckDB's allowed paths are writable: ``COPY … TO '<version>' (USE_TMP_FILE false)`` overwrote a
version file on an allowed path. These tests run that statement — and the other ways out — on
the native reader's own connection, past the SQL guard, as if the guard had missed it: the
kernel must refuse. Each confinement method is tested alone (a kernel may offer only one), in a
child process, since confinement cannot be undone.
"""

import subprocess
import sys
import textwrap

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.engine.confine import _libseccomp, landlock_abi
from shuzhi.engine.sandbox import Sandbox
from shuzhi.engine.worker import WorkerPool


def _has_seccomp() -> bool:
    return _libseccomp() is not None


METHODS = [
    pytest.param(
        "landlock", marks=pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")
    ),
    pytest.param("seccomp", marks=pytest.mark.skipif(not _has_seccomp(), reason="no libseccomp")),
]


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


@pytest.mark.parametrize("method", METHODS)
def test_guard_bypass_cannot_write_or_read_beyond_the_query(versions, method):
    own, other = versions
    before = own.read_bytes()
    r = _child(f"""
        from shuzhi.engine.confine import confine
        assert confine(({method!r},)), "not confined"
        from pathlib import Path
        from shuzhi.engine.sandbox import Sandbox
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


@pytest.mark.parametrize("method", METHODS)
def test_confined_process_has_no_writes_no_network(tmp_path, method):
    target = tmp_path / "keep.txt"
    target.write_text("kept")
    target.chmod(0o644)
    r = _child(f"""
        import os, socket, threading
        from shuzhi.engine.confine import confine
        print("confined", confine(({method!r},)))
        path = {str(target)!r}
        tries = {{
            "write": lambda: open(path, "w"),
            "append": lambda: open(path, "a"),
            "read-write": lambda: open(path, "r+"),
            "truncate": lambda: os.truncate(path, 0),
            "create": lambda: open(path + ".new", "w"),
            "remove": lambda: os.remove(path),
            "rename": lambda: os.rename(path, path + ".moved"),
            "mkdir": lambda: os.mkdir(path + ".d"),
            "chmod": lambda: os.chmod(path, 0o777),
            "fchmod": lambda: os.fchmod(os.open(path, os.O_RDONLY), 0o777),
            "fsetxattr": lambda: os.setxattr(os.open(path, os.O_RDONLY), "user.shuzhi", b"1"),
            "tcp": lambda: socket.create_connection(("127.0.0.1", 5432), timeout=2),
        }}
        def attempt(name, fn):
            try:
                fn()
                print("ALLOWED", name)
            except OSError as e:
                print("refused", name, e.errno)
        for name, fn in tries.items():  # from a thread made after confinement, too
            t = threading.Thread(target=attempt, args=(name, fn))
            t.start()
            t.join()
        print("read", open(path).read())
    """)
    assert r.returncode == 0, r.stderr
    allowed = [line for line in r.stdout.splitlines() if line.startswith("ALLOWED")]
    landlock_without_tcp = method == "landlock" and landlock_abi() < 4  # TCP rules came with ABI 4
    # Landlock does not govern modes or extended attributes; the filter does.
    modes_free = ["ALLOWED chmod", "ALLOWED fchmod", "ALLOWED fsetxattr"] if method == "landlock" else []
    expected = modes_free + (["ALLOWED tcp"] if landlock_without_tcp else [])
    assert allowed == expected, r.stdout
    assert "read kept" in r.stdout
    assert target.read_text() == "kept"
    if method == "seccomp":
        assert target.stat().st_mode & 0o777 == 0o644
    assert {p.name for p in tmp_path.iterdir()} == {"keep.txt"}


def test_native_reader_refused_in_an_unconfined_process():
    with pytest.raises(RuntimeError, match="confined"):
        Sandbox(reader="native")


@pytest.mark.skipif(landlock_abi() < 1 and not _has_seccomp(), reason="no confinement on this kernel")
def test_workers_confine_themselves_and_read_natively(versions):
    own, _ = versions
    pool = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, size=1)
    try:
        r = pool.run('SELECT SUM(a) AS s FROM "_sz_r"', {"_sz_r": own})
        assert r.table.to_pylist() == [{"s": 6}]
        (worker,) = pool._idle
        assert worker.reader == "native"
        assert worker.confinement.get("landlock", 0) == landlock_abi()
        assert worker.confinement.get("seccomp") == (1 if _has_seccomp() else None)
        with open(f"/proc/{worker.proc.pid}/status") as f:
            status = f.read()
        assert "NoNewPrivs:\t1" in status
        if _has_seccomp():
            assert "Seccomp:\t2" in status  # filter mode
    finally:
        pool.close()


def test_arrow_reader_when_asked(versions):
    own, _ = versions
    pool = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, size=1, reader="arrow")
    try:
        assert pool.run('SELECT SUM(a) AS s FROM "_sz_r"', {"_sz_r": own}).table.to_pylist() == [{"s": 6}]
        assert pool._idle[0].reader == "arrow" and pool._idle[0].confinement == {}
    finally:
        pool.close()


@pytest.mark.skipif(landlock_abi() < 1 and not _has_seccomp(), reason="no confinement on this kernel")
def test_a_data_directory_with_glob_characters_still_reads(tmp_path):
    odd = tmp_path / "data[1]"
    odd.mkdir()
    path = odd / "v1.parquet"
    pq.write_table(pa.table({"a": [1, 2, 3]}), path)
    decoy = tmp_path / "data1"
    decoy.mkdir()
    pq.write_table(pa.table({"a": [100]}), decoy / "v1.parquet")  # what `data[1]` matches as a glob
    pool = WorkerPool(memory_limit="256MB", address_space=4 * 2**30, size=1)
    try:
        assert pool.run('SELECT SUM(a) AS s FROM "_sz_r"', {"_sz_r": path}).table.to_pylist() == [{"s": 6}]
    finally:
        pool.close()
