"""Built-in hook implementation of ingest: the audit events it writes."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_events():
    from shuzhi.ingest.events import EVENTS

    return list(EVENTS)
