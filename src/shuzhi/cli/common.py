"""What every CLI command shares: settings, the database, the console, and error reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shuzhi.errors import ConfigurationError, ShuzhiError

if TYPE_CHECKING:
    from shuzhi.config import Settings
    from shuzhi.orgs.service import Principal
    from shuzhi.store.db import Database

console = Console()
err_console = Console(stderr=True)


def open_context(*, migrate: bool = True) -> tuple[Settings, Database]:
    """Settings from the environment/shuzhi.toml and a database migrated to the current schema.

    Refused (a `ConfigurationError`) when the data directory is not writable or the store cannot be
    reached or is at migrations this code does not know. The migrations run only when the store is
    behind the code (a cheap look at its revision), not on every command; `shuzhi init` and the
    server's start always apply them and refresh the vocabularies.
    """
    from shuzhi import preflight
    from shuzhi.config import load_settings
    from shuzhi.store.db import Database

    settings = load_settings()
    preflight.check_data_dir(settings)  # before the store: SQLite's file is made inside it
    db = Database(settings.db_url, busy_timeout_s=settings.db_busy_timeout_s)
    preflight.prepare(db, migrate=migrate)
    return settings, db


def system_principal() -> Principal:
    """The operator at the console of the server: acts as platform admin, audited as user 'system'."""
    from shuzhi.orgs.service import system_principal as platform

    return platform()


def acting_principal(session, username: str | None) -> Principal:
    """Who a command acts as: the operator (platform admin) unless --as names an active user."""
    if not username:
        return system_principal()
    from shuzhi.errors import Forbidden
    from shuzhi.orgs import service as orgs

    user = orgs.get_user(session, username)
    if not user.active:
        raise Forbidden(f"用户已停用 / user {username!r} is deactivated", where="--as")
    return orgs.Principal.of(user)


def reports_errors(fn: Callable) -> Callable:
    """Turn domain errors into one clear red line and exit code 2, instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigurationError as exc:
            # One paragraph, no traceback: a setting is wrong, and the message names it and its path.
            err_console.print(
                f"[bold red]配置错误 configuration error:[/] {escape(str(exc))}", soft_wrap=True
            )
            raise typer.Exit(2) from None
        except ShuzhiError as exc:
            err_console.print(f"[bold red]错误 error:[/] {exc.message}")
            if exc.where:
                err_console.print(f"  位置 where: {exc.where}")
            if exc.hint:
                err_console.print(f"  建议 hint: {exc.hint}")
            if error_class := exc.detail.get("error_class"):
                err_console.print(f"  类别 class: {error_class}")
            raise typer.Exit(2) from None

    return wrapper


def progress_bar(transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
    )


def bytes_progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
