"""The audit events of the base registries: a registry registered, a build run, a steward's decision."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import Event, event


@event("registry.registered", "基础库登记", "base registry registered")
class Registered(Event):
    """A registry's settings were checked and stored (first time or replaced)."""

    registry: str
    kind: str
    sources: list[str]
    sha256: str
    """Of the settings as stored (canonical JSON)."""


@event("registry.built", "基础库构建", "base registry built")
class Built(Event):
    """A build linked the sources and rebuilt the entries: its mode, counts and the versions read."""

    registry: str
    run_id: int
    mode: str
    counts: dict[str, Any]
    sources: dict[str, int]
    """Source dataset → version read."""


@event("registry.entry_read", "基础库条目查阅", "base registry entry read")
class EntryRead(Event):
    """A steward or an admin read an entry as stored: its golden values unmasked, its member records."""

    registry: str
    entry: str


@event("registry.entry_explained", "基础库条目归并说明查阅", "base registry entry explained")
class EntryExplained(Event):
    """A steward or an admin read why an entry's records are one entry: comparison levels and weights."""

    registry: str
    entry: str
    run_id: int
    """The build whose model scored the pairs."""
    pairs: int


@event("registry.decided", "基础库人工裁决", "base registry steward decision")
class Decided(Event):
    """A steward merged entries, split records off an entry, or chose an attribute's value."""

    registry: str
    decision_id: int
    kind: str
    entries: list[str]
    attribute: str | None
    value: str | None
    records: list[str]
    reason: str


EVENTS = (Registered, Built, Decided, EntryRead, EntryExplained)
