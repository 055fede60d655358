"""Built-in hook implementations of data quality: every ingested version is checked after its
grading, then measured against its history for the alert inbox; the built-in rule kinds, its API,
pages and commands, the quality section of a dataset's page and its forms, its tables, migrations,
settings, audit events and the supervision sweep job."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import MenuLink, hookimpl
from shuzhi.i18n import N_


@hookimpl(trylast=True)
def version_ingested(session, settings, version):
    # After grading (trylast): a run masks its samples by the grades the version was just given.
    from shuzhi.quality import watch
    from shuzhi.quality.service import run_on_ingest

    run = run_on_ingest(session, settings, version)
    watch.on_version(session, settings, version, run)  # metrics, anomalies and alerts, even without rules


@hookimpl
def quality_rule_kinds():
    from shuzhi.quality.kinds import KINDS

    return list(KINDS)


@hookimpl
def register_api_routes():
    from shuzhi.web.api import quality, quality_alerts

    return [quality.router, quality_alerts.router]


@hookimpl
def register_commands():
    from shuzhi.cli import quality, quality_alerts  # noqa: F401 (adds the inbox's commands to the app)

    return [("quality", quality.app)]


@hookimpl
def register_models():
    from shuzhi.quality import alert_models, models, proposal_models

    return [models, proposal_models, alert_models]


@hookimpl
def settings_sections():
    from shuzhi.quality.proposal_settings import SECTIONS as PROPOSALS
    from shuzhi.quality.settings import SECTIONS

    return {**PROPOSALS, **SECTIONS}


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.quality.alert_events import EVENTS as ALERT_EVENTS
    from shuzhi.quality.events import EVENTS

    return list(EVENTS) + list(ALERT_EVENTS)


@hookimpl
def ledger_state():
    from shuzhi.quality.state import SOURCE

    return [SOURCE]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import quality, quality_alerts

    return [quality.router, quality_alerts.router]


@hookimpl
def dataset_page_sections(request, session, principal, dataset):
    from shuzhi.web.pages.quality import section_html

    return [section_html(request, session, principal, dataset)]


@hookimpl
def register_jobs():
    from shuzhi.i18n import M_
    from shuzhi.jobs import Job

    return [
        Job(
            name="quality.sweep",
            func="shuzhi.quality.supervision:sweep_job",
            every=lambda settings: settings.quality.sweep_interval_s,
            retries=1,
            time_limit_s=600,
            title=M_("supervise data providers: late updates, answers past deadline, low scores"),
        )
    ]


@hookimpl
def menu_links(principal):
    if not principal.has("steward", "auditor", "admin"):
        return []
    return [
        MenuLink("supervision", 40, "/quality/alerts", N_("Quality alerts"), "nav-quality"),
        MenuLink("supervision", 41, "/quality/scorecard", N_("Department scorecard"), "nav-scorecard"),
    ]
