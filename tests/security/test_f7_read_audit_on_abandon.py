"""Finding 7 (reads): a read whose client hung up after the headers had no ``data.read`` entry.

The query ran and ``200`` with ``X-Query-SHA256`` went out, then the client closed the connection:
nothing was audited. Now every read has exactly one entry however its stream ends — ``ended``
says completed, truncated, abandoned or failed, and ``rows`` how many rows were handed out.
"""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import quote

import httpx
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.conftest import serving
from tests.exchange.conftest import add_dataset

from shuzhi.ledger.models import LedgerEntry

DATASET = "hz-big-register"
ROWS = 200_000


@pytest.fixture
def world(db, settings, make_user):
    steward = make_user("sc_steward", "SC", ("steward",))
    make_user("rs_analyst", "RS", ("analyst",))
    table = pa.table(
        {
            "编号": [f"N{i:09d}" for i in range(ROWS)],
            "说明": [f"第{i}条登记记录的一段较长的说明文字" for i in range(ROWS)],
        }
    )
    add_dataset(db, settings, steward, DATASET, table, "unconditional", "SC")
    return db


def reads(db) -> list[dict]:
    """The detail of every data.read entry."""
    with db.session() as s:
        entries = [json.loads(e.entry) for e in s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]
    return [e["detail"] for e in entries if e["event"] == "data.read"]


def reads_of(db, sha: str) -> list[dict]:
    return [d for d in reads(db) if d["query_sha256"] == sha]


@pytest.fixture
def server(world, app):
    """The app served by uvicorn on a free loopback port (a real server: real disconnects)."""
    with serving(app) as port:
        yield port


def wait_for(predicate, seconds: float = 60.0):
    """Poll until `predicate()` is truthy (the server audits after the client has gone)."""
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def hang_up(port: int, token: str, path: str, body_bytes: int) -> str:
    """Send a GET, read the headers and `body_bytes` of the body, close the connection; returns
    the X-Query-SHA256 the server sent."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
        )
        got = b""
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(65536)
            assert chunk, got
            got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        while len(body) < body_bytes:
            chunk = sock.recv(65536)
            assert chunk
            body += chunk
        lines = head.decode().split("\r\n")
        assert lines[0].startswith("HTTP/1.1 200"), head
        headers = dict(line.split(": ", 1) for line in lines[1:])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    return headers["x-query-sha256"]


def token(token_for) -> str:
    return token_for("rs_analyst")["Authorization"].split(" ", 1)[1]


ROWS_PATH = f"/api/v1/exchange/datasets/{quote(DATASET)}/rows?format=csv&limit={ROWS}"


@pytest.mark.slow
@pytest.mark.parametrize("body_bytes", [0, 200_000], ids=["after-headers", "after-some-rows"])
def test_abandoned_read_is_audited_once_with_the_rows_sent(world, server, token_for, body_bytes):
    sha = hang_up(server, token(token_for), ROWS_PATH, body_bytes)
    entries = wait_for(lambda: reads_of(world, sha))
    assert len(entries) == 1, entries
    (entry,) = entries
    assert entry["ended"] == "abandoned"
    assert 0 <= entry["rows"] < ROWS  # handed to the response, never more than generated
    assert "error" not in entry
    time.sleep(1)  # nothing else comes for that read (a second entry would be a double count)
    assert len(reads_of(world, sha)) == 1


@pytest.mark.slow
def test_completed_read_over_a_real_server_has_the_exact_count(world, server, token_for):
    r = httpx.get(f"http://127.0.0.1:{server}{ROWS_PATH}", headers=token_for("rs_analyst"), timeout=120)
    assert r.status_code == 200
    lines = r.text.count("\n") - 1  # the header line
    assert lines == ROWS
    (entry,) = wait_for(lambda: reads_of(world, r.headers["X-Query-SHA256"]))
    assert entry["ended"] == "completed" and entry["rows"] == ROWS


@pytest.fixture
def api(world, app, token_for):
    with TestClient(app) as c:
        c.headers.update(token_for("rs_analyst"))
        yield c


def test_completed_and_truncated_reads_say_so(world, api):
    r = api.get(f"/api/v1/exchange/datasets/{DATASET}/rows", params={"limit": 25, "format": "csv"})
    assert r.status_code == 200 and r.text.count("\n") == 26
    (entry,) = reads_of(world, r.headers["X-Query-SHA256"])
    assert entry["ended"] == "completed" and entry["rows"] == 25

    sql = {"sql": f'SELECT 编号 FROM "{DATASET}"', "max_rows": 10, "format": "csv"}
    r = api.post("/api/v1/exchange/sql", json=sql)
    assert r.status_code == 200 and r.text.count("\n") == 11
    (entry,) = reads_of(world, r.headers["X-Query-SHA256"])
    assert entry["ended"] == "truncated" and entry["rows"] == 10


def test_failed_read_says_so(world, api):
    sql = {"sql": f'SELECT CAST(编号 AS INT) AS n FROM "{DATASET}"', "format": "csv"}
    r = api.post("/api/v1/exchange/sql", json=sql)
    assert r.status_code == 400
    entries = [d for d in reads(world) if d.get("ended") == "failed"]
    assert len(entries) == 1 and entries[0]["error"] == "conversion_error"
