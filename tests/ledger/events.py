"""Event types the ledger's own tests write: the mechanism under test, not any domain's events."""

from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event, key


@event("test.read", "测试读取", "test read")
class Read(Event):
    i: Any = ABSENT
    forged: Any = ABSENT
    writer: Any = ABSENT
    k: Any = ABSENT
    a: Any = ABSENT
    b: Any = ABSENT
    列: Any = ABSENT


@event("test.denied", "测试拒绝", "test denied")
class Denied(Event):
    purpose: Any = ABSENT
    nested: Any = ABSENT


@event("test_request.approved", "测试批准", "test approved")
class Approved(Event):
    i: Any = ABSENT
    列: Any = ABSENT


@event("test.login", "测试登录", "test login")
class Login(Event):
    pass


@event("test.created", "测试创建", "test created")
class Created(Event):
    code: Any = ABSENT
    not_json: Any = key("not json", default=ABSENT)
