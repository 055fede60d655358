"""The server's signed-tree-head timer, run for real: heads follow the growing log, and shutdown
stops the timer only after a tick in flight has finished."""

from __future__ import annotations

import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.ledger.ledger_tamper import _fill, _verify

from shuzhi.ledger import sth
from shuzhi.ledger.models import TreeHead
from shuzhi.web.app import create_app

INTERVAL_S = 0.05


def _heads(db) -> list[tuple[int, int]]:
    with db.session() as s:
        return [(h.id, h.tree_size) for h in s.scalars(select(TreeHead).order_by(TreeHead.id))]


def _head_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(TreeHead))


def _wait_for(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(INTERVAL_S / 5)


def _other_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    """Threads started since `before` that are still alive, after a moment to wind down."""
    deadline = time.monotonic() + 2
    while (left := {t for t in threading.enumerate() if t not in before}) and time.monotonic() < deadline:
        time.sleep(0.02)
    return left


def test_timer_signs_heads_as_the_log_grows_and_stops_on_shutdown(db, settings):
    settings.ledger.sth_interval_s = INTERVAL_S
    _fill(db, 2)
    app = create_app(settings, db=db)
    before = set(threading.enumerate())
    with TestClient(app):
        assert app.state.jobs.wait_idle()
        assert _heads(db)[-1][1] == 2  # signed at start-up
        for size in range(3, 9):
            _fill(db, 1, size - 1)
            _wait_for(lambda size=size: _heads(db)[-1][1] == size)
        running = _head_count(db)
    sizes = [size for _, size in _heads(db)]
    assert sizes == sorted(sizes) and set(range(2, 9)) <= set(sizes)
    report = _verify(db, settings)
    assert report.ok, report.problems  # every head is signed and extends the one before it
    assert report.tree_heads >= running

    # stopped: several intervals later nothing new was signed, and no thread was left behind
    stopped = _head_count(db)
    time.sleep(INTERVAL_S * 6)
    assert _head_count(db) == stopped
    assert _other_threads(before) == set()


def test_a_zero_interval_signs_only_at_start_up(db, settings):
    settings.ledger.sth_interval_s = 0
    app = create_app(settings, db=db)
    with TestClient(app):
        assert app.state.jobs.wait_idle()  # the start-up head is signed by a job: let it run first
        _fill(db, 3)
        time.sleep(0.3)
    assert [size for _, size in _heads(db)] == [0]


def test_shutdown_waits_for_a_tick_in_flight(db, settings, monkeypatch):
    """A tick already signing when the server stops finishes (and commits) before shutdown
    completes and the store is closed; it is not abandoned on a worker thread."""
    settings.ledger.sth_interval_s = INTERVAL_S
    real = sth.issue_if_due
    events: list[str] = []
    armed, entered = threading.Event(), threading.Event()

    def slow_issue(session, s):
        if armed.is_set() and not entered.is_set():
            entered.set()
            time.sleep(0.5)  # still signing when shutdown begins
            head = real(session, s)
            events.append("tick done")
            return head
        return real(session, s)

    monkeypatch.setattr(sth, "issue_if_due", slow_issue)
    app = create_app(settings)  # the app owns its store and closes it on shutdown
    own_dispose = app.state.db.dispose

    def dispose():
        events.append("store closed")
        own_dispose()

    app.state.db.dispose = dispose
    before = set(threading.enumerate())
    with TestClient(app):
        _fill(db, 1)
        armed.set()
        assert entered.wait(10)
    assert events == ["tick done", "store closed"]
    assert _heads(db)[-1][1] == 1  # the slow tick's head was committed
    assert _other_threads(before) == set()
