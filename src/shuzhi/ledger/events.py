"""Typed audit events: how an event type is declared (name, fields, labels) and the registry of them.

Each domain declares the events it writes in its own `events` module and contributes them through
the `ledger_events` hook; the ledger owns only the mechanism. An entry's `detail` is the event's
fields, under the keys declared, so the stored entries are what they were when details were dicts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any, ClassVar

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_

_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class _Absent:
    """A field this entry leaves out (its key is not written at all), as opposed to null."""

    def __repr__(self) -> str:
        return "absent"


ABSENT: Any = _Absent()


@dataclasses.dataclass(frozen=True)
class EventType:
    """One declared event type, as the audit pages list it."""

    name: str
    zh: str
    en: str
    fields: tuple[str, ...]
    """The detail keys an entry of this type may carry, in declaration order."""
    record: type[Event]

    def label(self, lang: str = "zh") -> str:
        return self.zh if lang == "zh" else self.en


class Event:
    """Base of every typed event. A subclass declared with `event(...)` is a frozen keyword-only
    dataclass: a missing field or one it does not declare is a TypeError where it is built."""

    TYPE: ClassVar[EventType]

    def detail(self) -> dict[str, Any]:
        """The entry's detail: every field under its key, fields left ABSENT omitted."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is not ABSENT:
                out[f.metadata.get("key", f.name)] = value
        return out


_DECLARED: dict[str, EventType] = {}


def key(name: str, **kw: Any) -> Any:
    """A field written under another key: `from_: list = key("from")`."""
    return dataclasses.field(metadata={"key": name}, **kw)


def event(name: str, zh: str, en: str) -> Callable[[type[Event]], type[Event]]:
    """Declare one event type on an `Event` subclass whose annotations are its fields."""
    if not _NAME.match(name) or len(name) > 64:
        raise ValueError(f"event name {name!r} must be dotted lower-case words, at most 64 characters")
    if not (isinstance(zh, str) and zh.strip() and isinstance(en, str) and en.strip()):
        raise TypeError(f"event {name!r} needs labels in Chinese and English")

    def declare(cls: type[Event]) -> type[Event]:
        if not issubclass(cls, Event):
            raise TypeError(f"event {name!r}: {cls.__name__} must subclass ledger.events.Event")
        if name in _DECLARED:
            raise ValueError(f"event {name!r} is declared twice")
        record = dataclasses.dataclass(frozen=True, kw_only=True)(cls)
        keys = tuple(f.metadata.get("key", f.name) for f in dataclasses.fields(record))
        record.TYPE = EventType(name, zh, en, keys, record)
        _DECLARED[name] = record.TYPE
        return record

    return declare


def type_of(event_: Event) -> EventType:
    """The declared type of an event; anything else (a bare name, an undeclared class) is refused."""
    declared = getattr(type(event_), "TYPE", None)
    if not isinstance(event_, Event) or declared is None or _DECLARED.get(declared.name) is not declared:
        raise TypeError(
            f"ledger entries take a declared event, not {event_!r}: declare it with shuzhi.ledger.events.event"
        )
    return declared


def lookup(name: str) -> EventType:
    """The declared type of that name (InvalidInput when none is)."""
    found = registered().get(name)
    if found is None:
        raise InvalidInput(M_("unknown audit event type: %(name)s", name=name), where="event")
    return found


def registered() -> dict[str, EventType]:
    """Every event type the domains contribute through the `ledger_events` hook, by name."""
    from shuzhi.hooks import plugin_manager  # the hook registry loads the domains: only when asked

    for found in plugin_manager().hook.ledger_events():
        for record in found:
            type_of_class(record)
    return dict(sorted(_DECLARED.items()))


def type_of_class(record: type[Event]) -> EventType:
    declared = getattr(record, "TYPE", None)
    if declared is None or _DECLARED.get(declared.name) is not declared:
        raise TypeError(f"{record!r} is not a declared ledger event")
    return declared
