"""Built-in hook implementation of the catalog: the dataset ownership, share types and version
hashes the ledger vouches for."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_state():
    from shuzhi.catalog.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.catalog.events import EVENTS

    return list(EVENTS)
