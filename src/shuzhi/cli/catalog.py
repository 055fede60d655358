"""Commands to browse the catalog: dataset list and show."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from shuzhi.cli.common import ListTable, console, open_context, reports_errors

app = typer.Typer(
    help="数据集 Datasets in the catalog. Example: shuzhi dataset list -q 营业执照", no_args_is_help=True
)


@app.command("list")
@reports_errors
def dataset_list(
    q: str = typer.Option("", "-q", "--query", help="Full-text query (Chinese aware)"),
    dept: list[str] = typer.Option([], "--dept", help="Only these departments"),
    theme: list[str] = typer.Option([], "--theme"),
    share: list[str] = typer.Option([], "--share", help="unconditional | conditional | none"),
    limit: int = typer.Option(50),
) -> None:
    """List or search datasets, with facet counts.

    Example:  shuzhi dataset list -q 社保 --dept HZ-HRSS
    """
    from shuzhi.catalog import search as catalog_search
    from shuzhi.catalog import service as catalog
    from shuzhi.catalog import vocab

    _, db = open_context()
    with db.read() as s:
        res = catalog_search.search(
            s, q, filters={"department": dept, "theme": theme, "share_type": share}, limit=limit
        )
        latest = catalog.latest_numbers(s, [d.id for d in res.datasets])
        table = ListTable("identifier", "名称 title", "dept", "共享 share", "grade", "ver", whole=("dept",))
        for d in res.datasets:
            table.add_row(
                d.identifier,
                d.title_zh,
                d.department.code,
                vocab.label("share_type", d.share_type),
                d.security_grade or "",
                str(latest.get(d.id, "")),
            )
        console.print(table)
        console.print(f"共 {res.total} 个 / {res.total} datasets")
        if res.by_reading:
            console.print("[yellow]按读音（拼音）匹配 (matched by how the query sounds, pinyin)[/yellow]")
        if res.did_you_mean:
            console.print(f"您是不是要找 did you mean: [bold]{escape(res.did_you_mean)}[/bold]")


@app.command("reindex")
@reports_errors
def dataset_reindex() -> None:
    """Rebuild the search text of every dataset (after an upgrade that changes how text is indexed).

    Example:  shuzhi dataset reindex
    """
    from shuzhi.catalog.search import reindex_all

    _, db = open_context()
    with db.write() as s:
        n = reindex_all(s)
    console.print(f"已重建 {n} 个数据集的检索文本 (search text rebuilt for {n} datasets)")


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
    from shuzhi.catalog import vocab

    _, db = open_context()
    with db.read() as s:
        ds = catalog.get_dataset(s, ref)
        out = catalog.to_out(ds, catalog.latest_numbers(s, [ds.id]).get(ds.id))
        if as_json:
            console.print_json(json.dumps(out.model_dump(mode="json"), ensure_ascii=False))
            return
        console.print(f"[bold]{ds.title_zh}[/] {ds.title_en or ''}  [dim]{ds.identifier}[/]")
        console.print(
            f"{ds.department.name_zh} · {vocab.label('theme', ds.theme)} · "
            f"{vocab.label('share_type', ds.share_type)} · {vocab.label('open_type', ds.open_type)} · "
            f"{ds.security_grade or '未定级 not graded'}"
        )
        if ds.description:
            console.print(ds.description)
        fields = ListTable("field", "type", "description", whole=("type",))
        for f in ds.fields:
            fields.add_row(f.name, f.type, f.description or "")
        console.print(fields)
        versions = ListTable("v", "rows", "format", "sha256", "loaded")
        for v in ds.versions:
            versions.add_row(
                str(v.number),
                f"{v.row_count:,}",
                v.source_format,
                v.sha256[:16],
                f"{v.created_at:%Y-%m-%d %H:%M}",
            )
        console.print(versions)
