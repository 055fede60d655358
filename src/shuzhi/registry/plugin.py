"""Built-in hook implementations of the base registries: their tables, migrations, audit events and faces."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import N_


@hookimpl
def register_models():
    from shuzhi.registry import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.registry.events import EVENTS
    from shuzhi.registry.profile_events import EVENTS as PROFILE_EVENTS

    return list(EVENTS) + list(PROFILE_EVENTS)


@hookimpl
def register_commands():
    from shuzhi.cli import registry

    return [("registry", registry.app)]


@hookimpl
def register_api_routes():
    from shuzhi.web.api import registry

    return [registry.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import registry

    return [registry.router]


@hookimpl
def menu_links(principal):
    return [MenuLink(None, 15, "/registry", N_("Registries"), "nav-registries")]
