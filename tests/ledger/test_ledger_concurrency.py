"""Many writers at once get distinct, gap-free sequence numbers; entries live and die with their action."""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import select
from tests.ledger import events as ev

from shuzhi.ledger import LedgerEntry, append, keys, log
from shuzhi.ledger.verify import verify_ledger
from shuzhi.orgs.models import Department
from shuzhi.store.db import Database

WRITERS = 8
PER_WRITER = 30


class Boom(Exception):
    pass


def _writer(url: str, writer: int, start, out) -> None:
    db = Database(url)
    start.wait()
    done = 0
    try:
        for k in range(PER_WRITER):
            try:
                with db.transaction() as s:
                    append(s, ev.Read(writer=writer, k=k), user_id=writer)
                    if k % 5 == 4:
                        raise Boom  # the action failed: its entry must vanish and leave no gap
                done += 1
            except Boom:
                pass
    finally:
        db.dispose()
        out.put((writer, done))


@pytest.mark.slow
def test_concurrent_writer_processes_get_gap_free_seqs(db, settings):
    ctx = multiprocessing.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(settings.db_url, w, start, out)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(timeout=300)
        assert p.exitcode == 0
    committed = dict(out.get(timeout=5) for _ in procs)
    expected = sum(committed.values())
    assert expected == WRITERS * (PER_WRITER - PER_WRITER // 5)
    with db.session() as s:
        seqs = list(s.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)))
        assert seqs == list(range(expected))
        per_writer = {}
        for e in s.scalars(select(LedgerEntry)):
            per_writer.setdefault(e.user_id, []).append(e)
        assert {w: len(es) for w, es in per_writer.items()} == committed
        report = verify_ledger(s, keys.public_key(settings))
    assert report.ok, report.problems


def test_failed_action_takes_its_entry_with_it(db):
    with pytest.raises(Boom), db.transaction() as s:
        s.add(Department(code="X1", name_zh="测试"))
        s.flush()
        append(s, ev.Created(code="X1"))
        raise Boom
    with db.session() as s:
        assert log.tree_size(s) == 0
        assert s.scalar(select(Department).where(Department.code == "X1")) is None


def test_failed_append_takes_its_action_with_it(db):
    with pytest.raises(TypeError), db.transaction() as s:
        s.add(Department(code="X2", name_zh="测试"))
        s.flush()
        append(s, ev.Created(not_json=object()))
    with db.session() as s:
        assert log.tree_size(s) == 0
        assert s.scalar(select(Department).where(Department.code == "X2")) is None


def test_action_failing_after_its_entry_leaves_no_gap(db):
    with db.transaction() as s:
        s.add(Department(code="X3", name_zh="测试"))
        append(s, ev.Created(code="X3"))
    with pytest.raises(Exception), db.transaction() as s:  # noqa: B017 - the driver's IntegrityError
        append(s, ev.Created(code="X3"))
        s.add(Department(code="X3", name_zh="重复"))
        s.flush()
    with db.transaction() as s:
        assert append(s, ev.Login()).seq == 1
    with db.session() as s:
        assert list(s.scalars(select(LedgerEntry.seq))) == [0, 1]
