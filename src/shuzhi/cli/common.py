"""What every CLI command shares: settings, the database, the console, and error reporting."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer
from rich.cells import cell_len
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
from rich.table import Table

from shuzhi.cli import lang
from shuzhi.cli.lang import _
from shuzhi.errors import ConfigurationError, ShuzhiError
from shuzhi.i18n import M_, Message

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
    import getpass

    os_user = getpass.getuser()
    if not username:
        return system_principal().entering("cli", os_user)
    from shuzhi.errors import Forbidden
    from shuzhi.orgs import service as orgs

    user = orgs.get_user(session, username)
    if not user.active:
        raise Forbidden(M_("User %(name)s is deactivated", name=repr(username)), where="--as")
    return orgs.Principal.of(user, face="cli", os_user=os_user)


def ok(text: str, value: object = None) -> None:
    """A line that says something was done: a green tick, `text` (from the catalog), then `: value`."""
    console.print("[green]✓[/] " + text + ("" if value is None else f": {value}"))


def reports_errors(fn: Callable) -> Callable:
    """Turn domain errors into one clear red line and exit code 2, instead of a traceback; in the
    chosen language (both where none was chosen)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ConfigurationError as exc:
            # One paragraph, no traceback: a setting is wrong, and the message names it and its path.
            label = _("configuration error")
            err_console.print(f"[bold red]{escape(label)}:[/] {escape(_whole(exc))}", soft_wrap=True)
            raise typer.Exit(2) from None
        except ShuzhiError as exc:
            label = _("error")
            err_console.print(f"[bold red]{escape(label)}:[/] {escape(_message(exc))}")
            lines = (
                (_("where"), lang.say(exc.where)),
                (_("hint"), lang.say(exc.hint)),
                (_("class"), exc.detail.get("error_class")),
            )
            for name, value in lines:
                if value:
                    err_console.print(f"  {name}: {escape(str(value))}")
            raise typer.Exit(2) from None

    return wrapper


def _message(exc: ShuzhiError) -> str:
    chosen = lang.current()
    return exc.say(chosen) if chosen else exc.message


def _whole(exc: ShuzhiError) -> str:
    """The error with where and hint, as `str(exc)` has them, in the chosen language."""
    parts = [_message(exc)]
    if exc.where:
        parts.append(f"({lang.say(exc.where)})")
    if exc.hint:
        parts.append(f"— {lang.say(exc.hint)}")
    return " ".join(parts)


def _stacked(header: str) -> str:
    """A header in both languages (no language chosen) as two lines, Chinese over English."""
    if isinstance(header, Message) and (zh := header.in_lang("zh")) != (en := header.in_lang("en")):
        return f"{zh}\n{en}"
    return header


class ListTable(Table):
    """A Rich table that never cuts a value: every column wraps (a long word is folded) instead of
    ending in an ellipsis, and identifier columns (the first, and those named in `whole`) keep the
    width of their longest value while the others wrap, so that what a listing shows can be copied
    into the next command."""

    _NARROWEST = 6
    """Characters a wrapping column is given at the least when the identifiers are kept whole."""

    def __init__(self, *headers: str, whole: tuple[str, ...] = (), **kwargs) -> None:
        super().__init__(*map(_stacked, headers), **kwargs)
        self._whole = [i for i, h in enumerate(headers) if i == 0 or h in whole]
        for column in self.columns:
            column.overflow = "fold"

    def __rich_console__(self, console, options):
        widths = {}
        for i in self._whole:
            column = self.columns[i]
            header = max((cell_len(w) for w in str(column.header).split()), default=0)
            widths[i] = max([header, *(cell_len(str(cell)) for cell in column._cells)])
            column.no_wrap, column.min_width = False, None
        # The identifiers are kept whole only when they and the others, wrapped as narrow as is
        # still readable, fit the terminal; on a terminal narrower still they fold like the rest.
        pad = 2 * self.padding[1]
        others = sum(
            min(self._measure_column(console, options, column).minimum, self._NARROWEST + pad)
            for i, column in enumerate(self.columns)
            if i not in widths
        )
        whole = sum(widths.values()) + pad * len(widths)
        if whole + others + len(self.columns) + 1 <= options.max_width:
            for i, width in widths.items():
                self.columns[i].no_wrap, self.columns[i].min_width = True, width
        yield from super().__rich_console__(console, options)


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
