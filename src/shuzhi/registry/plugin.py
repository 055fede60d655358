"""Built-in hook implementations of the base registries: their tables, migrations, audit events and commands."""

from __future__ import annotations

from pathlib import Path

from shuzhi.hooks import hookimpl


@hookimpl
def register_models():
    from shuzhi.registry import models

    return [models]


@hookimpl
def migration_locations():
    return [Path(__file__).parent / "migrations"]


@hookimpl
def ledger_events():
    from shuzhi.registry.events import EVENTS

    return list(EVENTS)


@hookimpl
def register_commands():
    from shuzhi.cli import registry

    return [("registry", registry.app)]
