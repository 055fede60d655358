"""Built-in hook implementations of the exchange: its API, pages and commands, its tables and
migrations, and the grants the ledger vouches for."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import exchange

    return [exchange.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import exchange

    return [exchange.router]


@hookimpl
def register_commands():
    from shuzhi.cli import exchange

    return [("exchange", exchange.app)]


@hookimpl
def register_models():
    from shuzhi.exchange import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_state():
    from shuzhi.exchange.state import SOURCE

    return [SOURCE]
