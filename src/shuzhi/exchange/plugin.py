"""Built-in hook implementations of the exchange: its API, pages and commands, its tables and
migrations, the grants the ledger vouches for, and its jobs (grant expiry, query-worker warm-up)."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import M_, N_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import exchange

    return [exchange.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import exchange, workbench

    return [exchange.router, workbench.router]


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


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="exchange.expire_grants",
            func="shuzhi.exchange.jobs:expire_grants",
            every=lambda settings: settings.exchange.expire_interval_s,
            retries=2,
            time_limit_s=300,
            title=M_("end requests whose grants ran out"),
        ),
        # Local: it warms the query workers of the process that serves queries.
        Job(
            name="exchange.warm_query_workers",
            func="shuzhi.exchange.jobs:warm_query_workers",
            at_start=True,
            local=True,
            time_limit_s=120,
            title=M_("start a query worker ahead of the first query"),
        ),
    ]


@hookimpl
def ledger_events():
    from shuzhi.exchange.events import EVENTS

    return list(EVENTS)


@hookimpl
def settings_sections():
    from shuzhi.exchange.settings import SECTIONS

    return SECTIONS


@hookimpl
def dataset_page_actions(request, session, principal, dataset):
    from shuzhi.web.pages.exchange import dataset_actions

    return dataset_actions(request, principal, dataset)


@hookimpl
def dataset_page_sections(request, session, principal, dataset):
    from shuzhi.web.pages.exchange import dataset_rows_section

    return [dataset_rows_section(request, session, principal, dataset)]


@hookimpl
def supervision_figures(session, settings, since, today):
    from shuzhi.exchange.share_requests import answers_by_department

    return answers_by_department(session, since, today)


@hookimpl
def menu_links(principal):
    links = [
        MenuLink("sharing", 30, "/exchange", N_("Sharing exchange")),
        MenuLink("sharing", 31, "/exchange/grants", N_("My grants")),
    ]
    if principal.has("steward", "admin"):
        links.append(MenuLink("sharing", 32, "/exchange/inbox", N_("Inbox")))
    return links
