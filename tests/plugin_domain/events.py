"""The notes domain's audit event."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("note.added", "添加备注", "note added")
class NoteAdded(Event):
    note: int
