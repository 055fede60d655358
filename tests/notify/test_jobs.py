"""The notification jobs as the runners call them, and the ledger's bulk path feeding notifications."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from shuzhi.exchange import events, share_requests
from shuzhi.exchange.models import ShareRequest
from shuzhi.jobs.declare import JobContext, declared_jobs
from shuzhi.ledger import bulk
from shuzhi.notify import jobs
from shuzhi.notify.models import Notification
from shuzhi.store.base import utcnow


def _count(world) -> int:
    with world.db.read() as s:
        return s.scalar(select(func.count()).select_from(Notification))


def test_the_jobs_are_declared_on_their_settings():
    declared = declared_jobs()
    assert declared["notify.scan"].func == "shuzhi.notify.jobs:scan"
    assert declared["notify.send_mail"].func == "shuzhi.notify.jobs:send_mail"


def test_the_scan_job_run_again_sends_nothing_new(world):
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose="核查"),
            submit=True,
        )
        req.deadline = utcnow().date() - timedelta(days=1)
    before = _count(world)
    ctx = JobContext(db=world.db, settings=world.settings, job_id=1, attempt=1)
    jobs.scan(ctx)
    assert _count(world) == before + 1 and "review_overdue 1" in ctx.note
    for attempt in (2, 3):
        again = JobContext(db=world.db, settings=world.settings, job_id=attempt, attempt=attempt)
        jobs.scan(again)
        assert "review_overdue 0" in again.note
    assert _count(world) == before + 1


def test_the_mail_job_empties_the_queue_into_the_outbox(world):
    from sqlalchemy import update

    from shuzhi.notify import mail
    from shuzhi.orgs.models import User

    with world.db.write() as s:
        s.execute(update(User).where(User.username == "ga_steward").values(email="ga@gov.example"))
    for _ in range(3):
        with world.db.transaction() as s:
            share_requests.create_request(
                s,
                world.settings,
                world.rs_analyst,
                share_requests.RequestIn(dataset="population", fields=["name"], purpose="核查"),
                submit=True,
            )
    jobs.send_mail(JobContext(db=world.db, settings=world.settings, job_id=1, attempt=1))
    jobs.send_mail(JobContext(db=world.db, settings=world.settings, job_id=2, attempt=1))
    assert len(list(mail.outbox_dir(world.settings).glob("*.eml"))) == 3


def test_events_appended_in_bulk_feed_notifications_too(world):
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose="核查"),
        )
        rid = req.id
    assert _count(world) == 0
    with world.db.transaction() as s:
        req = s.get(ShareRequest, rid)
        req.state, req.deadline = "submitted", utcnow().date() + timedelta(days=10)
        record = events.RequestSubmitted(
            request_id=rid,
            from_="draft",
            to="submitted",
            reason=None,
            requesting_department=req.department_id,
        )
        bulk.append_many(s, [{"event": record, "user_id": world.rs_analyst.user_id}])
    with world.db.read() as s:
        got = s.execute(select(Notification.user_id, Notification.key)).all()
    assert [(user, ":".join(key.split(":")[:3])) for user, key in got] == [
        (world.ga_steward.user_id, f"request:{rid}:submitted")
    ]
