"""Built-in hook implementations of data quality: every ingested version is checked after its
grading; the built-in rule kinds, its API and commands, the quality section of a dataset's page and
its forms, its tables, migrations and audit events."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl(trylast=True)
def version_ingested(session, settings, version):
    # After grading (trylast): a run masks its samples by the grades the version was just given.
    from shuzhi.quality.service import run_on_ingest

    run_on_ingest(session, settings, version)


@hookimpl
def quality_rule_kinds():
    from shuzhi.quality.kinds import KINDS

    return list(KINDS)


@hookimpl
def register_api_routes():
    from shuzhi.web.api import quality

    return [quality.router]


@hookimpl
def register_commands():
    from shuzhi.cli import quality

    return [("quality", quality.app)]


@hookimpl
def register_models():
    from shuzhi.quality import models, proposal_models

    return [models, proposal_models]


@hookimpl
def settings_sections():
    from shuzhi.quality.proposal_settings import SECTIONS

    return SECTIONS


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.quality.events import EVENTS

    return list(EVENTS)


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import quality

    return [quality.router]


@hookimpl
def dataset_page_sections(request, session, principal, dataset):
    from shuzhi.web.pages.quality import section_html

    return [section_html(request, session, principal, dataset)]
