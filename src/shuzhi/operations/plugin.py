"""Built-in hook implementations of platform operations: the audit events of operators' actions."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_events():
    from shuzhi.operations.events import EVENTS

    return list(EVENTS)
