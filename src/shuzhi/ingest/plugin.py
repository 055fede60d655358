"""Built-in hook implementations of ingest: the upload API and the `ingest` and `verify-data` commands."""

from __future__ import annotations

from shuzhi.hooks import hookimpl


@hookimpl
def register_api_routes():
    from shuzhi.web.api import ingest

    return [ingest.router]


@hookimpl
def register_commands():
    from shuzhi.cli import ingest

    return [("ingest", ingest.ingest), ("verify-data", ingest.verify_data)]
