"""Commands to browse the catalog: dataset list and show."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from shuzhi.cli import lang
from shuzhi.cli.common import ListTable, console, open_context, reports_errors
from shuzhi.cli.lang import _

app = typer.Typer(
    help="Datasets in the catalog.\n\nExample:  shuzhi dataset list -q 营业执照", no_args_is_help=True
)


@app.command("list")
@reports_errors
def dataset_list(
    q: str = typer.Option("", "-q", "--query", help="Full-text query (Chinese aware)"),
    dept: list[str] = typer.Option([], "--dept", help="Only these departments"),
    theme: list[str] = typer.Option([], "--theme", help="Only these themes"),
    share: list[str] = typer.Option([], "--share", help="unconditional | conditional | none"),
    limit: int = typer.Option(50, help="How many to list"),
) -> None:
    """List or search datasets, with facet counts.

    Example:  shuzhi dataset list -q 社保 --dept HZ-HRSS
    """
    from shuzhi.catalog import search as catalog_search
    from shuzhi.catalog import service as catalog

    _settings, db = open_context()
    with db.read() as s:
        res = catalog_search.search(
            s, q, filters={"department": dept, "theme": theme, "share_type": share}, limit=limit
        )
        latest = catalog.latest_numbers(s, [d.id for d in res.datasets])
        dept_header = _("dept")
        table = ListTable(
            _("identifier"), _("title"), dept_header, _("share"), _("grade"), _("ver"), whole=(dept_header,)
        )
        for d in res.datasets:
            table.add_row(
                d.identifier,
                lang.named(d),
                d.department.code,
                lang.label("share_type", d.share_type),
                d.security_grade or "",
                str(latest.get(d.id, "")),
            )
        console.print(table)
        console.print(_("%(total)s datasets", total=res.total))
        if res.by_reading:
            console.print("[yellow]" + escape(_("matched by how the query sounds (pinyin)")) + "[/yellow]")
        if res.did_you_mean:
            console.print(_("did you mean") + f": [bold]{escape(res.did_you_mean)}[/bold]")


@app.command("reindex")
@reports_errors
def dataset_reindex() -> None:
    """Rebuild the search text of every dataset (after an upgrade that changes how text is indexed).

    Example:  shuzhi dataset reindex
    """
    from shuzhi.catalog.search import reindex_all

    _settings, db = open_context()
    with db.write() as s:
        n = reindex_all(s)
    console.print(_("search text rebuilt for %(n)s datasets", n=n))


@app.command("show")
@reports_errors
def dataset_show(
    ref: str = typer.Argument(..., help="Identifier or numeric id"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Show a dataset's metadata, fields and versions.

    Example:  shuzhi dataset show hz-psb-population
    """
    from shuzhi.catalog import service as catalog

    _settings, db = open_context()
    with db.read() as s:
        ds = catalog.get_dataset(s, ref)
        out = catalog.to_out(ds, catalog.latest_numbers(s, [ds.id]).get(ds.id))
        if as_json:
            console.print_json(json.dumps(out.model_dump(mode="json"), ensure_ascii=False))
            return
        title = f"{ds.title_zh} {ds.title_en or ''}" if lang.current() is None else lang.named(ds)
        console.print(f"[bold]{escape(title.strip())}[/]  [dim]{ds.identifier}[/]")
        facts = (
            lang.named(ds.department),
            lang.label("theme", ds.theme),
            lang.label("share_type", ds.share_type),
            lang.label("open_type", ds.open_type),
            ds.security_grade or _("not graded"),
        )
        console.print(" · ".join(facts))
        if ds.description:
            console.print(ds.description)
        type_header = _("type")
        fields = ListTable(_("field"), type_header, _("description"), whole=(type_header,))
        for f in ds.fields:
            fields.add_row(f.name, f.type, f.description or "")
        console.print(fields)
        versions = ListTable("v", _("rows"), _("format"), "sha256", _("loaded"))
        for v in ds.versions:
            versions.add_row(
                str(v.number),
                f"{v.row_count:,}",
                v.source_format,
                v.sha256[:16],
                f"{v.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(versions)
