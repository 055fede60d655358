"""Extension points (pluggy): built-in behaviour registers through the same hooks as plugins."""

from __future__ import annotations

from functools import lru_cache

import pluggy

hookspec = pluggy.HookspecMarker("shuzhi")
hookimpl = pluggy.HookimplMarker("shuzhi")

BUILTIN_PLUGINS: list[str] = [
    "shuzhi.catalog.plugin",
    "shuzhi.classify.plugin",
    "shuzhi.orgs.plugin",
    "shuzhi.exchange.plugin",
    "shuzhi.ingest.plugin",
]
"""Modules of built-in hook implementations, registered exactly as a plugin would be."""


class CoreSpecs:
    @hookspec
    def version_ingested(self, session, settings, version):
        """A dataset version was written and is about to be committed (same transaction)."""

    @hookspec
    def version_damaged(self, session, settings, version):
        """A version's file was found damaged and the version marked so (`version.damage` says how),
        in the caller's transaction: tell whoever must act on it."""

    @hookspec
    def dataset_page_sections(self, request, session, principal, dataset):
        """HTML fragments (a list of str) to show on a dataset's page, e.g. grading or sharing."""

    @hookspec
    def classify_detectors(self, settings):
        """Extra column detectors (a list of shuzhi.classify.detectors.Detector) from a plugin."""

    @hookspec
    def ledger_events(self):
        """Audit event types a domain writes (a list of classes declared with
        shuzhi.ledger.events.event): their names, fields and labels, listed on the audit pages."""

    @hookspec
    def ledger_state(self):
        """Security state the ledger vouches for (a list of shuzhi.ledger.reconcile.StateSource): the
        events that change it, how they replay into rows and how the tables are read. `shuzhi audit
        verify` reports every row that differs."""


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("shuzhi")
    pm.add_hookspecs(CoreSpecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints("shuzhi")
    return pm
