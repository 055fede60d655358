"""Built-in hook implementations of open data: releases, differentially private statistics and DCAT
exports (their API, pages and commands), their tables, migrations, settings, audit events and ledger state."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import opendata, opendata_stats

    return [opendata.router, opendata_stats.router]


@hookimpl
def register_page_routes():
    from shuzhi.web import dcat

    return [dcat.router]


@hookimpl
def register_commands():
    from shuzhi.cli import opendata

    return [("opendata", opendata.app)]


@hookimpl
def register_models():
    from shuzhi.opendata import budget_models, models

    return [models, budget_models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def settings_sections():
    from shuzhi.opendata import budget_settings
    from shuzhi.opendata.dcat import settings as dcat_settings

    return {**budget_settings.SECTIONS, **dcat_settings.SECTIONS}


@hookimpl
def ledger_events():
    from shuzhi.opendata.budget_events import EVENTS as BUDGET
    from shuzhi.opendata.events import EVENTS as RELEASES

    return [*RELEASES, *BUDGET]


@hookimpl
def ledger_state():
    from shuzhi.opendata.state import SOURCE

    return [SOURCE]
