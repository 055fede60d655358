"""Built-in hook implementations of grading: every ingested version is classified in its own transaction;
the grades the ledger vouches for."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def version_ingested(session, settings, version):
    from shuzhi.classify.service import classify_version

    classify_version(session, settings, version)


@hookimpl
def ledger_state():
    from shuzhi.classify.state import SOURCE

    return [SOURCE]
