"""The audit events of open-data releases: prepared (built and checked), published, rejected, withdrawn; and
every read of a conditional release's data."""

from __future__ import annotations

import dataclasses
from typing import Any

from shuzhi.ledger.events import Event, event, key


@event("opendata.release_prepared", "开放数据发布准备", "open-data release prepared")
class ReleasePrepared(Event):
    """A release built from a version under a plan, its file hashed and checked."""

    release_id: int
    version: int
    plan: dict[str, Any]
    reused_from: int | None
    """The release whose plan was reused, if any."""
    fields: list[str]
    """The fields the release makes public."""
    sha256: str
    rows: int
    k: int
    l: int | None  # noqa: E741 - the l of l-diversity
    suppressed: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseMoved(Event):
    """A release moved to another state (one event type per state it moves to)."""

    release_id: int
    from_: str = key("from")
    to: str
    reason: str | None
    sha256: str


@event("opendata.release_published", "开放数据发布", "open-data release published")
class ReleasePublished(ReleaseMoved):
    pass


@event("opendata.release_rejected", "开放数据发布驳回", "open-data release rejected")
class ReleaseRejected(ReleaseMoved):
    pass


@event("opendata.release_withdrawn", "开放数据发布撤回", "open-data release withdrawn")
class ReleaseWithdrawn(ReleaseMoved):
    pass


@event("opendata.data_read", "有条件开放数据读取", "conditional open data read")
class DataRead(Event):
    """Rows or the file of a conditional release handed to someone allowed to read them."""

    release_id: int
    dataset: str
    face: str
    """download, datastore, sql, preview or api (`shuzhi.opendata.access.FACES`)."""
    basis: str
    """Why it was allowed: department, admin or application."""
    application_id: int | None
    portal_user_id: int | None


MOVES: dict[str, type[ReleaseMoved]] = {
    "published": ReleasePublished,
    "rejected": ReleaseRejected,
    "withdrawn": ReleaseWithdrawn,
}
"""The event of a move, by the state moved to."""

EVENTS = (ReleasePrepared, *MOVES.values(), DataRead)
