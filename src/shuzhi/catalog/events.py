"""The audit events the catalog writes: datasets created, changed and deleted; profile values shown."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event


@event("dataset.created", "数据集创建", "dataset created")
class DatasetCreated(Event):
    identifier: str
    title_zh: str
    share_type: str
    open_type: str


@event("dataset.updated", "数据集修改", "dataset updated")
class DatasetUpdated(Event):
    changed: list[str]
    values: dict[str, Any]
    """What decides who may read it, as it now is (the security state; docs/ledger.md)."""


@event("dataset.deleted", "数据集删除", "dataset deleted")
class DatasetDeleted(Event):
    identifier: str
    versions: list[int]


@event("profile.values_read", "查看画像样本值", "profile values read")
class ProfileValuesRead(Event):
    dataset: str
    versions: list[int]
    channel: str
    revealed: list[str] = ABSENT
    """Sensitive fields (L3 and above) whose values the reader asked to see."""


EVENTS = (DatasetCreated, DatasetUpdated, DatasetDeleted, ProfileValuesRead)
