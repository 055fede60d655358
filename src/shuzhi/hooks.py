"""Extension points (pluggy): built-in behaviour registers through the same hooks as plugins."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import pluggy

hookspec = pluggy.HookspecMarker("shuzhi")
hookimpl = pluggy.HookimplMarker("shuzhi")

BUILTIN_PLUGINS: list[str] = [
    "shuzhi.orgs.plugin",
    "shuzhi.catalog.plugin",
    "shuzhi.ingest.plugin",
    "shuzhi.ledger.plugin",
    "shuzhi.classify.plugin",
    "shuzhi.quality.plugin",
    "shuzhi.exchange.plugin",
    "shuzhi.opendata.plugin",
    "shuzhi.registry.plugin",
    "shuzhi.jobs.plugin",
    "shuzhi.operations.plugin",
    "shuzhi.notify.plugin",
]
"""The built-in domains: each one's plugin module, registered exactly as a plugin would be. Their
order is the order of their routes, commands and sections (`collect`)."""


class MenuLink(NamedTuple):
    """A link of the pages' header (`menu_links`)."""

    menu: str | None
    """The menu it stands in ("sharing", "supervision"), or None: a link of its own in the header."""
    order: int
    """Its place: the header's links and menus, and a menu's links, go in this order (Home is 0)."""
    href: str
    label: str
    """A catalog message (marked with `N_`): shown in the viewer's language."""
    id: str | None = None
    """The element's id, for tests and styles."""


class CoreSpecs:
    @hookspec
    def version_ingested(self, session, settings, version):
        """A dataset version was written and is about to be committed (same transaction)."""

    @hookspec
    def version_damaged(self, session, settings, version):
        """A version's file was found damaged and the version marked so (`version.damage` says how),
        in the caller's transaction: tell whoever must act on it."""

    @hookspec
    def dataset_page_actions(self, request, session, principal, dataset):
        """Links (a list of HTML fragments) for the actions this viewer may take on a dataset, shown
        under its title, e.g. asking for access."""

    @hookspec
    def dataset_page_sections(self, request, session, principal, dataset):
        """HTML fragments (a list of str) to show on a dataset's page, e.g. grading or sharing."""

    @hookspec
    def sensitive_columns(self, session, settings, dataset):
        """Field names of a dataset whose values are sensitive (graded L3 or above): their values
        in profiles are held back until someone who may see them asks, audited."""

    @hookspec
    def classify_detectors(self, settings):
        """Extra column detectors (a list of shuzhi.classify.detectors.Detector) from a plugin."""

    @hookspec
    def quality_rule_kinds(self):
        """Data-quality rule kinds (a list of shuzhi.quality.kinds.RuleKind instances): each compiles
        its rules to SQL over a version's rows. The built-in kinds register through this hook too."""

    @hookspec
    def ledger_events(self):
        """Audit event types a domain writes (a list of classes declared with
        shuzhi.ledger.events.event): their names, fields and labels, listed on the audit pages."""

    @hookspec
    def ledger_appended(self, session, record):
        """An audit event (`record`, a declared event) was appended to the ledger, in the caller's
        transaction: react to it in the same commit (e.g. notify someone), so a reaction is never
        missed nor made for an action that rolled back. Keep it quick: appends are a hot path."""

    @hookspec
    def ledger_state(self):
        """Security state the ledger vouches for (a list of shuzhi.ledger.reconcile.StateSource): the
        events that change it, how they replay into rows and how the tables are read. `shuzhi audit
        verify` reports every row that differs."""

    @hookspec
    def supervision_figures(self, session, settings, since, today):
        """Per-department figures a domain adds to the provider supervision of data quality: a mapping
        department id → {figure name: number} over the window from `since` (a datetime) to `today`.
        The exchange answers with share requests answered after their deadline."""

    @hookspec
    def register_jobs(self):
        """Background jobs of a domain (a list of shuzhi.jobs.Job): name, "module:function", period,
        retries, time limit. The runners (in-process, or `shuzhi worker` on the broker) run them."""


class DomainSpecs:
    """What a domain contributes to the faces and the store. Each returns a list (or a mapping), so a
    domain takes part by implementing only the hooks it needs; `collect` gathers them in order."""

    @hookspec
    def register_api_routes(self):
        """API routers (a list of fastapi.APIRouter), mounted under /api/v1."""

    @hookspec
    def menu_links(self, principal):
        """Links of the pages' header for a signed-in `principal`: a list of `MenuLink`, only those
        `principal` may follow."""

    @hookspec
    def register_page_routes(self):
        """HTML page routers (a list of fastapi.APIRouter), mounted at the site's root."""

    @hookspec
    def register_commands(self):
        """CLI commands: a list of (name, command), the command a function (one command) or a
        typer.Typer (a group of sub-commands)."""

    @hookspec
    def register_models(self):
        """Modules declaring tables on shuzhi.store.Base (a list), imported so the metadata has them."""

    @hookspec
    def migration_locations(self):
        """Directories of Alembic revision files (a list of paths): the domain's own migration branch."""

    @hookspec
    def store_upgraded(self, session):
        """Every migration is applied: refresh what this release ships (e.g. controlled vocabularies),
        in the same write transaction."""

    @hookspec
    def settings_sections(self):
        """Settings sections the domain adds (a mapping of section name to a pydantic model whose
        fields all have defaults); read as `settings.<name>`, from SHUZHI_<NAME>__<FIELD> or the
        `[<name>]` table of the TOML file."""


def collect(hook: str, **kwargs) -> list:
    """One list from a hook whose implementations each return a list, in registration order
    (built-in domains first, in `BUILTIN_PLUGINS` order, then installed plugins)."""
    found = getattr(plugin_manager().hook, hook)(**kwargs)
    return [item for part in reversed(found) for item in part]


@lru_cache(maxsize=1)
def plugin_manager() -> pluggy.PluginManager:
    import importlib

    pm = pluggy.PluginManager("shuzhi")
    pm.add_hookspecs(CoreSpecs)
    pm.add_hookspecs(DomainSpecs)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints("shuzhi")
    return pm
