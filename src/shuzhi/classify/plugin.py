"""Built-in hook implementations of grading: every ingested version is classified in its own transaction;
a damaged version raises an alert to the owner's stewards; its API, pages, the grading section of a
dataset's page and its commands; its tables and migrations; the grades the ledger vouches for."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def version_ingested(session, settings, version):
    from shuzhi.classify.grading import classify_version

    classify_version(session, settings, version, fresh=True)


@hookimpl
def version_damaged(session, settings, version):
    from shuzhi.classify.alerts import alert_damaged

    alert_damaged(session, version)


@hookimpl
def register_api_routes():
    from shuzhi.web.api import classify

    return [classify.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import classify

    return [classify.router]


@hookimpl
def dataset_page_sections(request, session, principal, dataset):
    from shuzhi.web.pages.classify import section_html

    return [section_html(request, session, principal, dataset)]


@hookimpl
def register_commands():
    from shuzhi.cli import classify

    return [("classify", classify.classify), ("grade", classify.grade_app)]


@hookimpl
def register_models():
    from shuzhi.classify import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_state():
    from shuzhi.classify.state import SOURCE

    return [SOURCE]


@hookimpl
def ledger_events():
    from shuzhi.classify.events import EVENTS

    return list(EVENTS)


@hookimpl
def settings_sections():
    from shuzhi.classify.settings import SECTIONS

    return SECTIONS


@hookimpl
def sensitive_columns(session, settings, dataset):
    from shuzhi.classify.readmodel import sensitive_columns as graded_sensitive

    return graded_sensitive(session, settings, dataset)
