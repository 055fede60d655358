"""Built-in hook implementations of orgs: departments, users and tokens (API and CLI), their tables and
migrations, and the users, roles, tokens and sessions the ledger vouches for."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import N_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import orgs

    return [orgs.router]


@hookimpl
def register_page_routes():
    # Administration: departments, users, one's own API tokens, dataset registration and upload.
    from shuzhi.web.pages import admin

    return [admin.router]


@hookimpl
def register_commands():
    from shuzhi.cli import orgs

    return [("dept", orgs.dept_app), ("user", orgs.user_app), ("token", orgs.token_app)]


@hookimpl
def register_models():
    from shuzhi.orgs import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_state():
    from shuzhi.orgs.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.orgs.events import EVENTS

    return list(EVENTS)


@hookimpl
def settings_sections():
    from shuzhi.orgs.settings import SECTIONS

    return SECTIONS


@hookimpl
def menu_links(principal):
    links = []
    if principal.department_code:
        links.append(MenuLink(None, 80, f"/departments/{principal.department_code}", N_("My department")))
    if principal.has("admin", "steward"):
        links.append(MenuLink(None, 90, "/admin", N_("Admin"), "nav-admin"))
    return links
