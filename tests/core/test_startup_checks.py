"""`shuzhi serve` refuses to start, in one paragraph naming the setting and the path, when it could
not work; a configuration mistake is one paragraph, not a traceback; several server processes need
PostgreSQL."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from shuzhi.store.db import Database

from ..conftest import PG_SKIP, PG_URL, PgSchema


def _serve(tmp_path, monkeypatch, *args: str, **env: str):
    """Run `shuzhi serve` with the given environment; it must refuse before serving anything."""
    from shuzhi.cli import app

    monkeypatch.chdir(tmp_path)  # no shuzhi.toml of the developer's
    for name in [k for k in os.environ if k.startswith("SHUZHI_") and k != "SHUZHI_TEST_PG_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COLUMNS", "400")
    env.setdefault("SHUZHI_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(app, ["serve", "--port", "1", *args], env=env)
    assert result.exit_code == 2, result.output
    out = result.output
    assert "Traceback" not in out and len(out.strip().splitlines()) <= 4, out
    return " ".join(out.split())


def test_unwritable_data_directory_is_refused(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    out = _serve(tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(blocker / "data"))
    assert "data_dir" in out and "SHUZHI_DATA_DIR" in out and str(blocker / "data") in out
    assert "not writable" in out


@pytest.mark.pg
def test_unwritable_data_directory_is_refused_with_postgresql(tmp_path, monkeypatch):
    # It used to start and fail only at the first ingest.
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = PgSchema()
    try:
        blocker = tmp_path / "a-file"
        blocker.write_text("x")
        out = _serve(
            tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(blocker / "data"), SHUZHI_DATABASE_URL=schema.url
        )
        assert "data_dir" in out and str(blocker / "data") in out
    finally:
        schema.drop()


def test_unreachable_postgresql_is_refused(tmp_path, monkeypatch):
    url = "postgresql+psycopg://shuzhi:s3cret-pw@127.0.0.1:9/shuzhi"  # the discard port: nothing listens
    out = _serve(tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(tmp_path / "data"), SHUZHI_DATABASE_URL=url)
    assert "database_url" in out and "SHUZHI_DATABASE_URL" in out and "127.0.0.1:9/shuzhi" in out
    assert "s3cret-pw" not in out


def test_store_migrated_by_a_newer_release_is_refused(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    db = Database(url)
    db.upgrade()
    with db.engine.begin() as c:
        c.execute(text("INSERT INTO alembic_version (version_num) VALUES ('from_a_newer_release')"))
    db.dispose()
    out = _serve(tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(tmp_path / "data"), SHUZHI_DATABASE_URL=url)
    assert "from_a_newer_release" in out and "database_url" in out and "meta.db" in out


def test_foreign_tables_without_migrations_are_refused(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'other.db'}"
    db = Database(url)
    with db.engine.begin() as c:
        c.execute(text("CREATE TABLE invoices (id INTEGER)"))
    db.dispose()
    out = _serve(tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(tmp_path / "data"), SHUZHI_DATABASE_URL=url)
    assert "not a Shuzhi store" in out and "database_url" in out


def test_a_bad_setting_is_one_paragraph(tmp_path, monkeypatch):
    out = _serve(tmp_path, monkeypatch, SHUZHI_DATA_DIR=str(tmp_path / "d"), SHUZHI_SESSION_HOURS="twelve")
    assert "session_hours" in out and "SHUZHI_SESSION_HOURS" in out and "'twelve'" in out


def test_bad_toml_is_one_paragraph(tmp_path, monkeypatch):
    bad = tmp_path / "conf.toml"
    bad.write_text("[ingest\nmax_upload_bytes = 1\n")
    out = _serve(tmp_path, monkeypatch, SHUZHI_CONFIG=str(bad))
    assert "TOML" in out and str(bad) in out


def test_several_workers_on_sqlite_are_refused(tmp_path, monkeypatch):
    out = _serve(tmp_path, monkeypatch, "--workers", "2", SHUZHI_DATA_DIR=str(tmp_path / "data"))
    assert "SQLite" in out and "workers" in out and "--workers 1" in out and "PostgreSQL" in out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.pg
def test_two_workers_start_on_postgresql(tmp_path):
    if not PG_URL:
        pytest.skip(PG_SKIP)
    schema = PgSchema()
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SHUZHI_")},
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SHUZHI_DATA_DIR": str(tmp_path / "data"),
        "SHUZHI_DATABASE_URL": schema.url,
        "SHUZHI_SECRET_KEY": "test-secret",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from shuzhi.cli import main; main()",
            "serve",
            "--workers",
            "2",
            "--port",
            str(port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline, answered = time.monotonic() + 120, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                answered = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        assert answered is not None and answered.status_code == 200, proc.poll()
        assert answered.json()["status"] == "ok"
    finally:
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        schema.drop()
    assert out.count("Started server process") == 2, out
