"""The domains' jobs on both runners: grant expiry ends a request on time with no command, and
the tree-head job signs once however many processes run it at the same moment."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from tests.jobs.conftest import wait_for
from tests.ledger.ledger_tamper import _fill

from shuzhi.jobs import JobContext
from shuzhi.jobs.models import JobRun
from shuzhi.ledger import LedgerEntry
from shuzhi.ledger.jobs import sign_tree_head
from shuzhi.ledger.models import TreeHead
from shuzhi.store.db import Database


def _heads(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(TreeHead))


def _expiry_notes(db) -> list[str]:
    with db.read() as s:
        q = select(JobRun.note).where(JobRun.name == "exchange.expire_grants", JobRun.state == "done")
        return [n for n in s.scalars(q.order_by(JobRun.id)) if n and n.startswith("expired 1")]


def test_periodic_expiry_ends_a_request_whose_grant_ran_out(world, granted, job_settings, make_runner):
    from shuzhi.exchange import share_requests

    with world.db.write() as s:
        grant = share_requests.get_grant(s, granted)
        grant.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        request_id = grant.request_id
    job_settings.exchange.expire_interval_s = 0.3
    make_runner()
    deadline = time.monotonic() + 30
    while not (notes := _expiry_notes(world.db)) or not notes[-1].startswith("expired 1"):
        assert time.monotonic() < deadline, notes
        time.sleep(0.05)
    with world.db.read() as s:
        assert s.get(share_requests.ShareRequest, request_id).state == "expired"
        entries = [e.entry for e in s.scalars(select(LedgerEntry)) if '"expired"' in e.entry]
    assert entries  # the state change is in the ledger, done by the system


def test_concurrent_signers_sign_one_head(db, settings):
    """Four processes' worth of store handles run the job at the same moment: one signs."""
    settings.ledger.sth_interval_s = 3600
    _fill(db, 3)
    handles = [Database(settings.db_url) for _ in range(4)]
    barrier = threading.Barrier(len(handles))
    errors: list[BaseException] = []

    def sign(handle):
        barrier.wait()
        try:
            sign_tree_head(JobContext(handle, settings, job_id=0, attempt=1))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sign, args=(h,)) for h in handles]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for h in handles:
            h.dispose()
    assert errors == []
    assert _heads(db) == 1


def test_two_runners_starting_together_sign_one_head(db, settings, job_settings, make_runner):
    job_settings.ledger.sth_interval_s = 3600
    _fill(db, 2)
    other = Database(settings.db_url)
    try:
        make_runner()
        make_runner(other)
        with db.read() as s:
            runs = list(s.scalars(select(JobRun.id).where(JobRun.name == "ledger.sign_tree_head")))
        assert len(runs) == 2  # one start-up run per runner
        assert {wait_for(db, r)["state"] for r in runs} == {"done"}
    finally:
        other.dispose()
    assert _heads(db) == 1
