"""Fixtures for ingestion tests: a department with a steward, an empty dataset, and files to load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from shuzhi.catalog.models import DatasetVersion
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset, get_dataset
from shuzhi.cli.common import system_principal


@pytest.fixture
def steward(make_user):
    return make_user("scjg.steward", dept="SCJG", roles=("steward",))


@pytest.fixture
def dataset(db, steward) -> str:
    """An empty dataset of department SCJG; returns its identifier."""
    with db.transaction() as s:
        create_dataset(
            s,
            system_principal(),
            DatasetIn(identifier="SCJG-QY-001", title_zh="企业登记信息", department="SCJG", theme="market"),
        )
    return "SCJG-QY-001"


@pytest.fixture
def write(tmp_path) -> Callable[..., Path]:
    """Write text (UTF-8 unless told) or bytes to a file under the test's directory."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / "in" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return _write


@pytest.fixture
def cli(cli_env, monkeypatch) -> Callable[..., Result]:
    """Run `shuzhi ingest ARGS` on the test's store; keyword arguments set more environment variables."""
    from shuzhi.cli import app

    monkeypatch.setenv("COLUMNS", "200")  # messages on one line, as the assertions read them

    def run(*args: str, **extra_env: str) -> Result:
        return CliRunner().invoke(app, ["ingest", *args], env=extra_env)

    return run


def version_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(DatasetVersion))


def visible_files(settings) -> list[Path]:
    """Files a reader of the data directory could mistake for data: versions and leftovers in staging."""
    return sorted(p for p in settings.versions_dir.rglob("*") if p.is_file()) + sorted(
        p for p in settings.staging_dir.rglob("*") if p.is_file()
    )


def load(db, settings, ref: str, source, **kw):
    from shuzhi.ingest import ingest_source

    with db.transaction() as s:
        return ingest_source(s, settings, get_dataset(s, ref), source, user_id=None, **kw)
