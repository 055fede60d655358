"""Built-in hook implementations of ingest: the upload API, the `ingest` and `verify-data` commands,
the leftover sweep, data verification and upload loading jobs, the dataset page's upload link, the
audit events it writes."""

from __future__ import annotations

from shuzhi.hooks import hookimpl
from shuzhi.i18n import M_


@hookimpl
def register_api_routes():
    from shuzhi.web.api import ingest

    return [ingest.router]


@hookimpl
def register_commands():
    from shuzhi.cli import ingest

    return [("ingest", ingest.ingest), ("verify-data", ingest.verify_data)]


@hookimpl
def register_jobs():
    from shuzhi.jobs import Job

    return [
        Job(
            name="ingest.sweep",
            func="shuzhi.ingest.jobs:sweep",
            every=lambda settings: settings.ingest.sweep_interval_s,
            at_start=True,
            retries=1,
            time_limit_s=1800,
            title=M_("sweep what killed ingests left"),
        ),
        Job(
            name="ingest.verify_data",
            func="shuzhi.ingest.jobs:verify_data",
            every=lambda settings: settings.ingest.verify_interval_s,
            title=M_("re-hash every version file"),
        ),
        Job(
            name="ingest.load_upload",
            func="shuzhi.ingest.jobs:load_upload",
            time_limit_s=3600,
            title=M_("load a file uploaded through the web form"),
        ),
    ]


@hookimpl
def dataset_page_actions(request, session, principal, dataset):
    from shuzhi.web.pages.admin import dataset_actions

    return dataset_actions(request, principal, dataset)


@hookimpl
def ledger_events():
    from shuzhi.ingest.events import EVENTS

    return list(EVENTS)


@hookimpl
def settings_sections():
    from shuzhi.ingest.settings import SECTIONS

    return SECTIONS
