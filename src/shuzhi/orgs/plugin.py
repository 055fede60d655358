"""Built-in hook implementation of orgs: the users, roles, tokens and sessions the ledger vouches for."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def ledger_state():
    from shuzhi.orgs.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.orgs.events import EVENTS

    return list(EVENTS)
