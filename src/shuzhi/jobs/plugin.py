"""Built-in hook implementations of the job platform: its table and its read-only API."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import jobs

    return [jobs.router]


@hookimpl
def register_models():
    from shuzhi.jobs import models

    return [models]


@hookimpl
def settings_sections():
    from shuzhi.jobs.settings import SECTIONS

    return SECTIONS
