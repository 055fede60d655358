"""Commands of grading: classify a dataset's latest version, show its grade, review columns and grade."""

from __future__ import annotations

import json
from contextlib import nullcontext

import typer

from shuzhi.cli.common import (
    ListTable,
    acting_principal,
    console,
    open_context,
    reports_errors,
    system_principal,
)

grade_app = typer.Typer(
    help="数据分级 Grading: show and review. Example: shuzhi grade show hz-psb-population",
    no_args_is_help=True,
)


@reports_errors
def classify(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    version: int = typer.Option(None, "--version", "-v", help="版本号 version number (default: latest)"),
    full: bool = typer.Option(False, "--full", help="全量扫描 scan every value, not a sample"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON print JSON"),
) -> None:
    """Scan a dataset version for sensitive data and (re)grade the dataset.

    Example:  shuzhi classify hz-psb-population --full
    """
    from shuzhi.catalog.service import get_dataset, get_version
    from shuzhi.classify.grading import classify_version

    settings, db = open_context()
    with db.write() as s:
        ds = get_dataset(s, dataset)
        target = get_version(s, ds, version)
        with (
            console.status(
                f"扫描 scanning {ds.identifier} v{target.number} ({target.row_count:,} 行 rows)…",
                spinner="dots",
            )
            if not as_json
            else nullcontext()
        ):
            classify_version(s, settings, target, full=full)
        _show(s, settings, ds, as_json)


@grade_app.command("show")
@reports_errors
def show(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON print JSON"),
) -> None:
    """Show the dataset's grade, the rule that decided it, and each column's category and evidence.

    Example:  shuzhi grade show hz-psb-population
    """
    from shuzhi.catalog.service import get_dataset

    settings, db = open_context()
    with db.read() as s:
        _show(s, settings, get_dataset(s, dataset), as_json)


@grade_app.command("review")
@reports_errors
def review(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    field: str = typer.Option(..., "--field", "-f", help="列名 column name"),
    reason: str = typer.Option(..., "--reason", "-r", help="理由 reason"),
    category: str = typer.Option(None, "--category", "-c", help="改为该类别 override to this category"),
) -> None:
    """Confirm a column's category, or override it with --category (as platform admin).

    Example:  shuzhi grade review hz-psb-population -f 人口状态 -c none -r "人口状态列不含个人信息"
    """
    from shuzhi.catalog.service import get_dataset
    from shuzhi.classify.review import review_column

    settings, db = open_context()
    with db.write() as s:
        ds = get_dataset(s, dataset)
        d = review_column(
            s,
            settings,
            system_principal(),
            ds,
            field,
            reason=reason,
            action="override" if category else "confirm",
            category=category,
        )
        console.print(
            f"[green]✓[/] {d.field_name}: {d.category} ({d.status}); 数据集 dataset {ds.security_grade}"
        )


@grade_app.command("set")
@reports_errors
def set_grade(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    reason: str = typer.Option(..., "--reason", "-r", help="理由 reason"),
    level: str = typer.Option(None, "--level", "-l", help="级别 level, e.g. L3 (omit to confirm)"),
    data_class: str = typer.Option(None, "--class", help="数据类别 核心/重要/一般"),
) -> None:
    """Confirm the dataset's derived grade, or set --level / --class (as platform admin).

    Example:  shuzhi grade set hz-psb-population --level L4 --class 重要 -r "全市人口基础库"
    """
    from shuzhi.catalog.service import get_dataset
    from shuzhi.classify.review import review_grade

    settings, db = open_context()
    with db.write() as s:
        ds = get_dataset(s, dataset)
        g = review_grade(
            s,
            settings,
            system_principal(),
            ds,
            action="override" if level or data_class else "confirm",
            reason=reason,
            level=level,
            data_class=data_class,
        )
        console.print(f"[green]✓[/] {ds.identifier}: {g.level} / {g.data_class} ({g.status})")


@grade_app.command("resolve")
@reports_errors
def resolve(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    alert_id: int = typer.Argument(..., help="提醒编号（见 grade show）alert id, as listed by grade show"),
    note: str = typer.Option(None, "--note", "-n", help="处理说明 what was done about it"),
    as_user: str = typer.Option(
        None, "--as", help="以该用户身份处理（记入审计）act as this user (default: platform admin)"
    ),
) -> None:
    """Mark a grading alert resolved, as the owning department's steward or an admin; written to the ledger.

    Example:  shuzhi grade resolve hz-health-birth 7 --note "已确认为真实出生医学证明号码" --as health.steward
    """
    from shuzhi.catalog.service import get_dataset
    from shuzhi.classify.alerts import resolve_alert

    _, db = open_context()
    with db.write() as s:
        who = acting_principal(s, as_user)
        ds = get_dataset(s, dataset)
        alert = resolve_alert(s, who, ds, alert_id, note=note)
        console.print(f"[green]✓[/] 提醒 alert #{alert.id} 已处理 resolved: {alert.message}")


def _show(session, settings, ds, as_json: bool) -> None:
    from shuzhi.classify.readmodel import classification

    info = classification(session, settings, ds)
    if as_json:
        console.print_json(json.dumps(info, ensure_ascii=False, default=str))
        return
    if not info["graded"]:
        console.print(f"{ds.identifier}: 尚未分级 not graded yet")
        return
    rule = info["rule"]
    console.print(
        f"[bold]{ds.identifier}[/] v{info['version']}: [bold]{info['level']}[/] / {info['data_class']}"
        f" ({info['status']})  依据 rule: {rule.get('zh')} — {rule.get('en')}"
    )
    for flag in info["flags"]:
        console.print(
            f"[yellow]![/] {flag.get('zh')} ({flag.get('persons')} ≥ {flag.get('min_persons')}) — 待复核 review"
        )
    table = ListTable(
        "列 column", "类别 category", "级别 level", "置信度 conf.", "状态 status", "依据 evidence"
    )
    for c in info["columns"]:
        ev = c["evidence"]
        why = ev.get("reason") or (
            f"{ev.get('valid')}/{ev.get('non_null_scanned')} valid"
            f" ({ev.get('share_valid', 0):.0%}) {ev.get('detector')}"
            + (f", hint «{ev['name_hint']}»" if ev.get("name_hint") else "")
            + (f", e.g. {', '.join(ev.get('examples', [])[:2])}" if ev.get("examples") else "")
        )
        table.add_row(
            c["field"],
            f"{c['category_zh'] or c['category']}",
            c["level"],
            f"{c['confidence']:.2f}",
            c["status"],
            why,
        )
    console.print(table)
    for a in info["alerts"]:
        console.print(f"[yellow]提醒 alert[/] #{a['id']} {a['message']}")
    if info["alerts"]:
        console.print(f"处理 resolve: shuzhi grade resolve {ds.identifier} <id> --note …", highlight=False)
