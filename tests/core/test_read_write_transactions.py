"""Read and write transactions: reads never wait for the write lock; a governed read writes once, to audit it."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError
from tests.conftest import PASSWORD
from tests.exchange.conftest import granted, world  # noqa: F401 - fixtures used below

from shuzhi.catalog.models import Dataset
from shuzhi.exchange import service, share_requests
from shuzhi.exchange.models import GrantUsage
from shuzhi.ledger.models import LedgerEntry
from shuzhi.orgs.models import Department
from shuzhi.store.db import Database


class Transactions:
    """Counts the read and write transactions a store begins, from the statements it sends."""

    def __init__(self, db: Database):
        self.db, self.begun, self.reads = db, 0, 0
        self.writes_sqlite = 0

    def _begin(self, conn):
        self.begun += 1
        if conn.get_execution_options().get("postgresql_readonly"):  # the driver begins it READ ONLY
            self.reads += 1

    def _statement(self, conn, cursor, statement, *args):
        if statement == "BEGIN IMMEDIATE":
            self.writes_sqlite += 1
        elif statement == "BEGIN DEFERRED":
            self.reads += 1

    @property
    def writes(self) -> int:
        return self.writes_sqlite if self.db.is_sqlite else self.begun - self.reads

    def __enter__(self):
        event.listen(self.db.engine, "begin", self._begin)
        event.listen(self.db.engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *exc):
        event.remove(self.db.engine, "begin", self._begin)
        event.remove(self.db.engine, "before_cursor_execute", self._statement)


@contextmanager
def write_lock_held_elsewhere(db: Database):
    """Another connection takes what writers need: SQLite's one write lock; on PostgreSQL, which has
    no store-wide write lock, the ledger table in a mode that admits reads and no writes."""
    if db.is_sqlite:
        other = sqlite3.connect(db.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
        return
    engine = create_engine(db.url)
    try:
        with engine.connect() as other, other.begin():
            other.execute(text("LOCK TABLE ledger_entries IN EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def ledger_count(db: Database, event_name: str) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.event == event_name))


@pytest.fixture
def api(world, settings, token_for):  # noqa: F811 - the imported fixture
    from shuzhi.web.app import create_app

    app = create_app(settings, db=world.db)
    with TestClient(app) as client:
        assert app.state.jobs.wait_idle()  # the start-up jobs' transactions are not the read's
        yield client, {name: token_for(name) for name in ("ga_analyst", "rs_analyst", "ga_steward")}


def test_catalog_and_governed_reads_proceed_while_the_write_lock_is_held(world, api):  # noqa: F811
    client, h = api
    db = world.db
    reads_before = ledger_count(db, "data.read")
    with write_lock_held_elsewhere(db):
        r = client.get("/api/v1/datasets?q=测试", headers=h["ga_analyst"])
        assert r.status_code == 200 and {d["identifier"] for d in r.json()["results"]} >= {"population"}
        assert client.get("/api/v1/datasets/population", headers=h["ga_analyst"]).status_code == 200
        assert client.get("/api/v1/me", headers=h["ga_analyst"]).json()["username"] == "ga_analyst"
        # The governed read is decided and its rows stream while the lock is held elsewhere...
        read = service.run_sql(
            db, world.settings, world.ga_analyst, "SELECT region_code, income FROM population ORDER BY 1"
        )
        batches = read.batches()
        first = next(batches)
        assert first.num_rows > 0 and first.schema.names == ["region_code", "income"]
        assert ledger_count(db, "data.read") == reads_before
    # ...and only its audit record, written as the stream ends, needs the write lock.
    rest = sum(b.num_rows for b in batches)
    assert first.num_rows + rest == 400
    assert ledger_count(db, "data.read") == reads_before + 1


@pytest.mark.parametrize(
    "call",
    [
        ("get", "/api/v1/exchange/datasets/population/rows?limit=5", None),
        ("get", "/api/v1/exchange/datasets/population/export?format=csv", None),
        ("post", "/api/v1/exchange/sql", {"sql": "SELECT count(*) AS n FROM population"}),
    ],
    ids=["rows", "export", "sql"],
)
def test_a_governed_read_takes_one_write_transaction(world, api, call):  # noqa: F811
    """Before: the caller, the rows channel's field check, the decision and the audit each took one."""
    client, h = api
    method, path, body = call
    with Transactions(world.db) as tx:
        r = client.request(method, path, headers=h["ga_analyst"], json=body)
        assert r.status_code == 200, r.text
    assert tx.writes == 1 and tx.reads >= 2  # the caller and the decision are read transactions
    assert ledger_count(world.db, "data.read") == 1


def test_a_refused_read_takes_one_write_transaction(world, api):  # noqa: F811
    client, h = api
    with Transactions(world.db) as tx:
        r = client.get("/api/v1/exchange/datasets/population/rows", headers=h["rs_analyst"])
        assert r.status_code == 403
    assert tx.writes == 1  # the denial's audit record
    assert ledger_count(world.db, "data.denied") == 1


def test_a_read_under_a_quota_also_writes_its_reservation(world, api, granted):  # noqa: F811
    client, h = api
    with world.db.write() as s:
        share_requests.get_grant(s, granted).rows_per_day = 50
    with Transactions(world.db) as tx:
        r = client.get("/api/v1/exchange/datasets/population/rows?limit=5", headers=h["rs_analyst"])
        assert r.status_code == 200 and len(r.json()["rows"]) == 5
    assert tx.writes == 2  # the quota reservation, then the audit record that settles it
    with world.db.read() as s:
        assert s.scalars(select(GrantUsage.rows).where(GrantUsage.grant_id == granted)).all() == [5]


def test_a_revoked_grant_refused_at_the_reservation(world, granted):  # noqa: F811
    """The quota is counted in a write transaction after the read decision; a grant revoked in
    between is refused there, not read."""
    from shuzhi.errors import Forbidden
    from shuzhi.exchange import decision, quotas

    with world.db.write() as s:
        share_requests.get_grant(s, granted).calls_per_day = 5
    with world.db.read() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        readable = decision.decide(s, world.settings, world.rs_analyst, ds)
    with world.db.write() as s:
        share_requests.revoke_grant(s, world.ga_steward, share_requests.get_grant(s, granted), "收回")
    with pytest.raises(Forbidden, match="revoked"):
        quotas.reserve_quota(world.db, [readable], None)


def test_a_read_transaction_cannot_write(db):
    with pytest.raises(DBAPIError), db.read() as s:
        s.add(Department(code="X", name_zh="某部门"))
        s.flush()
    with db.read() as s:
        assert s.scalar(select(Department).where(Department.code == "X")) is None


def test_a_write_past_the_busy_timeout_is_a_503(sqlite_settings, sqlite_db, tmp_path):
    """A writer that cannot get SQLite's write lock in time gets 503 busy with Retry-After; reads still answer."""
    from shuzhi.orgs import service as orgs
    from shuzhi.web.app import create_app

    with sqlite_db.write() as s:
        orgs.create_department(s, code="SJJ", name_zh="审计局")
        user = orgs.create_user(
            s, username="aud", password=PASSWORD, department_code="SJJ", roles=["auditor"]
        )
        headers = {"Authorization": f"Bearer {orgs.create_token(s, user)[1]}"}
    impatient = Database(sqlite_settings.db_url, busy_timeout_s=0.2)
    try:
        with TestClient(create_app(sqlite_settings, db=impatient)) as client:
            with write_lock_held_elsewhere(impatient):
                r = client.post("/api/v1/audit/sth", headers=headers)
                assert r.status_code == 503
                assert r.json()["error"] == "busy" and "(the database is busy" in r.json()["message"]
                assert r.headers["retry-after"] == "1"
                assert client.get("/api/v1/me", headers=headers).status_code == 200
                assert client.get("/api/v1/audit/entries", headers=headers).status_code == 200
            assert client.post("/api/v1/audit/sth", headers=headers).status_code == 201
    finally:
        impatient.dispose()


def test_every_route_commits_its_write_before_it_answers(app):
    """Every route (pages, API, plugins) that takes the request's write transaction takes it with
    function scope: FastAPI would otherwise commit after the answer was sent."""
    from shuzhi.web.deps import _dependencies, _routes, late_commits, write_session

    writers = [
        route.path
        for route in _routes(app.routes)
        if any(d.call is write_session for d in _dependencies(route.dependant))
    ]
    assert len(writers) >= 20  # the routes that write through it (users, tokens, datasets, the ledger…)
    assert late_commits(app.routes) == []


def test_an_app_with_a_route_that_would_commit_after_its_answer_does_not_start(settings, db):
    """A plugin's route taking write_session with FastAPI's default scope is refused at start,
    named, rather than answering 200 before its commit."""
    from fastapi import APIRouter, Depends

    from shuzhi.hooks import hookimpl, plugin_manager
    from shuzhi.web.app import create_app
    from shuzhi.web.deps import write_session

    router = APIRouter()

    @router.post("/late-notes")
    def add(session=Depends(write_session)) -> dict:  # noqa: B008 - the mistake under test
        return {}

    class LatePlugin:
        @hookimpl
        def register_api_routes(self):
            return [router]

    pm, plugin = plugin_manager(), LatePlugin()
    pm.register(plugin, name="tests.late_plugin")
    try:
        with pytest.raises(ValueError, match=r"deps\.WRITE.*POST /late-notes"):
            create_app(settings, db=db)
    finally:
        pm.unregister(plugin)
    create_app(settings, db=db)  # without it the app starts


def test_a_commit_that_fails_is_not_answered_as_a_success(sqlite_db, live_server, monkeypatch):
    """Against a running server: when the write transaction cannot commit, the caller hears of it
    (and the change is not there), rather than a 200 sent before the commit."""
    import httpx

    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="GA", name_zh="公安局")
        root = orgs.create_user(s, username="root", password=PASSWORD, department_code="GA", roles=["admin"])
        orgs.create_user(s, username="ana", password=PASSWORD, department_code="GA", roles=["analyst"])
        _, token = orgs.create_token(s, root)
    headers = {"Authorization": f"Bearer {token}"}
    real = sqlite_db.write

    @contextmanager
    def refusing():
        with real() as s:
            yield s
            raise RuntimeError("the store refused the commit")  # inside the transaction: it rolls back

    monkeypatch.setattr(sqlite_db, "write", refusing)
    r = httpx.patch(
        f"{live_server}/api/v1/users/ana", headers=headers, json={"roles": ["steward"]}, timeout=30
    )
    monkeypatch.undo()
    assert r.status_code == 500, r.text
    with sqlite_db.read() as s:
        assert set(orgs.get_user(s, "ana").roles) == {"analyst"}
    r = httpx.patch(
        f"{live_server}/api/v1/users/ana", headers=headers, json={"roles": ["steward"]}, timeout=30
    )
    assert r.status_code == 200
    with sqlite_db.read() as s:
        assert set(orgs.get_user(s, "ana").roles) == {"steward"}
