"""Built-in hook implementations of open data: releases, differentially private statistics, DCAT
exports and the CKAN-compatible API (their API, pages and commands), their tables, migrations, settings, audit events and ledger state."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import N_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import opendata, opendata_applications, opendata_stats

    return [opendata.router, opendata_stats.router, opendata_applications.router]


@hookimpl
def register_page_routes():
    # The DCAT exports and the CKAN-compatible Action API (/api/3/action/…, /api/action/…, CKAN's
    # resource download paths) answer at the site's root, not under /api/v1.
    # The public portal (/open, /sitemap.xml, /robots.txt) is a face of the same published data;
    # its own accounts (/open/register, /open/login, /open/account, /open/dataset/…/apply) and the
    # departments' page of applications serve conditional data's applicants.
    from shuzhi.web import dcat, portal_account
    from shuzhi.web.ckan import router as ckan
    from shuzhi.web.pages import opendata_applications
    from shuzhi.web.portal import routes as portal

    return [dcat.router, ckan.router, portal.router, portal_account.router, opendata_applications.router]


@hookimpl
def register_commands():
    from shuzhi.cli import opendata

    return [("opendata", opendata.app)]


@hookimpl
def register_models():
    from shuzhi.opendata import application_models, budget_models, models, usage_models

    return [models, budget_models, usage_models, application_models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def settings_sections():
    from shuzhi.opendata import budget_settings, ckan_settings
    from shuzhi.opendata.dcat import settings as dcat_settings

    return {**budget_settings.SECTIONS, **dcat_settings.SECTIONS, **ckan_settings.SECTIONS}


@hookimpl
def ledger_events():
    from shuzhi.opendata.application_events import EVENTS as APPLICATIONS
    from shuzhi.opendata.budget_events import EVENTS as BUDGET
    from shuzhi.opendata.events import EVENTS as RELEASES
    from shuzhi.opendata.usage_events import EVENTS as USAGE

    return [*RELEASES, *BUDGET, *USAGE, *APPLICATIONS]


@hookimpl
def ledger_state():
    from shuzhi.opendata.state import SOURCE

    return [SOURCE]


@hookimpl
def menu_links(principal):
    if not principal.has("steward", "admin"):
        return []
    return [
        MenuLink(
            "sharing", 33, "/opendata/applications", N_("Open-data applications"), "nav-open-applications"
        )
    ]
