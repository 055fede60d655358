"""Commands of differentially private statistics: `shuzhi opendata stats` release, show, list, budget."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape

from shuzhi.cli.common import ListTable, acting_principal, console, open_context, reports_errors
from shuzhi.cli.lang import _

app = typer.Typer(
    help="Differentially private statistics.\n\nExample:  shuzhi opendata stats budget hz-psb-population",
    no_args_is_help=True,
)

AS_USER = typer.Option(None, "--as", help="act as this user (default: the console operator, admin)")
AS_JSON = typer.Option(False, "--json", help="print JSON")


def _print_release(out: dict) -> None:
    console.print(
        _(
            "statistics release %(id)s: %(dataset)s v%(version)s, ε %(epsilon)s, δ %(delta)s",
            id=out["id"],
            dataset=escape(out["dataset"]),
            version=out["version"],
            epsilon=format(out["epsilon"], ".6g"),
            delta=format(out["delta"], ".6g"),
        )
    )
    for fig in out["figures"]:
        table = ListTable(
            _("group"), _("value"), _("± accuracy (%(level)s)", level=format(fig["confidence"], ".0%"))
        )
        for cell in fig["cells"]:
            group = _("(other)") if cell.get("other") else (cell["group"] or _("(all)"))
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
    dataset: str = typer.Argument(..., help="dataset identifier or id"),
    spec: Path = typer.Argument(..., exists=True, dir_okay=False, help="the spec, a JSON file"),
    version: int = typer.Option(None, "--version", "-v", help="version number (default: newest)"),
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
    release_id: int = typer.Argument(..., help="release id"),
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
    dataset: str = typer.Argument(..., help="dataset identifier or id"),
    as_user: str = AS_USER,
) -> None:
    """A dataset's statistics releases, newest first.

    Example:  shuzhi opendata stats list hz-psb-population
    """
    from shuzhi.opendata import stats

    _, db = open_context()
    table = ListTable("id", _("version"), "ε", "δ", _("figures"), _("by"), _("at"))
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
    dataset: str = typer.Argument(..., help="dataset identifier or id"),
    epsilon: float = typer.Option(None, "--set-epsilon", help="set the total ε (admin)"),
    delta: float = typer.Option(None, "--set-delta", help="set the total δ (admin; default: unchanged)"),
    reason: str = typer.Option(None, "--reason", "-r", help="reason for a new total"),
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
        _(
            "%(dataset)s: ε %(eps_spent)s / %(eps_total)s spent, %(eps_left)s left; δ %(delta_spent)s / %(delta_total)s, %(delta_left)s left",
            dataset=escape(out["dataset"]),
            eps_spent=format(out["epsilon_spent"], ".6g"),
            eps_total=format(out["epsilon_total"], ".6g"),
            eps_left=format(out["epsilon_left"], ".6g"),
            delta_spent=format(out["delta_spent"], ".3g"),
            delta_total=format(out["delta_total"], ".3g"),
            delta_left=format(out["delta_left"], ".3g"),
        )
    )
    table = ListTable("id", _("kind"), _("release"), "ε", "δ", _("ε left"), _("by"), _("at"))
    for e in out["entries"]:
        table.add_row(
            str(e["id"]), e["kind"], str(e["release_id"] or ""), f"{e['epsilon']:.4g}", f"{e['delta']:.3g}",
            f"{e['epsilon_left']:.4g}", escape(e["by"]), e["at"][:19],
        )  # fmt: skip
    console.print(table)
