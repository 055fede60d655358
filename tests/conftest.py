"""Shared fixtures: settings in a temporary data directory, migrated databases on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import quote

# pytest-xdist's workers inherit COLUMNS=80 from the controller, and a Rich console takes its width
# from COLUMNS once, when made: unset, each test's own COLUMNS applies, as in a run of one process.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

import pytest  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402
from sqlalchemy import create_engine, make_url, text

from shuzhi.config import Settings
from shuzhi.orgs import service as orgs
from shuzhi.store.db import Database

# Argon2 at the platform's cost takes 0.13-0.15 s a hash, a third of a typical test's time (its users
# made, its logins checked). In the tests' own process passwords are hashed by the same algorithm at its
# least cost; a hash carries its parameters, so every hash verifies either way, and a login with a hash
# of other parameters is rehashed as in production (tests/security/test_f1_verify_reconciles_state.py).
PLATFORM_HASHER = orgs._hasher
orgs._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_URL = os.environ.get("SHUZHI_TEST_PG_URL")
PG_SKIP = "SHUZHI_TEST_PG_URL is not set: PostgreSQL runs skipped (CI sets it; e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""For a test whose subject the store's kind does not change: its fixtures (`settings`, `db`, `app`…)
on SQLite only, where `backend` would otherwise run it on each store."""

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def no_language_chosen(monkeypatch) -> None:
    """The command line speaks both languages unless a test chooses one, whatever the locale of the
    machine that runs the tests (shuzhi.cli.lang)."""
    for name in ("SHUZHI_LANG", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def login(client, username: str, *, next: str = "/catalog") -> None:
    """Log in on a fresh cookie jar as a browser does: load the form (it sets the login_csrf cookie), post it
    back; the login must succeed."""
    client.cookies.clear()
    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "next": next, "login_csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def browser_login(page, base: str, username: str, next_path: str) -> None:
    """Log in through the login page in Chromium, on fresh cookies, and wait to land on `next_path`."""
    page.context.clear_cookies()
    page.goto(f"{base}/login?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_path}")


def pg_schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options={quote(f'-csearch_path={schema}')}"


class PgSchema:
    """A throwaway schema in the test database, so each test starts from an empty store."""

    def __init__(self) -> None:
        self.name = f"t_{uuid.uuid4().hex[:12]}"
        self.admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{self.name}"'))
        self.url = pg_schema_url(self.name)

    def drop(self) -> None:
        with self.admin.connect() as c:
            c.execute(text(f'DROP SCHEMA "{self.name}" CASCADE'))
        self.admin.dispose()


def make_db_url(backend: str, tmp_path) -> tuple[str, Callable[[], None]]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}", lambda: None
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = PgSchema()
    return schema.url, schema.drop


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(tmp_path, backend) -> Iterator[Settings]:
    url, cleanup = make_db_url(backend, tmp_path)
    s = Settings(data_dir=tmp_path / "data", database_url=url, secret_key="test-secret")
    # No background work mid-test (it would add transactions and entries to what tests count):
    # the start-up jobs run, the periodic ones are tested where they are the subject.
    s.jobs.heartbeat_s = 3600.0
    s.exchange.expire_interval_s = 0
    s.ingest.sweep_interval_s = 0
    s.ingest.verify_interval_s = 0
    s.notify.scan_interval_s = 0
    s.notify.mail_interval_s = 0
    s.ensure_dirs()
    yield s
    cleanup()


class StoreTemplate:
    """A store migrated once per test process and backend, copied into each test's empty store.

    Migrating runs every revision of every domain (about 2 s on PostgreSQL, 0.3 s on SQLite); a copy
    takes milliseconds. A copy is the migrated store exactly, but for the one value a store must not
    share with another: the listing token, which process-wide caches key on (opendata_0003).
    """

    def __init__(self, tmp_dir) -> None:
        self.tmp_dir = tmp_dir
        self._sqlite: str | None = None
        self._pg: str | None = None

    def fill(self, database: Database) -> None:
        """Bring the empty store `database` to the migrated state, then let `upgrade()` confirm it."""
        if database.dialect == "sqlite":
            self._copy_sqlite(database.url.database)
        elif self._pg_script():
            import psycopg

            # Its own connection: the dump empties the search path of the session that replays it.
            with psycopg.connect(_libpq(PG_URL)) as conn:
                conn.execute(self._pg_script().replace(self._pg_token, _schema_of(database)))
        database.upgrade()  # nothing to apply on a copy: refreshes what the domains ship, as at start-up
        with database.write() as s:
            s.execute(text("UPDATE opendata_listing_version SET token = :t"), {"t": secrets.token_hex(16)})

    def _copy_sqlite(self, target: str) -> None:
        if self._sqlite is None:
            self._sqlite = str(self.tmp_dir / "template.db")
            migrated = Database(f"sqlite:///{self._sqlite}")
            migrated.upgrade()
            migrated.dispose()
        with sqlite3.connect(self._sqlite) as src, sqlite3.connect(target) as dst:
            src.backup(dst)

    _pg_token = f"tmpl_{uuid.uuid4().hex[:12]}"

    def _pg_script(self) -> str:
        """The migrated template schema as SQL (pg_dump), its schema name to be replaced by the test's."""
        if self._pg is None:
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{self._pg_token}"'))
            try:
                migrated = Database(pg_schema_url(self._pg_token))
                migrated.upgrade()
                migrated.dispose()
                dump = _pg_dump(self._pg_token)
            finally:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{self._pg_token}" CASCADE'))
                admin.dispose()
            # psql's meta-commands (\restrict) and the schema itself (the test made its own) are left out.
            self._pg = "\n".join(ln for ln in dump.splitlines() if not ln.startswith(("\\", "CREATE SCHEMA")))
        return self._pg


def _pg_dump(schema: str) -> str:
    """The schema as SQL; empty without pg_dump or with one that refuses this server's version (each
    test then migrates its own schema)."""
    if not shutil.which("pg_dump"):
        return ""
    args = ["pg_dump", "--no-owner", "--no-privileges", "--inserts", "-n", schema, _libpq(PG_URL)]
    done = subprocess.run(args, capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _schema_of(database: Database) -> str:
    return re.search(r"search_path=(\w+)", database.url.query["options"]).group(1)


@pytest.fixture(scope="session")
def store_template(tmp_path_factory) -> StoreTemplate:
    return StoreTemplate(tmp_path_factory.mktemp("store-template"))


@pytest.fixture
def db(settings, store_template) -> Iterator[Database]:
    database = Database(settings.db_url)
    store_template.fill(database)
    yield database
    database.dispose()


@pytest.fixture
def cli_env(settings, monkeypatch) -> Settings:
    """The CLI (which reads its settings from the environment) opens the test's own store."""
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SHUZHI_DATABASE_URL", settings.db_url)
    monkeypatch.setenv("SHUZHI_SECRET_KEY", "test-secret")
    return settings


@pytest.fixture
def sqlite_settings(tmp_path) -> Settings:
    s = Settings(
        data_dir=tmp_path / "data", database_url=f"sqlite:///{tmp_path / 'meta.db'}", secret_key="test-secret"
    )
    s.ensure_dirs()
    return s


@pytest.fixture
def sqlite_db(sqlite_settings, store_template) -> Iterator[Database]:
    database = Database(sqlite_settings.db_url)
    store_template.fill(database)
    yield database
    database.dispose()


@pytest.fixture
def make_user(db) -> Callable[..., orgs.Principal]:
    """Create (department if needed and) a user; returns their Principal. Password: PASSWORD."""

    def _make(username: str, dept: str = "GA", roles: tuple[str, ...] = ("analyst",), **kw) -> orgs.Principal:
        with db.transaction() as s:
            try:
                orgs.get_department(s, dept)
            except Exception:
                orgs.create_department(s, code=dept, name_zh=kw.pop("dept_name", f"部门{dept}"))
            user = orgs.create_user(
                s,
                username=username,
                password=PASSWORD,
                department_code=dept,
                roles=list(roles),
                display_name=kw.get("display_name"),
            )
            return orgs.Principal.of(user)

    return _make


@pytest.fixture
def app(settings, db):
    from shuzhi.web.app import create_app

    return create_app(settings, db=db)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def token_for(db) -> Callable[[str], dict[str, str]]:
    """Authorization headers carrying a fresh API token of the named user."""

    def _headers(username: str) -> dict[str, str]:
        with db.transaction() as s:
            _, clear = orgs.create_token(s, orgs.get_user(s, username))
        return {"Authorization": f"Bearer {clear}"}

    return _headers


# -- browser tests -----------------------------------------------------------------
CHROMIUM = "/usr/bin/chromium"
BROWSER = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"
    ),
]
"""Marks for a module of browser tests: `pytestmark = BROWSER`."""


@contextlib.contextmanager
def serving(app) -> Iterator[int]:
    """`app` served by uvicorn in a thread on a free loopback port (a real server: real sockets,
    real disconnects); yields the port, stops the server on exit."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_server(sqlite_settings, sqlite_db):
    """The app served by uvicorn on a free loopback port, over the `sqlite_db` store; yields its base URL."""
    from shuzhi.web.app import create_app

    with serving(create_app(sqlite_settings, db=sqlite_db)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, driven by Playwright, launched once per test process (0.5-1 s a launch)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A page of Chromium in a context of its own (its own cookies and storage), with no network
    beyond loopback."""
    context = chromium.new_context(locale="zh-CN")
    yield context.new_page()
    context.close()
