"""Commands of differentially private statistics: `shuzhi opendata stats` release, show, list, budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from shuzhi.cli.common import ListTable, acting_principal, console, open_context, reports_errors

app = typer.Typer(
    help="差分隐私统计 Differentially private statistics. Example: shuzhi opendata stats budget hz-psb-population",
    no_args_is_help=True,
)

AS_USER = typer.Option(
    None, "--as", help="以该用户身份 act as this user (default: the console operator, admin)"
)
AS_JSON = typer.Option(False, "--json", help="输出 JSON print JSON")


def _print_release(out: dict) -> None:
    console.print(
        f"统计发布 release {out['id']}: {escape(out['dataset'])} v{out['version']}, "
        f"ε {out['epsilon']:.6g}, δ {out['delta']:.6g}"
    )
    for fig in out["figures"]:
        table = ListTable("分组 group", "值 value", f"±（{fig['confidence']:.0%}）accuracy")
        for cell in fig["cells"]:
            group = "（其他 other）" if cell.get("other") else (cell["group"] or "（全部 all）")
            value = "—" if cell["value"] is None else f"{cell['value']:.6g}"
            accuracy = "—" if cell["accuracy"] is None else f"{cell['accuracy']:.4g}"
            table.add_row(escape(group), value, accuracy)
        console.print(
            f"[bold]{escape(fig['name'])}[/] {fig['kind']} {escape(fig.get('field') or '')} "
            f"({fig['mechanism']}, ε {fig['epsilon']:.4g}, δ {fig['delta']:.3g})"
        )
        console.print(table)


@app.command("release")
@reports_errors
def release(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    spec: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="统计规格 JSON 文件 the spec, a JSON file"
    ),
    version: int = typer.Option(None, "--version", "-v", help="版本号 version number (default: latest)"),
    as_user: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """Release the spec's figures over a dataset version, paid from its privacy budget.

    Example:  shuzhi opendata stats release hz-psb-population counts.json
    """
    from shuzhi.errors import InvalidInput
    from shuzhi.i18n import M_
    from shuzhi.opendata import stats

    try:
        body = json.loads(spec.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(
            M_("The spec file is not JSON: %(error)s", error=str(e)), where=str(spec)
        ) from None
    settings, db = open_context()
    with db.write() as s:
        out = stats.as_dict(
            s, stats.release_statistics(s, settings, acting_principal(s, as_user), dataset, version, body)
        )
    console.print_json(json.dumps(out, ensure_ascii=False)) if as_json else _print_release(out)


@app.command("show")
@reports_errors
def show(
    release_id: int = typer.Argument(..., help="统计发布编号 release id"),
    as_user: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """One stored release: its figures and their accuracy.

    Example:  shuzhi opendata stats show 3
    """
    from shuzhi.opendata import stats

    _, db = open_context()
    with db.read() as s:
        out = stats.as_dict(s, stats.get_release(s, acting_principal(s, as_user), release_id))
    console.print_json(json.dumps(out, ensure_ascii=False)) if as_json else _print_release(out)


@app.command("list")
@reports_errors
def list_releases(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    as_user: str = AS_USER,
) -> None:
    """A dataset's statistics releases, newest first.

    Example:  shuzhi opendata stats list hz-psb-population
    """
    from shuzhi.opendata import stats

    _, db = open_context()
    table = ListTable("id", "版本 version", "ε", "δ", "图表 figures", "发布人 by", "时间 at")
    with db.read() as s:
        for r in stats.list_releases(s, acting_principal(s, as_user), dataset):
            names = ", ".join(f["name"] for f in r.figures)
            table.add_row(
                str(r.id), str(r.version_number), f"{r.epsilon:.4g}", f"{r.delta:.3g}", escape(names),
                escape(r.created_by), r.created_at.isoformat(timespec="seconds"),
            )  # fmt: skip
    console.print(table)


@app.command("budget")
@reports_errors
def budget(
    dataset: str = typer.Argument(..., help="数据集标识或编号 dataset identifier or id"),
    epsilon: float = typer.Option(None, "--set-epsilon", help="设定总 ε set the total ε (admin)"),
    delta: float = typer.Option(
        None, "--set-delta", help="设定总 δ set the total δ (admin; default: unchanged)"
    ),
    reason: str = typer.Option(None, "--reason", "-r", help="理由 reason for a new total"),
    as_user: str = AS_USER,
    as_json: bool = AS_JSON,
) -> None:
    """A dataset's privacy budget and its ledger; --set-epsilon (and --set-delta) set its total.

    Example:  shuzhi opendata stats budget hz-psb-population --set-epsilon 5 -r "年度预算"
    """
    from shuzhi.opendata import budget as budgets

    settings, db = open_context()
    with db.write() if epsilon is not None or delta is not None else db.read() as s:
        actor = acting_principal(s, as_user)
        if epsilon is not None or delta is not None:
            now = budgets.budget_ledger(s, settings, actor, dataset)
            budgets.set_budget(
                s, settings, actor, dataset,
                now["epsilon_total"] if epsilon is None else epsilon,
                now["delta_total"] if delta is None else delta,
                reason=reason,
            )  # fmt: skip
            s.flush()
        out = budgets.budget_ledger(s, settings, actor, dataset)
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    console.print(
        f"{escape(out['dataset'])}: ε {out['epsilon_spent']:.6g} / {out['epsilon_total']:.6g} 已用 spent, "
        f"剩余 left {out['epsilon_left']:.6g}; δ {out['delta_spent']:.3g} / {out['delta_total']:.3g}, "
        f"剩余 left {out['delta_left']:.3g}"
    )
    table = ListTable("id", "类型 kind", "发布 release", "ε", "δ", "剩余ε left", "人 by", "时间 at")
    for e in out["entries"]:
        table.add_row(
            str(e["id"]), e["kind"], str(e["release_id"] or ""), f"{e['epsilon']:.4g}", f"{e['delta']:.3g}",
            f"{e['epsilon_left']:.4g}", escape(e["by"]), e["at"][:19],
        )  # fmt: skip
    console.print(table)
