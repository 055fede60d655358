"""Requests move through their states by the right people only, with reasons, deadlines and audit."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from shuzhi.errors import Conflict, Forbidden, InvalidInput
from shuzhi.exchange import share_requests
from shuzhi.exchange.models import RequestEvent
from shuzhi.exchange.workdays import WorkCalendar, parse_holidays
from shuzhi.ledger.models import LedgerEntry


def _new(world, who=None, submit=True, fields=("name", "gender")):
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            who or world.rs_analyst,
            share_requests.RequestIn(
                dataset="population", fields=list(fields), purpose="核查", basis="《条例》"
            ),
            submit=submit,
        )
        return req.id


def _do(world, fn, request_id, *args, **kw):
    with world.db.transaction() as s:
        req = s.get(share_requests.ShareRequest, request_id)
        return fn(s, *args[:1], req, *args[1:], **kw) if args else fn(s, req, **kw)


def test_full_path_records_events_and_ledger(world):
    rid = _new(world, submit=False)
    with world.db.transaction() as s:
        req = s.get(share_requests.ShareRequest, rid)
        assert req.state == "draft" and req.deadline is None
        share_requests.submit_request(s, world.settings, world.rs_analyst, req)
        assert req.state == "submitted" and req.deadline > date.today()
        grant = share_requests.approve_request(
            s,
            world.settings,
            world.ga_steward,
            req,
            share_requests.Approval(fields=["name"], row_filter="gender = 'F'"),
        )
        assert req.state == "approved" and grant.fields == ["name"] and grant.row_filter == "gender = 'F'"
        share_requests.revoke_grant(s, world.ga_steward, grant, "用途已结束")
        assert req.state == "revoked"
    with world.db.session() as s:
        states = [e.to_state for e in s.scalars(select(RequestEvent).where(RequestEvent.request_id == rid))]
        assert states == ["draft", "submitted", "approved", "revoked"]
        events = set(s.scalars(select(LedgerEntry.event)))
        assert {
            "request.draft",
            "request.submitted",
            "request.approved",
            "grant.created",
            "grant.revoked",
            "request.revoked",
        } <= events


def test_only_provider_steward_decides(world):
    rid = _new(world)
    for who in (world.rs_analyst, world.rs_steward, world.sc_steward, world.ga_analyst):
        with pytest.raises(Forbidden), world.db.transaction() as s:
            share_requests.approve_request(s, world.settings, who, s.get(share_requests.ShareRequest, rid))
    with pytest.raises(Forbidden), world.db.transaction() as s:
        share_requests.reject_request(s, world.sc_steward, s.get(share_requests.ShareRequest, rid), "no")


def test_reject_and_withdraw_need_reason(world):
    rid = _new(world)
    with pytest.raises(InvalidInput), world.db.transaction() as s:
        share_requests.reject_request(s, world.ga_steward, s.get(share_requests.ShareRequest, rid), "  ")
    with world.db.transaction() as s:
        req = share_requests.reject_request(
            s, world.ga_steward, s.get(share_requests.ShareRequest, rid), "用途不明确"
        )
        assert req.state == "rejected" and req.decision_reason == "用途不明确"
    with pytest.raises(Conflict), world.db.transaction() as s:
        share_requests.withdraw_request(
            s, world.rs_analyst, s.get(share_requests.ShareRequest, rid), "changed mind"
        )


def test_withdraw_by_requester_side_only(world):
    rid = _new(world)
    with pytest.raises(Forbidden), world.db.transaction() as s:
        share_requests.withdraw_request(s, world.ga_steward, s.get(share_requests.ShareRequest, rid), "x")
    with world.db.transaction() as s:
        assert (
            share_requests.withdraw_request(
                s, world.rs_steward, s.get(share_requests.ShareRequest, rid), "不再需要"
            ).state
            == "withdrawn"
        )


def test_narrower_only(world):
    rid = _new(world, fields=("name",))
    with pytest.raises(InvalidInput), world.db.transaction() as s:
        share_requests.approve_request(
            s,
            world.settings,
            world.ga_steward,
            s.get(share_requests.ShareRequest, rid),
            share_requests.Approval(fields=["name", "religion"]),
        )


def test_row_filter_validated_against_schema(world):
    rid = _new(world)
    for bad in ("nosuchfield = 1", "name = (SELECT max(name) FROM population)", "1=1; DROP TABLE x"):
        with pytest.raises(InvalidInput), world.db.transaction() as s:
            share_requests.approve_request(
                s,
                world.settings,
                world.ga_steward,
                s.get(share_requests.ShareRequest, rid),
                share_requests.Approval(row_filter=bad),
            )


def test_share_types_on_request(world):
    for dataset, error in (("secret_registry", Forbidden), ("enterprise", Conflict)):
        with pytest.raises(error), world.db.transaction() as s:
            share_requests.create_request(
                s,
                world.settings,
                world.rs_analyst,
                share_requests.RequestIn(
                    dataset=dataset, fields=["name"] if dataset != "enterprise" else ["uscc"], purpose="x"
                ),
            )
    with pytest.raises(InvalidInput), world.db.transaction() as s:
        share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose=" "),
        )
    with pytest.raises(Forbidden), world.db.transaction() as s:
        share_requests.create_request(
            s,
            world.settings,
            world.rs_auditor,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose="x"),
        )


def test_overdue_listed_for_provider_and_admin(world):
    rid = _new(world)
    with world.db.transaction() as s:
        s.get(share_requests.ShareRequest, rid).deadline = date.today() - timedelta(days=1)
    with world.db.session() as s:
        assert [r.id for r in share_requests.overdue(s, world.ga_steward)] == [rid]
        assert [r.id for r in share_requests.overdue(s, world.admin)] == [rid]
        assert share_requests.overdue(s, world.sc_steward) == []
        assert share_requests.overdue(s, world.rs_analyst) == []


def test_expire_due_moves_request(world, granted):
    from datetime import UTC, datetime

    with world.db.transaction() as s:
        g = share_requests.get_grant(s, granted)
        g.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with world.db.transaction() as s:
        moved = share_requests.expire_due(s)
        assert [r.state for r in moved] == ["expired"]


def test_working_days_skip_weekends_and_holidays():
    cal = WorkCalendar(national="none")
    friday = date(2031, 1, 3)
    assert cal.add_working_days(friday, 1) == date(2031, 1, 6)
    assert cal.add_working_days(friday, 10) == date(2031, 1, 17)
    holidays, workdays = parse_holidays("2031-01-06\n2031-01-11 workday  # 调休\n")
    cal = WorkCalendar(national="none", extra_holidays=holidays, extra_workdays=workdays)
    assert cal.add_working_days(friday, 1) == date(2031, 1, 7)
    assert cal.is_workday(date(2031, 1, 11))


def test_national_calendar_knows_golden_week():
    cal = WorkCalendar(national="cn")
    # 2024-10-01..07 National Day holiday; 2024-10-12 (Saturday) an adjusted working day.
    assert not cal.is_workday(date(2024, 10, 2))
    assert cal.is_workday(date(2024, 10, 12))
    assert cal.add_working_days(date(2024, 9, 30), 1) == date(2024, 10, 8)


def test_deadline_uses_configured_days(world):
    world.settings.exchange.review_working_days = 3
    world.settings.exchange.holiday_calendar = "none"
    rid = _new(world)
    with world.db.session() as s:
        req = s.get(share_requests.ShareRequest, rid)
        assert WorkCalendar(national="none").working_days_between(req.submitted_at.date(), req.deadline) == 3
