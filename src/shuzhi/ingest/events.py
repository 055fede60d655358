"""The audit events of ingest: a version written (or found unchanged), damaged, restored."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event


@event("version.ingested", "版本入库", "version ingested")
class VersionIngested(Event):
    """A new version (`version`, `rows`, `format`, `drift`), or the same content as version
    `same_as` (`unchanged`)."""

    sha256: str
    source: str | None
    version: int = ABSENT
    rows: int = ABSENT
    format: str = ABSENT
    drift: Any = ABSENT
    unchanged: bool = ABSENT
    same_as: int = ABSENT


@event("version.damaged", "版本文件损坏", "version damaged")
class VersionDamaged(Event):
    version: int
    damage: str
    sha256: str


@event("version.restored", "版本文件恢复", "version restored")
class VersionRestored(Event):
    version: int
    was: str | None
    sha256: str


EVENTS = (VersionIngested, VersionDamaged, VersionRestored)
