"""The audit events of the exchange: requests moving through their states, grants, governed reads."""

from __future__ import annotations

import dataclasses
from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event, key


@event("request.draft", "共享申请草稿", "request drafted")
class RequestDrafted(Event):
    request_id: int
    fields: list[str]
    purpose: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class RequestMoved(Event):
    """A request moved to another state (one event type per state it moves to)."""

    request_id: int
    from_: str = key("from")
    to: str
    reason: str | None
    requesting_department: int


@event("request.submitted", "共享申请提交", "request submitted")
class RequestSubmitted(RequestMoved):
    pass


@event("request.approved", "共享申请批准", "request approved")
class RequestApproved(RequestMoved):
    pass


@event("request.rejected", "共享申请驳回", "request rejected")
class RequestRejected(RequestMoved):
    pass


@event("request.withdrawn", "共享申请撤回", "request withdrawn")
class RequestWithdrawn(RequestMoved):
    pass


@event("request.expired", "共享申请到期", "request expired")
class RequestExpired(RequestMoved):
    pass


@event("request.revoked", "共享申请撤销", "request revoked")
class RequestRevoked(RequestMoved):
    pass


@event("request.amended", "共享申请修改", "request amended")
class RequestAmended(Event):
    """A rejected request edited by its requester's side before it is submitted again."""

    request_id: int
    fields: list[str]
    purpose: str
    basis: str | None
    period_end: str | None
    changed: list[str]
    """Which of fields, purpose, basis, period_end differ from what was rejected."""


MOVES: dict[str, type[RequestMoved]] = {
    e.TYPE.name.removeprefix("request."): e
    for e in (
        RequestSubmitted,
        RequestApproved,
        RequestRejected,
        RequestWithdrawn,
        RequestExpired,
        RequestRevoked,
    )
}
"""The event of a move, by the state moved to."""


@event("grant.created", "授权生效", "grant created")
class GrantCreated(Event):
    grant_id: int
    request_id: int | None
    fields: list[str]
    masks: dict[str, Any]
    row_filter: str | None
    purpose: str | None
    expires_at: str
    rows_per_day: int | None
    calls_per_day: int | None
    department_id: int


@event("grant.revoked", "授权撤销", "grant revoked")
class GrantRevoked(Event):
    grant_id: int
    reason: str


@event("grant.renewed", "授权续期", "grant renewed")
class GrantRenewed(Event):
    grant_id: int
    expires_at_before: str
    expires_at: str
    reason: str


@event("data.read", "数据读取", "data read")
class DataRead(Event):
    channel: str
    dataset: str
    version: int
    basis: str
    grant_id: int | None
    fields: list[str]
    purpose: str | None
    query_sha256: str
    rows: int | None
    ended: str
    duration_ms: float
    error: str = ABSENT
    """The error class: the engine's text quotes the values it failed on."""
    query: str = ABSENT
    """The consumer's SQL as sent (for the rows and export channels, the SELECT they stand for),
    for auditors to read beside its hash."""
    face: str = ABSENT
    """How the reader came in: api, web or cli."""
    os_user: str = ABSENT
    """The operating-system account, for reads from the command line."""


@event("data.denied", "数据读取被拒", "data read denied")
class DataDenied(Event):
    channel: str
    datasets: list[str]
    query_sha256: str
    purpose: str | None
    reason: str
    refused: list[str]
    query: str = ABSENT
    face: str = ABSENT
    os_user: str = ABSENT


EVENTS = (
    RequestDrafted,
    RequestAmended,
    *MOVES.values(),
    GrantCreated,
    GrantRevoked,
    GrantRenewed,
    DataRead,
    DataDenied,
)
