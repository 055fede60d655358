"""Who is told what: each notification kind reaches its recipients and nobody else, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shuzhi.catalog.models import Dataset
from shuzhi.classify.alerts import new_alert
from shuzhi.exchange import share_requests
from shuzhi.exchange.models import Grant, ShareRequest
from shuzhi.i18n import M_, Pair
from shuzhi.notify import feed, service
from shuzhi.notify.models import Notification
from shuzhi.orgs.models import User
from shuzhi.store.base import utcnow


def _request(world, fields=("name", "gender", "income"), submit=True) -> int:
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=list(fields), purpose="低保资格核查"),
            submit=submit,
        )
        return req.id


def event_of(key: str) -> str:
    """A notification key without the moment that tells one occurrence of its event from the next
    ("request:1:submitted:2026-12-05T…" → "request:1:submitted")."""
    return ":".join(key.split(":")[:3])


def _inbox(world, who) -> list[tuple[str, str]]:
    """(kind, event) of every notification of a user, oldest first."""
    with world.db.read() as s:
        return [(n.kind, event_of(n.key)) for n in reversed(service.page(s, who.user_id, limit=100))]


def _stored_key(world, user_id: int, event: str) -> str:
    with world.db.read() as s:
        return next(
            n.key
            for n in s.scalars(select(Notification).where(Notification.user_id == user_id))
            if event_of(n.key) == event
        )


def _everyone(world) -> list:
    return [
        world.ga_steward,
        world.sc_steward,
        world.rs_analyst,
        world.rs_steward,
        world.rs_auditor,
        world.ga_analyst,
        world.admin,
    ]


def _only(world, kind: str) -> dict[str, list[str]]:
    """Who holds notifications of this kind: username -> keys."""
    out = {}
    for p in _everyone(world):
        keys = [k for kd, k in _inbox(world, p) if kd == kind]
        if keys:
            out[p.username] = keys
    return out


def test_a_submitted_request_tells_the_providing_stewards_only(world):
    rid = _request(world)
    assert _only(world, "request_submitted") == {"ga_steward": [f"request:{rid}:submitted"]}
    with world.db.read() as s:
        n = service.page(s, world.ga_steward.user_id)[0]
        assert n.link == f"/exchange/requests/{rid}" and n.read_at is None
        req = s.get(ShareRequest, rid)
        ds, dept = req.dataset, req.department
        # the words as the catalog gives them, each language with the data's own half
        assert n.title_zh == f"新的共享申请 #{rid}：{ds.title_zh}"
        assert n.title_en == f"New share request #{rid}: {ds.title_en or ds.title_zh}"
        assert (
            n.body_zh
            == f"{dept.name_zh}申请{ds.title_zh}的 3 个字段，用途：低保资格核查。请在 {req.deadline} 前审核。"
        )
        assert n.body_en == (
            f"{dept.name_en or dept.name_zh} asks for 3 fields of {ds.title_en or ds.title_zh}, for: 低保资格核查. "
            f"Please decide by {req.deadline}."
        )


def test_a_draft_tells_nobody(world):
    _request(world, submit=False)
    assert all(_inbox(world, p) == [] for p in _everyone(world))


def test_an_approval_tells_the_requester_and_not_the_steward(world):
    rid = _request(world)
    with world.db.transaction() as s:
        req = share_requests.get_request(s, world.ga_steward, rid)
        share_requests.approve_request(s, world.settings, world.ga_steward, req)
    assert _only(world, "request_approved") == {"rs_analyst": [f"request:{rid}:approved"]}
    assert _only(world, "request_narrowed") == {}
    # the analyst does not see the steward's notification, nor the steward the analyst's
    assert [k for k, _ in _inbox(world, world.rs_analyst)] == ["request_approved"]
    assert [k for k, _ in _inbox(world, world.ga_steward)] == ["request_submitted"]


def test_a_narrowed_approval_says_which_fields_were_left_out(granted, world):
    # `granted` asked for religion too and was approved without it
    assert list(_only(world, "request_narrowed")) == ["rs_analyst"]
    with world.db.read() as s:
        n = service.page(s, world.rs_analyst.user_id)[0]
    assert n.kind == "request_narrowed" and "religion" in n.body_zh and "religion" in n.body_en
    assert n.title_zh.endswith("已缩小范围批准：" + n.title_zh.rpartition("：")[2])
    assert "approved (narrowed): " in n.title_en and n.body_en.startswith("Fields not granted: ")
    assert _only(world, "request_approved") == {}


def test_a_rejection_tells_the_requester_with_the_reason(world):
    rid = _request(world)
    with world.db.transaction() as s:
        req = share_requests.get_request(s, world.ga_steward, rid)
        share_requests.reject_request(s, world.ga_steward, req, "用途不明确")
    assert _only(world, "request_rejected") == {"rs_analyst": [f"request:{rid}:rejected"]}
    with world.db.read() as s:
        n = service.page(s, world.rs_analyst.user_id)[0]
    assert (n.body_zh, n.body_en) == ("驳回理由：用途不明确", "Reason: 用途不明确")
    assert n.title_en.startswith(f"Request #{rid} rejected: ") and f"申请 #{rid} 已驳回：" in n.title_zh


def test_an_action_that_rolls_back_leaves_no_notification(world):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), world.db.transaction() as s:
        share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["name"], purpose="核查"),
            submit=True,
        )
        raise Boom
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 0


def _scan(world) -> dict[str, int]:
    with world.db.write() as s:
        return feed.scan(s, world.settings)


def _set_deadline(world, rid: int, days_from_today: int) -> None:
    with world.db.write() as s:
        s.get(ShareRequest, rid).deadline = utcnow().date() + timedelta(days=days_from_today)


def test_the_scan_warns_of_a_near_deadline_then_of_a_passed_one_each_once(world):
    rid = _request(world)
    far = _request(world, fields=("gender",))
    # the default deadline (10 working days) is further off than the warning (2 working days)
    assert _scan(world)["review_due_soon"] == 0
    _set_deadline(world, rid, 0)
    assert _scan(world)["review_due_soon"] == 1
    assert _scan(world) == {
        "review_due_soon": 0,
        "review_overdue": 0,
        "grant_expiring": 0,
        "grading_alert": 0,
    }
    assert _only(world, "review_due_soon") == {"ga_steward": [f"request:{rid}:due_soon"]}
    _set_deadline(world, rid, -1)
    assert _scan(world)["review_overdue"] == 1
    assert _scan(world)["review_overdue"] == 0
    assert _only(world, "review_overdue") == {"ga_steward": [f"request:{rid}:overdue"]}
    assert not any(f"request:{far}:" in k for keys in _only(world, "review_due_soon").values() for k in keys)


def test_a_decided_request_is_not_reminded(world):
    rid = _request(world)
    _set_deadline(world, rid, -3)
    with world.db.transaction() as s:
        share_requests.reject_request(s, world.ga_steward, s.get(ShareRequest, rid), "不予共享")
    assert _scan(world)["review_overdue"] == 0


def test_a_grant_ending_soon_tells_its_requester_once(granted, world):
    assert _scan(world)["grant_expiring"] == 0  # the default grant runs a year
    with world.db.write() as s:
        s.get(Grant, granted).expires_at = utcnow() + timedelta(days=3)
    assert _scan(world)["grant_expiring"] == 1
    assert _scan(world)["grant_expiring"] == 0
    assert _only(world, "grant_expiring") == {"rs_analyst": [f"grant:{granted}:expiring"]}
    with world.db.read() as s:
        n = [n for n in service.page(s, world.rs_analyst.user_id) if n.kind == "grant_expiring"][0]
    assert n.link == f"/exchange/grants/{granted}"


def test_a_revoked_or_ended_grant_is_not_announced(granted, world):
    with world.db.write() as s:
        g = s.get(Grant, granted)
        g.expires_at = utcnow() + timedelta(days=3)
        g.revoked_at = utcnow()
    assert _scan(world)["grant_expiring"] == 0


def test_a_new_grading_alert_tells_the_owning_stewards_once(world):
    with world.db.write() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        alert = new_alert(ds, None, "new_sensitive", "income", "新发现敏感字段 income", {})
        s.add(alert)
        s.flush()
        alert_id = alert.id
    assert _scan(world)["grading_alert"] == 1
    assert _scan(world)["grading_alert"] == 0
    assert _only(world, "grading_alert") == {"ga_steward": [f"alert:{alert_id}"]}


def test_a_steward_who_joins_later_is_told_of_open_alerts_but_nobody_twice(world, make_user):
    with world.db.write() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        s.add(new_alert(ds, None, "new_sensitive", "name", "新发现敏感字段 name", {}))
    _scan(world)
    late = make_user("ga_steward2", "GA", ("steward",))
    assert _scan(world)["grading_alert"] == 1
    assert [k for k, _ in _inbox(world, late)] == ["grading_alert"]
    with world.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Notification)) == 2


def test_the_unique_key_refuses_a_second_copy_even_past_the_service(world):
    rid = _request(world)
    key = _stored_key(world, world.ga_steward.user_id, f"request:{rid}:submitted")
    with world.db.write() as s:
        again = service.send(
            s,
            [s.get(User, world.ga_steward.user_id)],
            service.Message("request_submitted", key, M_("Reason: %(reason)s", reason="x"), Pair("x", "x")),
        )
    assert again == []
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), world.db.write() as s:
        s.add(
            Notification(
                user_id=world.ga_steward.user_id,
                kind="request_submitted",
                key=key,
                title_zh="x",
                title_en="x",
                body_zh="x",
                body_en="x",
                mail_state="none",
                mail_attempts=0,
            )
        )
        s.flush()


def test_unread_count_and_marking(world):
    rid = _request(world)
    _set_deadline(world, rid, -1)
    _scan(world)
    with world.db.read() as s:
        assert service.unread_count(s, world.ga_steward.user_id) == 2
        assert service.unread_count(s, world.rs_analyst.user_id) == 0
        first = service.page(s, world.ga_steward.user_id)[-1].id
    with world.db.write() as s:
        service.mark_read(s, world.ga_steward.user_id, first)
    with world.db.read() as s:
        assert service.unread_count(s, world.ga_steward.user_id) == 1
    with world.db.write() as s:
        assert service.mark_all_read(s, world.ga_steward.user_id) == 1
    with world.db.read() as s:
        assert service.unread_count(s, world.ga_steward.user_id) == 0
