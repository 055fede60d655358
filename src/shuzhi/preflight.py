"""Checks that the platform can work: the metadata store reachable and at a known revision, the data
directory writable. Run before a process starts serving (refusing with one clear paragraph) and by
the readiness probe."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Literal

from shuzhi.errors import ConfigurationError
from shuzhi.i18n import M_

if TYPE_CHECKING:
    from shuzhi.config import Settings
    from shuzhi.store.db import Database


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0][:300] if text else orig.__class__.__name__


def _store_name(db: Database) -> str:
    return db.url.render_as_string(hide_password=True)


def check_data_dir(settings: Settings) -> None:
    """The data directory and its sub-folders exist (made if missing) and take a new file."""
    from shuzhi.storage import version_store

    for folder in (settings.data_dir, *version_store(settings).folders(), settings.keys_dir):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-check-", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ConfigurationError(
                M_(
                    "the data directory is not writable: %(problem)s. Setting data_dir (SHUZHI_DATA_DIR) "
                    "points at %(data_dir)s; a file cannot be created in %(folder)s. Point it at a "
                    "directory the server's user can write.",
                    problem=_describe_os_error(exc),
                    data_dir=str(settings.data_dir.resolve()),
                    folder=str(folder.resolve()),
                ),
                where="data_dir",
            ) from None


def _describe_os_error(exc: OSError) -> str:
    return exc.strerror or exc.__class__.__name__


def check_store(db: Database) -> Literal["current", "behind", "fresh"]:
    """Whether the store answers and where it stands: at this code's migrations, behind them, or
    fresh (no tables); refuses one it cannot work with.

    A fresh store (no tables at all) and one behind the code are fine: migrations bring them up.
    Refused: a store that cannot be reached, one at revisions this code does not know (migrated by
    a newer release), and one that holds tables but no migration record (not a Shuzhi store).
    """
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from shuzhi.store.db import script_heads, script_revisions

    name = _store_name(db)
    try:
        with db.engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
        heads = db.current_heads()
    except SQLAlchemyError as exc:
        raise ConfigurationError(
            M_(
                "the metadata store cannot be reached: %(problem)s. Setting database_url "
                "(SHUZHI_DATABASE_URL) is %(name)s. Check the database exists and runs, and the URL.",
                problem=_first_line(exc),
                name=name,
            ),
            where="database_url",
        ) from None
    if not heads:
        if tables - {"alembic_version"}:
            raise ConfigurationError(
                M_(
                    "the metadata store %(name)s holds tables but no migration record: it is not a "
                    "Shuzhi store. Check setting database_url (SHUZHI_DATABASE_URL).",
                    name=name,
                ),
                where="database_url",
            )
        return "fresh"
    unknown = sorted(heads - script_revisions())
    if unknown:
        raise ConfigurationError(
            M_(
                "the metadata store %(name)s is at migration %(revisions)s, unknown to this release "
                "(probably migrated by a newer one). Run the matching release, or check setting "
                "database_url (SHUZHI_DATABASE_URL).",
                name=name,
                revisions=", ".join(unknown),
            ),
            where="database_url",
        )
    return "current" if heads == script_heads() else "behind"


def prepare(db: Database, *, migrate: bool = True) -> None:
    """The store's start-up check (after `check_data_dir`): migrations applied when needed."""
    if check_store(db) != "current" and migrate:
        db.upgrade()


def readiness(settings: Settings, db: Database, *, workers: bool = True) -> dict[str, dict]:
    """Each check by name: {"ok": bool, "message": str}. Messages name no server path."""
    checks: dict[str, dict] = {}
    try:
        ok = check_store(db) == "current"
        checks["store"] = {
            "ok": ok,
            "message": M_("store reachable and migrated") if ok else M_("store not migrated to this release"),
        }
    except ConfigurationError:
        checks["store"] = {"ok": False, "message": M_("store unreachable or unknown")}
    try:
        check_data_dir(settings)
        checks["data_dir"] = {"ok": True, "message": M_("data directory writable")}
    except ConfigurationError:
        checks["data_dir"] = {"ok": False, "message": M_("data directory not writable")}
    if workers:
        from shuzhi.engine.interface import engine_for

        try:
            engine_for(settings).ready()
            checks["query_workers"] = {"ok": True, "message": M_("query workers can start")}
        except Exception:  # noqa: BLE001 - any failure to start means not ready; the reason is logged
            import logging

            logging.getLogger(__name__).warning("query worker cannot start", exc_info=True)
            checks["query_workers"] = {
                "ok": False,
                "message": M_("query workers cannot start"),
            }
    return checks
