"""Built-in hook implementations of open data: its API and commands, its table and migrations, its events."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import opendata

    return [opendata.router]


@hookimpl
def register_page_routes():
    # The CKAN-compatible Action API answers at the site's root (/api/3/action/…, /api/action/…,
    # and CKAN's resource download paths), not under /api/v1: its routes are JSON, mounted here.
    from shuzhi.web.ckan import router

    return [router.router]


@hookimpl
def settings_sections():
    from shuzhi.opendata.settings import SECTIONS

    return SECTIONS


@hookimpl
def register_commands():
    from shuzhi.cli import opendata

    return [("opendata", opendata.app)]


@hookimpl
def register_models():
    from shuzhi.opendata import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.opendata.events import EVENTS

    return list(EVENTS)


@hookimpl
def ledger_state():
    from shuzhi.opendata.state import SOURCE

    return [SOURCE]
