"""Built-in hook implementations of grading: every ingested version is classified in its own transaction;
a damaged version raises an alert to the owner's stewards; the grades the ledger vouches for."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def version_ingested(session, settings, version):
    from shuzhi.classify.service import classify_version

    classify_version(session, settings, version, fresh=True)


@hookimpl
def version_damaged(session, settings, version):
    from shuzhi.classify.service import alert_damaged

    alert_damaged(session, version)


@hookimpl
def ledger_state():
    from shuzhi.classify.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.classify.events import EVENTS

    return list(EVENTS)
