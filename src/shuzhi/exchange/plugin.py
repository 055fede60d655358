"""Built-in hook implementation of the exchange: the grants the ledger vouches for."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_state():
    from shuzhi.exchange.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.exchange.events import EVENTS

    return list(EVENTS)
