"""The `shuzhi ingest` command (load a file, URL or database table as a new dataset version) and
`shuzhi verify-data` (re-hash stored versions)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import typer

from shuzhi.cli import lang
from shuzhi.cli.common import bytes_progress_bar, console, open_context, reports_errors, system_principal
from shuzhi.cli.lang import _
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_


@reports_errors
def ingest(
    source: str = typer.Argument(..., help="File path, file:// or http(s):// URL, or a database URL"),
    dataset: str | None = typer.Option(
        None, "--dataset", "-d", help="Dataset identifier or id (with --create: the new identifier, optional)"
    ),
    create: bool = typer.Option(
        False, "--create", help="Register a new dataset from the file (needs --dept and --theme)"
    ),
    dept: str | None = typer.Option(None, "--dept", help="Owner department code, with --create"),
    theme: str | None = typer.Option(None, "--theme", help="Theme code, with --create (e.g. market, health)"),
    title: str | None = typer.Option(
        None, "--title", help="Chinese title, with --create (default: the file name)"
    ),
    fmt: str | None = typer.Option(
        None, "--format", "-f", help="csv | xlsx | json | jsonl | parquet (default: from the name)"
    ),
    table: str | None = typer.Option(None, "--table", help="Database table, or the Excel worksheet to read"),
    query: str | None = typer.Option(None, "--query", help="SQL query to read from the database URL"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Load a source as a new immutable dataset version.

    Reads CSV (UTF-8, UTF-8 with BOM, GBK/GB18030 detected automatically), XLSX, JSON, JSON Lines,
    Parquet, or a table/query of a database; writes Parquet with row count, SHA-256, schema,
    column profile and schema drift. Loading identical content again is reported, not stored twice.

    Database sources are read in a read-only session, and --query must be one SELECT. Local files
    and SQLite databases can be named here, by the operator on the server, never through the API;
    hosts on private networks must be listed in the setting ingest.allowed_source_hosts
    (docs/ingest.md).

    Examples:

      shuzhi ingest 市场主体登记.csv --dataset hz-samr-enterprise

      shuzhi ingest 参保人员.xlsx --create --dept HZ-HRSS --theme employment --title 参保人员信息

      shuzhi ingest https://example.gov.cn/open/roads.json --dataset hz-trans-road-transport

      shuzhi ingest postgresql+psycopg://reader@10.0.0.5/front --table public.enterprises --dataset hz-samr-enterprise

      shuzhi ingest sqlite:///front.db --query "SELECT * FROM tax WHERE year = 2025" --dataset hz-tax-taxpayer
    """
    from shuzhi.catalog import service as catalog
    from shuzhi.ingest import commit_to
    from shuzhi.ingest.service import create_dataset_for

    if create and not (dept and theme):
        raise InvalidInput(
            M_("--create needs --dept and --theme"),
            where="--create",
            hint=M_("e.g. %(example)s", example="--create --dept HZ-SAMR --theme market"),
        )
    if not create and not dataset:
        raise InvalidInput(M_("Give --dataset, or --create"), where="--dataset")
    settings, db = open_context()
    if not create:
        with db.read() as s:
            catalog.get_dataset(s, dataset)  # fail before reading a large file
    staged = _stage(settings, source, show=not as_json, fmt=fmt, table=table, query=query)
    principal = system_principal()
    created = False

    def target(s):
        nonlocal created
        created = create and not _exists(s, dataset)
        if created:
            return create_dataset_for(
                s, principal, staged, dept=dept, theme=theme, title=title, identifier=dataset
            )
        return catalog.get_dataset(s, dataset)

    report = commit_to(db, settings, staged, target, user_id=principal.user_id)
    report.created_dataset = created
    _print(report, as_json)


def _exists(session, ref: str | None) -> bool:
    if not ref:
        return False
    from shuzhi.catalog import service as catalog

    try:
        catalog.get_dataset(session, ref)
    except Exception:
        return False
    return True


def _stage(settings, source: str, *, show: bool, **kw):
    from shuzhi.ingest import stage_source

    if not show:
        return stage_source(settings, source, **kw)
    is_file = Path(source).is_file()
    with bytes_progress_bar() as bar:
        task = bar.add_task(_("reading"), total=Path(source).stat().st_size if is_file else None)

        def progress(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        staged = stage_source(settings, source, progress=progress, **kw)
        bar.update(task, description=_("done"))
    return staged


def _print(report, as_json: bool) -> None:
    from shuzhi.ingest.drift import describe

    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
        return
    if report.created_dataset:
        console.print("[green]" + _("registered new dataset") + f"[/] {report.dataset}")
    if report.unchanged:
        console.print(f"[yellow]{lang.say(report.summary())}[/]")
        return
    console.print(
        f"[green]✓[/] {report.dataset} v{report.version}: "
        + _(
            "%(rows)s rows, %(bytes)s bytes, %(seconds)ss",
            rows=format(report.rows, ","),
            bytes=format(report.byte_size, ","),
            seconds=format(report.seconds, ".1f"),
        )
        + f", sha256 {report.sha256[:16]}…"
    )
    if report.drift is not None:
        console.print("  " + _("drift") + f": {lang.say(describe(report.drift))}")


@reports_errors
def verify_data(
    dataset: str | None = typer.Argument(None, help="Dataset identifier or id (default: every dataset)"),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON"),
) -> None:
    """Re-hash version files against the SHA-256 stored at ingest.

    A file that differs, is shorter or is missing marks its version damaged: reads of it are
    refused, the ledger records `version.damaged` and the owner's stewards get an alert. A damaged
    version whose file hashes right again (restored from a copy) is readable again. Exits with
    status 1 when any version is damaged.

    Examples:

      shuzhi verify-data

      shuzhi verify-data hz-samr-enterprise
    """
    from shuzhi.cli.common import progress_bar
    from shuzhi.ingest.integrity import verify_versions

    settings, db = open_context()
    if as_json:
        report = verify_versions(db, settings, dataset)
        console.print_json(json.dumps(asdict(report), ensure_ascii=False))
    else:
        with progress_bar(transient=True) as bar:
            task = bar.add_task(_("verifying"), total=None)
            report = verify_versions(
                db,
                settings,
                dataset,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        restored, damaged = _("restored"), _("damaged")
        for d in report.restored:
            console.print(f"[green]{restored}[/] {d['dataset']} v{d['version']}")
        for d in report.damaged:
            new = _("newly found") if d["new"] else _("still damaged")
            console.print(f"[bold red]{damaged}[/] {d['dataset']} v{d['version']}: {d['damage']} ({new})")
        colour = "red" if report.damaged else "green"
        checked = _("%(n)s versions checked", n=report.checked)
        summary = _(
            "%(bytes)s bytes, %(damaged)s damaged",
            bytes=format(report.bytes, ","),
            damaged=len(report.damaged),
        )
        console.print(f"[{colour}]{checked}[/], {summary}")
    if report.damaged:
        raise typer.Exit(1)
