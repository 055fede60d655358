"""Server-side failures are answered as failures: 5xx (503 where retrying may help) in the app's JSON
shape, never with a server path; probes say whether the process is alive and ready."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from tests.exchange.conftest import World
from tests.exchange.conftest import world as world  # noqa: F401 - the fixture, used by name

from shuzhi.engine.interface import engine_for


def _no_server_path(r, settings) -> None:
    assert str(settings.data_dir) not in r.text and str(settings.data_dir.resolve()) not in r.text
    assert "/versions/" not in r.text and ".parquet" not in r.text


def _json_error(r, status: int, code: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) >= {"error", "message"}
    if code:
        assert body["error"] == code, body
    return body


@pytest.fixture
def owner(world: World, token_for):
    return token_for("ga_steward")


def test_a_killed_query_worker_answers_503(world, client, owner):
    # A cross join of the dataset with itself, slow enough to be killed while it runs.
    sql = (
        "SELECT COUNT(*) AS n FROM population a, population b, population c, population d "
        "WHERE a.income + b.income + c.income > d.income"
    )
    pool = engine_for(world.settings)
    deadline = time.monotonic() + 60
    while (pool._running or not pool._idle) and time.monotonic() < deadline:
        time.sleep(0.02)  # the worker started ahead of time is ready and back in the pool
    result = {}
    t = threading.Thread(
        target=lambda: result.update(r=client.post("/api/v1/exchange/sql", headers=owner, json={"sql": sql}))
    )
    t.start()
    deadline = time.monotonic() + 30
    while not pool._running and time.monotonic() < deadline:
        time.sleep(0.02)
    (victim,) = list(pool._running)
    time.sleep(0.3)
    os.kill(victim.proc.pid, signal.SIGKILL)
    t.join(60)
    body = _json_error(result["r"], 503, "query_worker_lost")
    assert body["error_class"] == "worker_lost"
    # The next query runs on a fresh worker.
    r = client.post(
        "/api/v1/exchange/sql", headers=owner, json={"sql": "SELECT COUNT(*) AS n FROM population"}
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped_page"])
def test_an_unreadable_version_file_is_a_server_error_without_its_path(
    world, client, owner, token_for, damage
):
    (path,) = [p for p in world.settings.versions_dir.rglob("1.parquet") if p.parent.name == "1"]
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"PAR1garbage")
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    else:
        middle = len(data) // 2
        path.write_bytes(data[:middle] + b"\x00" * 200 + data[middle + 200 :])
    for url in (
        "/api/v1/exchange/datasets/population/rows?limit=5",
        "/api/v1/exchange/datasets/population/rows?format=csv",
    ):
        r = client.get(url, headers=owner)
        assert 500 <= r.status_code < 600, (url, r.status_code, r.text)
        body = _json_error(r, r.status_code)
        # The integrity check (the stored SHA-256) refuses the damaged file before the engine reads it.
        assert body["error"] == "version_damaged" or body.get("error_class") in (
            "data_unreadable",
            "internal",
        )
        _no_server_path(r, world.settings)
    r = client.post("/api/v1/datasets/population/classification/run", headers=token_for("admin1"))
    body = _json_error(r, 500)
    assert body["error"] in ("version_damaged", "internal_error")
    _no_server_path(r, world.settings)


def test_an_unexpected_exception_is_a_json_500_and_logged(app, settings, caplog):
    @app.get("/api/v1/_boom")
    def boom():
        raise RuntimeError(f"cannot open {settings.data_dir}/versions/1/1.parquet")

    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/_boom")
    body = _json_error(r, 500, "internal_error")
    assert "internal server error" in body["message"]
    _no_server_path(r, settings)
    assert any("RuntimeError" in (rec.exc_text or "") for rec in caplog.records)


def _drop_store(settings, db, backend) -> None:
    """Take the store away under the running server, as an operator dropping the database would."""
    if backend == "sqlite":
        os.remove(db.url.database)
        db.engine.dispose()
        return
    schema = db.url.query["options"].split("search_path=")[1]
    admin = create_engine(os.environ["SHUZHI_TEST_PG_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        c.execute(text(f'CREATE SCHEMA "{schema}"'))  # empty, as the test's teardown expects a schema
    admin.dispose()


def test_a_dropped_store_answers_json_503(settings, db, app, backend, make_user, token_for):
    make_user("someone")
    headers = token_for("someone")
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/api/v1/me", headers=headers).status_code == 200
        _drop_store(settings, db, backend)
        r = c.get("/api/v1/me", headers=headers)
        body = _json_error(r, 503, "store_unavailable")
        assert r.headers["Retry-After"] and "retry" in body["message"]
        assert db.url.database is None or db.url.database not in r.text
        r = c.get("/readyz")
        body = _json_error_or_checks(r)
        assert body["checks"]["store"]["ok"] is False
        assert c.get("/healthz").status_code == 200  # alive, not ready


def _json_error_or_checks(r) -> dict:
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/json")
    return r.json()


def test_probes_answer_without_authentication(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "ok"
    assert {k: v["ok"] for k, v in r.json()["checks"].items()} == {
        "store": True,
        "data_dir": True,
        "query_workers": True,
    }


def test_readyz_fails_when_the_data_directory_is_not_writable(settings, client, tmp_path):
    # Root ignores permission bits: a directory under a regular file cannot be made by anyone.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.data_dir = blocker / "data"
    r = client.get("/readyz")
    body = _json_error_or_checks(r)
    assert body["status"] == "unavailable" and body["checks"]["data_dir"]["ok"] is False
    assert body["checks"]["store"]["ok"] is True
    assert str(blocker) not in r.text


def test_an_unmigrated_store_is_not_ready(settings, db, client):
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO alembic_version (version_num) VALUES ('from_a_newer_release')"))
    r = client.get("/readyz")
    assert _json_error_or_checks(r)["checks"]["store"]["ok"] is False
