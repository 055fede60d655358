"""Built-in hook implementations of the ledger: the audit API, pages and commands, its tables and
migrations, its signed-tree-head job."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import M_, N_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import audit

    return [audit.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import audit

    return [audit.router]


@hookimpl
def register_commands():
    from shuzhi.cli import audit

    return [("audit", audit.app)]


@hookimpl
def register_models():
    from shuzhi.ledger import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="ledger.sign_tree_head",
            func="shuzhi.ledger.jobs:sign_tree_head",
            every=lambda settings: settings.ledger.sth_interval_s,
            at_start=True,
            retries=2,
            time_limit_s=300,
            title=M_("sign a tree head when due"),
        )
    ]


@hookimpl
def settings_sections():
    from shuzhi.ledger.settings import SECTIONS

    return SECTIONS


@hookimpl
def menu_links(principal):
    if not principal.has("auditor", "admin"):
        return []
    return [MenuLink("supervision", 42, "/audit", N_("Audit"), "nav-audit")]
