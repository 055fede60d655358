"""Built-in hook implementations of the catalog: its API, the portal's pages, the `dataset` commands,
its tables and vocabularies, and the dataset ownership, share types and version hashes the ledger
vouches for."""

from __future__ import annotations

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import M_, N_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import catalog

    return [catalog.router]


@hookimpl
def register_page_routes():
    # The portal's home, sign-in, catalog, dataset and department pages.
    from shuzhi.web.pages import core

    return [core.router]


@hookimpl
def register_commands():
    from shuzhi.cli import catalog

    return [("dataset", catalog.app)]


@hookimpl
def register_models():
    from shuzhi.catalog import models

    return [models]


@hookimpl
def store_upgraded(session):
    from shuzhi.catalog.vocab import seed_vocabularies

    seed_vocabularies(session)


@hookimpl
def ledger_state():
    from shuzhi.catalog.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.catalog.events import EVENTS

    return list(EVENTS)


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    # Local: the dictionaries load into the process that answers searches.
    return [
        Job(
            name="catalog.warm_search",
            func="shuzhi.catalog.jobs:warm_search",
            at_start=True,
            local=True,
            time_limit_s=120,
            title=M_("load the search dictionaries before the first search"),
        )
    ]


@hookimpl
def menu_links(principal):
    return [MenuLink(None, 10, "/catalog", N_("Catalog"))]
