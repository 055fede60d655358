"""Built-in hook implementations of the notification centre: its pages (home, notifications) and
API, its table and migrations, its settings, its jobs, and its reaction to the ledger's events."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl
from shuzhi.i18n import M_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import notify

    return [notify.router]


@hookimpl
def register_page_routes():
    from shuzhi.web.pages import notify

    return [notify.router]


@hookimpl
def register_models():
    from shuzhi.notify import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def settings_sections():
    from shuzhi.notify.settings import SECTIONS

    return SECTIONS


@hookimpl
def ledger_appended(session, record):
    from shuzhi.notify.feed import on_ledger_event

    on_ledger_event(session, record)


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="notify.scan",
            func="shuzhi.notify.jobs:scan",
            every=lambda settings: settings.notify.scan_interval_s,
            retries=2,
            time_limit_s=300,
            title=M_("notify of deadlines, expiring grants, grading alerts"),
        ),
        Job(
            name="notify.send_mail",
            func="shuzhi.notify.jobs:send_mail",
            every=lambda settings: settings.notify.mail_interval_s,
            retries=1,
            time_limit_s=600,
            title=M_("send notification e-mail"),
        ),
    ]
