"""Built-in hook implementations of data quality: the built-in rule kinds, its API and commands,
its tables, migrations and audit events."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def quality_rule_kinds():
    from shuzhi.quality.kinds import KINDS

    return list(KINDS)


@hookimpl
def register_api_routes():
    from shuzhi.web.api import quality

    return [quality.router]


@hookimpl
def register_commands():
    from shuzhi.cli import quality

    return [("quality", quality.app)]


@hookimpl
def register_models():
    from shuzhi.quality import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.quality.events import EVENTS

    return list(EVENTS)
