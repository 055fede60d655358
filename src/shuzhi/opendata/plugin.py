"""Built-in hook implementations of open data: differentially private statistics (their API and
commands), privacy budgets (tables, migrations, settings) and their audit events."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import opendata_stats

    return [opendata_stats.router]


@hookimpl
def register_commands():
    from shuzhi.cli import opendata_stats

    return [("opendata", opendata_stats.opendata_app())]


@hookimpl
def register_models():
    from shuzhi.opendata import budget_models

    return [budget_models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def settings_sections():
    from shuzhi.opendata.budget_settings import SECTIONS

    return SECTIONS


@hookimpl
def ledger_events():
    from shuzhi.opendata.budget_events import EVENTS

    return list(EVENTS)
