"""Finding 5: one analyst took every query worker with streams they stopped reading.

Four stalled CSV streams by one analyst made another department's `count(*)` wait 35.7 s; four
requests abandoned after the status line, 60.8 s; with 2 workers the victim got 408. Queries are
now shared fairly (per user, per department) and a reader that stops taking batches loses its
worker after `exchange.stream_idle_timeout_s`.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from sqlalchemy import select
from tests.conftest import serving
from tests.exchange.conftest import add_dataset

from shuzhi.engine.worker import FairQueue, TooManyQueries
from shuzhi.ledger.models import LedgerEntry
from shuzhi.orgs import service as orgs

# -- the fair queue, without processes or time ----------------------------------------------------


def _run(q: FairQueue, *owners) -> list:
    return [q.join(*o) for o in owners]


def test_a_user_runs_at_most_their_share_and_others_go_first():
    q = FairQueue(places=4, per_user=2, per_department=3)
    a1, a2 = _run(q, ("a", "GA"), ("a", "GA"))
    assert q.grant() == [a1, a2]
    a3, a4 = _run(q, ("a", "GA"), ("a", "GA"))
    assert q.grant() == []  # places are free, but not for user a
    b1 = q.join("b", "RS")
    assert q.grant() == [b1]
    assert a3.state == a4.state == "waiting" and q.running == 3


def test_a_user_may_wait_for_as_many_as_they_may_run_and_no_more():
    q = FairQueue(places=2, per_user=2, per_department=2)
    _run(q, ("a", "GA"), ("a", "GA"))
    q.grant()
    _run(q, ("a", "GA"), ("a", "GA"))
    with pytest.raises(TooManyQueries) as e:
        q.join("a", "GA")
    assert e.value.status == 429 and e.value.detail["retry_after_s"] > 0
    q.join("b", "RS")  # someone else still queues


def test_a_freed_place_goes_to_the_department_running_fewest_then_the_user():
    q = FairQueue(places=3, per_user=3, per_department=3)
    a1, a2, z1 = _run(q, ("a", "GA"), ("a", "GA"), ("z", "RS"))
    assert q.grant() == [a1, z1, a2]  # fair within one round too
    a3 = q.join("a", "GA")  # waited longest
    g1 = q.join("g", "GA")  # same department, a user running nothing
    b1 = q.join("b", "RS")  # another department, running nothing once z is done
    q.leave(z1)
    assert q.grant() == [b1]  # RS runs 0, GA runs 2
    q.leave(b1)
    assert q.grant() == [g1]  # only GA waits: its user running fewer goes first
    q.leave(a1)
    assert q.grant() == [a3]


def test_the_department_limit_holds_across_its_users():
    q = FairQueue(places=4, per_user=2, per_department=3)
    tickets = _run(q, ("a", "GA"), ("a", "GA"), ("g", "GA"), ("g", "GA"))
    assert q.grant() == [tickets[0], tickets[2], tickets[1]]
    assert q.running_for("g", "GA") == (1, 3)
    q.leave(tickets[0])
    assert q.grant() == [tickets[3]]


def test_leaving_twice_or_while_waiting_counts_once():
    q = FairQueue(places=1, per_user=1, per_department=1)
    a, b = _run(q, ("a", "GA"), ("b", "RS"))
    assert q.grant() == [a]
    q.leave(b)  # gave up waiting
    q.leave(a)
    q.leave(a)
    assert q.running == 0 and q.running_for("a", "GA") == (0, 0) and not q.waiting
    c = q.join("c", "SC")
    assert q.grant() == [c]


def test_unowned_queries_are_only_bounded_by_the_places():
    q = FairQueue(places=3, per_user=1, per_department=1)
    _run(q, (None, None), (None, None), (None, None), (None, None))
    assert len(q.grant()) == 3


# -- the attack, on a real server -----------------------------------------------------------------

BIG_ROWS = 1_500_000


@pytest.fixture
def served(settings, db, make_user):
    """A server with 2 query workers; GA's analyst owns a big dataset, RS's a small one."""
    from shuzhi.engine.interface import engine_for
    from shuzhi.web.app import create_app

    x = settings.exchange
    x.query_workers = 2
    x.query_timeout_s = 20.0
    x.stream_idle_timeout_s = 3.0
    ga = make_user("ga_steward", "GA", ("steward",))
    rs = make_user("rs_steward", "RS", ("steward",))
    make_user("ga_analyst", "GA")
    make_user("rs_analyst", "RS")
    n = pa.array(range(BIG_ROWS), pa.int64())
    text = pc.cast(n, pa.string())
    big = pa.table({"id": text, "n": n, "note": pc.utf8_lpad(text, 40, "x")})
    add_dataset(db, settings, ga, "big", big, "conditional", "GA")
    add_dataset(
        db, settings, rs, "small", pa.table({"k": pa.array(range(777), pa.int64())}), "conditional", "RS"
    )
    with db.transaction() as s:
        tokens = {u: orgs.create_token(s, orgs.get_user(s, u))[1] for u in ("ga_analyst", "rs_analyst")}

    with serving(create_app(settings, db=db)) as port:
        yield port, tokens, engine_for(settings)


def _raw_request(port: int, path: str, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    return sock


def _wait_for(condition, within: float = 60.0) -> None:
    end = time.monotonic() + within
    while not condition():
        assert time.monotonic() < end, "the server did not get there"
        time.sleep(0.1)


def _victim_counts(port: int, token: str, settings) -> float:
    started = time.monotonic()
    r = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/exchange/sql",
        headers={"Authorization": f"Bearer {token}"},
        json={"sql": "SELECT count(*) AS n FROM small"},
        timeout=120,
    )
    took = time.monotonic() - started
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [{"n": 777}]
    # Answered in normal time: before its own time limit, and even before the worker-queue wait
    # runs out (with the bug it waited for the stalled streams' 600 s and got 408).
    assert took < min(settings.exchange.query_timeout_s, settings.exchange.queue_wait_s), took
    return took


@pytest.mark.slow
def test_stalled_and_abandoned_reads_leave_another_department_answering(served, settings, db):
    port, tokens, pool = served
    csv = "/api/v1/exchange/datasets/big/rows?format=csv&limit=100000000"

    # Four CSV streams of the big dataset that stop being read.
    _wait_for(lambda: pool._idle and pool._busy == 0)  # the worker started ahead of time is ready
    stalled = [_raw_request(port, csv, tokens["ga_analyst"]) for _ in range(4)]
    _wait_for(lambda: pool._busy == 2)  # the analyst holds both workers
    _victim_counts(port, tokens["rs_analyst"], settings)
    for sock in stalled:
        sock.close()
    _wait_for(lambda: pool._busy == 0 and not pool._queue.waiting)

    # Four requests abandoned once the status line came.
    seen = []

    def abandon():
        sock = _raw_request(port, csv, tokens["ga_analyst"])
        sock.settimeout(120)
        try:
            line = sock.recv(64)
            seen.append(line.split(b"\r\n")[0])
        finally:
            sock.close()

    readers = [threading.Thread(target=abandon) for _ in range(4)]
    for t in readers:
        t.start()
    _wait_for(lambda: len(seen) >= 2)
    _victim_counts(port, tokens["rs_analyst"], settings)
    for t in readers:
        t.join(120)
    assert all(s.startswith(b"HTTP/1.1 200") for s in seen), seen

    # The reads the analyst left end as abandoned in the ledger, each once.
    def ga_reads() -> list[dict]:
        with db.session() as s:
            entries = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "data.read"))
            return [e for e in map(json.loads, (x.entry for x in entries)) if e["detail"]["dataset"] == "big"]

    _wait_for(lambda: len(ga_reads()) >= 8)
    ga_reads = ga_reads()
    assert len(ga_reads) == 8
    assert any(e["detail"].get("error") == "stream_abandoned" for e in ga_reads), [
        (e["outcome"], e["detail"].get("error"), e["detail"]["rows"]) for e in ga_reads
    ]
    assert all(e["detail"]["ended"] == "abandoned" for e in ga_reads), [e["detail"] for e in ga_reads]


def test_a_query_the_queue_refuses_costs_no_call_and_is_named(world):
    """One analyst past their share of workers: the refused call is recorded as `too_many` (not an
    engine failure) and given back to the grant's daily calls — the caller's load is not a read."""
    from shuzhi.exchange import service, share_requests
    from shuzhi.exchange.models import GrantUsage

    x = world.settings.exchange
    x.queries_per_user, x.queries_per_department, x.queue_wait_s = 1, 3, 30.0
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["gender"], purpose="统计"),
            submit=True,
        )
        grant_id = share_requests.approve_request(
            s, world.settings, world.ga_steward, req, share_requests.Approval(calls_per_day=5)
        ).id
    sql = "SELECT gender FROM population"
    held = service.run_sql(world.db, world.settings, world.rs_analyst, sql)  # holds its worker, unread
    waiting = threading.Thread(
        target=lambda: list(service.run_sql(world.db, world.settings, world.rs_analyst, sql).batches())
    )
    waiting.start()
    _wait_for(lambda: _queued(world.settings) >= 1)
    with pytest.raises(TooManyQueries):
        service.run_sql(world.db, world.settings, world.rs_analyst, sql)
    with held:
        list(held.batches())
    waiting.join(30)
    with world.db.session() as s:
        calls = s.scalar(select(GrantUsage.calls).where(GrantUsage.grant_id == grant_id))
        refused = [
            json.loads(e.entry)["detail"]
            for e in s.scalars(select(LedgerEntry).where(LedgerEntry.event == "data.read"))
            if json.loads(e.entry)["detail"].get("error")
        ]
    assert calls == 2  # the held read and the one that waited; not the refused one
    assert [d["error"] for d in refused] == ["too_many"]


def _queued(settings) -> int:
    from shuzhi.engine.interface import engine_for

    return len(engine_for(settings)._queue.waiting)
