"""The notes domain's hook implementations: everything it adds to the platform."""

from __future__ import annotations

from pydantic import BaseModel

from shuzhi.hooks import MenuLink, hookimpl


class NotesSettings(BaseModel):
    max_length: int = 200


@hookimpl
def register_api_routes():
    from tests.plugin_domain.faces import api

    return [api]


@hookimpl
def register_page_routes():
    from tests.plugin_domain.faces import pages

    return [pages]


@hookimpl
def register_commands():
    from tests.plugin_domain.faces import notes

    return [("notes", notes)]


@hookimpl
def register_models():
    from tests.plugin_domain import models

    return [models]


@hookimpl
def ledger_events():
    from tests.plugin_domain.events import NoteAdded

    return [NoteAdded]


@hookimpl
def settings_sections():
    return {"notes": NotesSettings}


@hookimpl
def menu_links(principal):
    return [MenuLink("supervision", 45, "/notes", "Notes", "nav-notes")]
