"""Commands of quality supervision on the `quality` group: the alert inbox, the scorecard, the sweep."""

from __future__ import annotations

import json

import typer

from shuzhi.cli.common import ListTable, acting_principal, console, ok, open_context, reports_errors
from shuzhi.cli.lang import _
from shuzhi.cli.quality import AS_HELP, app
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_


def _figures(figures: dict) -> str:
    return json.dumps(figures, ensure_ascii=False)[:200]


@app.command("alerts")
@reports_errors
def alerts_list(
    state: str = typer.Option(None, help="new, acknowledged, resolved, or open (new and acknowledged)"),
    department: str = typer.Option(None, help="department code (admins and auditors)"),
    kind: str = typer.Option(None, help="alert kind, e.g. metric_anomaly, late_update"),
    as_json: bool = typer.Option(False, "--json", help="print the alerts as JSON"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """The quality alert inbox, newest first.

    Example:  shuzhi quality alerts --state open --as samr.steward
    """
    from shuzhi.orgs.service import get_department
    from shuzhi.quality import alerts

    settings, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
        dept_id = get_department(s, department).id if department else None
        out = alerts.alerts_out(s, alerts.list_alerts(s, who, state=state, department_id=dept_id, kind=kind))
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    table = ListTable("#", _("kind"), _("department"), _("dataset"), _("severity"), _("state"), _("figures"))
    for a in out:
        dataset = f"{a['dataset']} v{a['version']}" if a["version"] else (a["dataset"] or "")
        table.add_row(
            str(a["id"]),
            _(alerts.KINDS[a["kind"]]),
            a["department"] or "",
            dataset,
            _(alerts.SEVERITIES[a["severity"]]),
            _(alerts.STATES[a["state"]]),
            _figures(a["figures"]),
        )
    console.print(table)


@app.command("ack")
@reports_errors
def ack(
    alert_id: int = typer.Argument(..., help="alert number"),
    note: str = typer.Option(None, help="note (optional)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Acknowledge an alert: it is being looked into (audited).

    Example:  shuzhi quality ack 12 --as samr.steward
    """
    from shuzhi.quality import alerts

    settings, db = open_context()
    with db.write() as s:
        alerts.acknowledge(s, acting_principal(s, as_user), alert_id, note)
        ok(_("alert acknowledged"), f"#{alert_id}")


@app.command("resolve")
@reports_errors
def resolve(
    alert_id: int = typer.Argument(..., help="alert number"),
    note: str = typer.Option(None, help="how it was resolved (required)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Resolve an alert, saying how (audited).

    Example:  shuzhi quality resolve 12 --note 已补报 --as samr.steward
    """
    from shuzhi.quality import alerts

    if not note:
        raise InvalidInput(M_("Say how the alert was resolved"), where="note")
    settings, db = open_context()
    with db.write() as s:
        alerts.resolve(s, acting_principal(s, as_user), alert_id, note)
        ok(_("alert resolved"), f"#{alert_id}")


def _pct(value) -> str:
    return "-" if value is None else f"{value:.1f}"


@app.command("scorecard")
@reports_errors
def scorecard(
    as_json: bool = typer.Option(False, "--json", help="print the scorecard as JSON"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Departments ranked by their supervision score, with the figures behind it.

    Example:  shuzhi quality scorecard
    """
    from shuzhi.quality import supervision

    settings, db = open_context()
    with db.read() as s:
        out = supervision.scorecard(s, settings, acting_principal(s, as_user))
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    table = ListTable(
        _("rank"),
        _("department"),
        _("score"),
        _("timeliness"),
        _("quality"),
        _("stability"),
        _("conformity"),
        _("responsiveness"),
        _("late"),
        _("schema changes"),
        _("blocked"),
        _("answered late"),
    )
    for d in out:
        f, c = d["figures"], d["components"]
        table.add_row(
            str(d["rank"] or "-"),
            d["department"],
            _pct(d["score"]),
            *(_pct(c[k]) for k in supervision.COMPONENTS),
            f"{len(f['late'])}/{f['periodic']}",
            f"{len(f['drift'])}/{f['versions']}",
            f"{len(f['blocked'])}/{f['checked']}",
            f"{f.get('share_answered_late', 0) + f.get('share_overdue_open', 0)}/"
            f"{f.get('share_answered', 0) + f.get('share_overdue_open', 0)}",
        )
    console.print(table)


@app.command("sweep")
@reports_errors
def sweep(as_user: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """Raise the alerts the supervision figures call for now (late updates, answers past deadline,
    low scores); an open condition is not raised twice.

    Example:  shuzhi quality sweep
    """
    from shuzhi.quality import supervision

    settings, db = open_context()
    with db.write() as s:
        counts = supervision.run_sweep(s, settings, acting_principal(s, as_user))
    ok(_("supervision sweep done"), ", ".join(f"{k} {v}" for k, v in counts.items()))
