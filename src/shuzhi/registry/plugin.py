"""Built-in hook implementations of the base registries: their tables and migrations."""

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
