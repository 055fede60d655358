"""A domain is one package registered through the hooks: a small one from tests/ shows its API route,
page, command, table, ledger event type and settings section appear, with no central file edited."""

from __future__ import annotations

import pytest
import typer.main
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select
from tests.conftest import PASSWORD, login
from tests.plugin_domain import plugin
from typer.testing import CliRunner

from shuzhi.config import load_settings
from shuzhi.hooks import collect, plugin_manager
from shuzhi.ledger.models import LedgerEntry
from shuzhi.orgs import service as orgs
from shuzhi.store import Base, Database
from shuzhi.store.models import all_metadata
from shuzhi.web.app import create_app, route_table


def _commands() -> set[str]:
    from shuzhi.cli import build_app

    return set(typer.main.get_command(build_app()).commands)


def _app_routes(settings, db) -> set[tuple[str, str]]:
    return set(route_table(create_app(settings, db=db)))


@pytest.fixture(scope="module")
def notes_domain():
    pm = plugin_manager()
    assert "notes" not in _commands()
    assert "note.added" not in _event_names()
    pm.register(plugin, name="tests.plugin_domain.plugin")
    yield plugin
    pm.unregister(plugin)
    # The table leaves the shared metadata with its domain (the migration checks compare it).
    table = Base.metadata.tables.get("plugin_notes")
    if table is not None:
        Base.metadata.remove(table)


@pytest.fixture
def notes_store(notes_domain, tmp_path, monkeypatch):
    monkeypatch.setenv("SHUZHI_NOTES__MAX_LENGTH", "12")
    settings = load_settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'meta.db'}", secret_key="test-secret"
    )
    settings.ensure_dirs()
    db = Database(settings.db_url)
    db.upgrade()
    yield settings, db
    db.dispose()


def test_route_page_table_event_and_settings_of_a_registered_domain(notes_store):
    settings, db = notes_store
    assert settings.notes.max_length == 12  # its settings section, read from the environment

    assert "plugin_notes" in all_metadata().tables
    assert "plugin_notes" not in inspect(db.engine).get_table_names()  # no migration of its own
    all_metadata().create_all(db.engine)
    assert "plugin_notes" in inspect(db.engine).get_table_names()

    assert {("POST", "/api/v1/notes"), ("GET", "/api/v1/notes"), ("GET", "/notes")} <= _app_routes(
        settings, db
    )
    assert "note.added" in _event_names()

    with db.write() as s:
        orgs.create_department(s, code="GA", name_zh="公安局")
        user = orgs.create_user(s, username="ann", password=PASSWORD, department_code="GA", roles=["analyst"])
        _, token = orgs.create_token(s, user)
    auth = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app(settings, db=db)) as client:
        assert client.post("/api/v1/notes", json={"text": "hello"}, headers=auth).status_code == 201
        too_long = client.post("/api/v1/notes", json={"text": "x" * 13}, headers=auth)
        assert too_long.status_code == 422 and too_long.json()["where"] == "text"
        assert client.get("/api/v1/notes", headers=auth).json() == ["hello"]
        assert client.get("/api/v1/notes").status_code == 401
        assert "/api/v1/notes" in client.get("/api/v1/openapi.json").json()["paths"]
        page = client.get("/notes")
        assert page.status_code == 200 and "Notes" in page.text
        client.cookies.clear()
        login(client, "ann")
        header = client.get("/catalog").text.split("</nav>")[0]
        # its link in the header; the analyst's supervision menu would hold it alone: shown as the link
        assert '<a href="/notes" id="nav-notes">Notes</a>' in header and 'id="menu-supervision"' not in header
    with db.read() as s:
        assert "note.added" in set(s.scalars(select(LedgerEntry.event)))


def test_command_of_a_registered_domain(notes_domain):
    from shuzhi.cli import build_app

    assert "notes" in _commands()
    result = CliRunner().invoke(build_app(), ["notes", "on the hook"])
    assert result.exit_code == 0 and "note: on the hook" in result.output


def test_built_in_domains_register_through_the_same_hooks():
    """The faces and the store gather every built-in domain from the hooks alone."""
    commands = _commands()
    assert {"ingest", "verify-data", "dataset", "classify", "grade", "dept", "user", "token"} <= commands
    assert {"audit", "exchange"} <= commands
    tables = all_metadata().tables
    assert {"datasets", "exchange_grants", "ledger_entries", "users", "classify_alerts"} <= set(tables)


def _event_names() -> set[str]:
    return {record.TYPE.name for record in collect("ledger_events")}


def test_built_in_settings_sections_come_from_their_domains():
    """The core settings declare no domain's section: each built-in one arrives through its domain's
    `settings_sections` hook, and `Settings(...)` is built with all of them."""
    from shuzhi.config import Settings

    sections: dict = {}
    for found in plugin_manager().hook.settings_sections():
        sections.update(found)
    built_in = {"ingest", "classify", "exchange", "ledger", "jobs", "auth"}
    assert built_in <= set(sections)
    assert not built_in & set(Settings.model_fields)  # the core class itself has none of them
    for name in built_in:
        assert sections[name].__module__.endswith(".settings")
        assert not sections[name].__module__.startswith("shuzhi.config")
    settings = Settings(exchange={"query_workers": 3})
    assert settings.exchange.query_workers == 3 and settings.jobs.runner == "inprocess"
    assert isinstance(settings, Settings) and built_in <= set(type(settings).model_fields)
