"""Audit events are declared types: each domain declares its own, unknown or misshapen ones fail loudly."""

import pytest

from shuzhi.errors import InvalidInput
from shuzhi.ledger import ABSENT, Event, event, events


def test_every_domain_contributes_its_event_types():
    declared = events.registered()
    for name in (
        "dataset.created",
        "grade.assigned",
        "auth.login",
        "data.read",
        "request.approved",
        "version.ingested",
    ):
        assert name in declared, name
    for kind in declared.values():
        assert kind.zh.strip() and kind.en.strip() and kind.record.TYPE is kind
    assert (
        declared["data.read"].label("en") == "data read" and declared["data.read"].label("zh") == "数据读取"
    )
    assert declared["request.approved"].fields == (
        "request_id",
        "from",
        "to",
        "reason",
        "requesting_department",
    )
    # the modules that declare them belong to the domains, not to the ledger
    assert all(not k.record.__module__.startswith("shuzhi.ledger") for k in declared.values())


def test_unknown_names_and_misshapen_events_fail_loudly():
    from shuzhi.exchange.events import GrantRevoked

    with pytest.raises(InvalidInput, match="unknown audit event type"):
        events.lookup("grant.vanished")
    with pytest.raises(TypeError, match="reason"):
        GrantRevoked(grant_id=1)  # a missing field
    with pytest.raises(TypeError, match="colour"):
        GrantRevoked(grant_id=1, reason="x", colour="red")  # a field it does not declare
    with pytest.raises(TypeError, match="declared event"):
        events.type_of("grant.revoked")

    class Undeclared(Event):
        pass

    with pytest.raises(TypeError, match="declared event"):
        events.type_of(Undeclared())


def test_declarations_are_checked():
    with pytest.raises(ValueError, match="declared twice"):

        @event("data.read", "重复", "duplicate")
        class Again(Event):
            pass

    with pytest.raises(TypeError, match="Chinese and English"):
        event("x.unlabelled", "", "unlabelled")
    with pytest.raises(ValueError, match="dotted"):
        event("Not A Name", "名", "name")


def test_detail_keeps_the_stored_keys():
    """Keys renamed for Python (`from_`) and fields left out are written as the entries always were."""
    from shuzhi.exchange.events import MOVES, DataRead

    moved = MOVES["approved"](
        request_id=3, from_="submitted", to="approved", reason=None, requesting_department=2
    )
    assert moved.detail() == {
        "request_id": 3,
        "from": "submitted",
        "to": "approved",
        "reason": None,
        "requesting_department": 2,
    }
    read = DataRead(
        channel="sql",
        dataset="d",
        version=1,
        basis="owner",
        grant_id=None,
        fields=[],
        purpose=None,
        query_sha256="0",
        rows=0,
        ended="completed",
        duration_ms=1.0,
    )
    assert "error" not in read.detail() and read.error is ABSENT
