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
            acting_principal(s, None),
            ds,
            field,
            reason=reason,
            action="override" if category else "confirm",
            category=category,
        )
        if not _pending(d):
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
            acting_principal(s, None),
            ds,
            action="override" if level or data_class else "confirm",
            reason=reason,
            level=level,
            data_class=data_class,
        )
        if not _pending(g):
            console.print(f"[green]✓[/] {ds.identifier}: {g.level} / {g.data_class} ({g.status})")


def _pending(result) -> bool:
    """Say so when a review went below what grading derived and now waits for an admin."""
    from shuzhi.classify.models import LoweringRequest

    if not isinstance(result, LoweringRequest):
        return False
    target = f"列 column {result.field_name}" if result.field_name else "数据集 dataset"
    console.print(
        f"[yellow]待批准 awaiting approval[/]: {target} {result.current_level} → {result.level} "
        f"低于分级得出的 {result.derived_level} (below what grading derived); 申请 request #{result.id}. "
        f"在批准前仍按 {result.current_level} 保护 (the higher level holds until an admin approves: "
        f"shuzhi grade approve {result.id} --as <admin>)"
    )
    return True


@grade_app.command("lowerings")
@reports_errors
def lowerings(
    state: str = typer.Option("pending", help="pending, approved, rejected or superseded"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Requests to lower a grade below what grading derived, newest first.

    Example:  shuzhi grade lowerings --state pending
    """
    from shuzhi.catalog.models import Dataset
    from shuzhi.classify import lowering

    _, db = open_context()
    with db.read() as s:
        rows = [lowering.as_dict(r) for r in lowering.search(s, state=state)]
        names = {
            d.id: d.identifier
            for d in s.query(Dataset).filter(Dataset.id.in_({r["dataset_id"] for r in rows}))
        }
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = ListTable(
        "id",
        "数据集 dataset",
        "目标 target",
        "下调 change",
        "申请 by",
        "理由 reason",
        whole=("数据集 dataset",),
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            names.get(r["dataset_id"], str(r["dataset_id"])),
            r["field"] or "(数据集 dataset)",
            f"{r['current_level']} → {r['level']} (derived {r['derived_level']})",
            r["requested_by"],
            r["reason"],
        )
    console.print(table)


@grade_app.command("approve")
@reports_errors
def approve(
    request_id: int = typer.Argument(..., help="申请编号（见 grade lowerings）request id"),
    as_user: str = typer.Option(..., "--as", help="批准人：平台管理员，且不是申请人 the approving admin"),
    note: str = typer.Option(None, "--note", "-n", help="意见 note"),
) -> None:
    """Approve a request to lower a grade, as an admin other than who asked; the lower level holds from now.

    Example:  shuzhi grade approve 3 --as admin --note "经核实为测试数据"
    """
    from shuzhi.classify.review import approve_lowering

    settings, db = open_context()
    with db.write() as s:
        done = approve_lowering(s, settings, acting_principal(s, as_user), request_id, note=note)
        console.print(f"[green]✓[/] 已批准 approved: request #{done.id}, now {done.level}")


@grade_app.command("reject")
@reports_errors
def reject(
    request_id: int = typer.Argument(..., help="申请编号（见 grade lowerings）request id"),
    as_user: str = typer.Option(..., "--as", help="审批人：平台管理员，且不是申请人 the deciding admin"),
    note: str = typer.Option(..., "--note", "-n", help="驳回理由 why"),
) -> None:
    """Reject a request to lower a grade, as an admin other than who asked; the higher level stays.

    Example:  shuzhi grade reject 3 --as admin --note "身份证号列仍含真实号码"
    """
    from shuzhi.classify.review import reject_lowering

    _, db = open_context()
    with db.write() as s:
        done = reject_lowering(s, acting_principal(s, as_user), request_id, note=note)
        console.print(f"[green]✓[/] 已驳回 rejected: request #{done.id}")


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
