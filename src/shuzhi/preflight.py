"""Checks that the platform can work: the metadata store reachable and at a known revision, the data
directory writable. Run before a process starts serving (refusing with one clear paragraph) and by
the readiness probe."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Literal

from shuzhi.errors import ConfigurationError

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
                f"数据目录不可写 (the data directory is not writable): {_describe_os_error(exc)}. "
                f"设置 data_dir（环境变量 SHUZHI_DATA_DIR）指向 {settings.data_dir.resolve()}，"
                f"无法在 {folder.resolve()} 中创建文件 (setting data_dir, SHUZHI_DATA_DIR, points at "
                f"{settings.data_dir.resolve()}; a file cannot be created in {folder.resolve()}). "
                "请改为运行服务的用户可写的目录 / point it at a directory the server's user can write.",
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
            f"元数据库无法连接 (the metadata store cannot be reached): {_first_line(exc)}. "
            f"设置 database_url（环境变量 SHUZHI_DATABASE_URL）为 {name} "
            f"(setting database_url, SHUZHI_DATABASE_URL, is {name}). "
            "请确认数据库已创建并运行、地址与账号正确 / check the database exists and runs, and the URL.",
            where="database_url",
        ) from None
    if not heads:
        if tables - {"alembic_version"}:
            raise ConfigurationError(
                f"元数据库 {name} 已有数据表但没有迁移记录，不是数治的元数据库 "
                f"(the metadata store {name} holds tables but no migration record: it is not a Shuzhi "
                "store). 请检查设置 database_url（SHUZHI_DATABASE_URL）/ check setting database_url.",
                where="database_url",
            )
        return "fresh"
    unknown = sorted(heads - script_revisions())
    if unknown:
        raise ConfigurationError(
            f"元数据库 {name} 的迁移版本 {', '.join(unknown)} 不为本版本所知（可能由更新的版本迁移）"
            f"(the metadata store {name} is at migration {', '.join(unknown)}, unknown to this release: "
            "probably migrated by a newer one). 请使用相应版本的数治，或检查设置 database_url"
            "（SHUZHI_DATABASE_URL）/ run the matching release or check setting database_url.",
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
            "message": "元数据库可用 (store reachable and migrated)"
            if ok
            else "元数据库未迁移到当前版本 (store not migrated to this release)",
        }
    except ConfigurationError:
        checks["store"] = {"ok": False, "message": "元数据库不可用 (store unreachable or unknown)"}
    try:
        check_data_dir(settings)
        checks["data_dir"] = {"ok": True, "message": "数据目录可写 (data directory writable)"}
    except ConfigurationError:
        checks["data_dir"] = {"ok": False, "message": "数据目录不可写 (data directory not writable)"}
    if workers:
        from shuzhi.engine.interface import engine_for

        try:
            engine_for(settings).ready()
            checks["query_workers"] = {"ok": True, "message": "查询进程可启动 (query workers can start)"}
        except Exception:  # noqa: BLE001 - any failure to start means not ready; the reason is logged
            import logging

            logging.getLogger(__name__).warning("query worker cannot start", exc_info=True)
            checks["query_workers"] = {
                "ok": False,
                "message": "查询进程无法启动 (query workers cannot start)",
            }
    return checks
