"""Commands of open data: prepare a release under a de-identification plan, approve, reject, withdraw, list."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shuzhi.cli import opendata_stats
from shuzhi.cli.common import ListTable, acting_principal, console, open_context, reports_errors
from shuzhi.cli.lang import _
from shuzhi.i18n import M_, N_

# Domain modules (pyarrow, the disclosure code) are imported inside the commands: `shuzhi` starts fast.

app = typer.Typer(
    help="Open data: releases and statistics.\n\nExample:  shuzhi opendata prepare hz-stats-population --plan plan.json --as stats.steward",
    no_args_is_help=True,
)

AS_HELP = N_("act as this user (audited as them)")


def load_plan(path: Path) -> dict:
    """A plan file (JSON); a hierarchy given as {"kind": "table", "file": "x.csv"} reads ARX's CSV
    format (`;`-separated, the value then its generalisations), relative to the plan file."""
    import csv

    from shuzhi.errors import InvalidInput

    try:
        plan = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(M_("cannot read the plan file: %(problem)s", problem=e), where=str(path)) from None
    for name, entry in (plan.get("fields") or {}).items():
        spec = entry.get("hierarchy") if isinstance(entry, dict) else None
        if isinstance(spec, dict) and "file" in spec:
            source = path.parent / spec.pop("file")
            try:
                with open(source, encoding="utf-8-sig", newline="") as f:
                    spec["rows"] = [r for r in csv.reader(f, delimiter=";") if any(c.strip() for c in r)]
            except OSError as e:
                raise InvalidInput(
                    M_("cannot read the hierarchy: %(problem)s", problem=e), where=name
                ) from None
    return plan


def _print(rows) -> None:
    from shuzhi.opendata.releases import STATE_LABELS

    table = ListTable("id", _("dataset"), _("version"), _("state"), _("rows"), "k", "l", _("suppressed"))
    for r in rows:
        report = r.report or {}
        table.add_row(
            str(r.id),
            r.dataset.identifier,
            str(r.version_number),
            _(STATE_LABELS[r.state]),
            str(r.row_count),
            str(report.get("k", "")),
            str(report.get("l") if report.get("l") is not None else "-"),
            str(report.get("suppressed", "")),
        )
    console.print(table)


@app.command("prepare")
@reports_errors
def prepare(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    plan: Path = typer.Option(None, help="de-identification plan (JSON)"),
    reuse_plan: bool = typer.Option(False, help="reuse the dataset's last plan"),
    version: int = typer.Option(None, help="version number (default: newest)"),
    as_user: str = typer.Option(..., "--as", help=AS_HELP),
) -> None:
    """Build and check a release of a version; a second person then approves it.

    Example:  shuzhi opendata prepare hz-population --plan plan.json --as psb.steward
    """
    from shuzhi.opendata import releases

    settings, db = open_context()
    body = load_plan(plan) if plan is not None else None
    with db.write() as s:
        who = acting_principal(s, as_user)
        r = releases.prepare_release(
            s, settings, who, dataset, version=version, plan=body, reuse_plan=reuse_plan
        )
        report = r.report
        console.print(
            _(
                "release #%(id)s pending: %(rows)s rows, k=%(k)s, l=%(l)s, suppressed %(suppressed)s, sha256 %(sha256)s",
                id=r.id,
                rows=r.row_count,
                k=report["k"],
                l=report["l"] if report["l"] is not None else "-",
                suppressed=report["suppressed"],
                sha256=r.sha256,
            )
        )


def _act(release_id: int, as_user: str | None, action: str, reason: str | None) -> None:
    from shuzhi.opendata import releases

    settings, db = open_context()
    with db.write() as s:
        who = acting_principal(s, as_user)
        r = releases.get_release(s, who, release_id)
        if action == "approve":
            releases.approve_release(s, settings, who, r, reason)
        elif action == "reject":
            releases.reject_release(s, who, r, reason or "")
        else:
            releases.withdraw_release(s, who, r, reason or "")
        console.print(_("release #%(id)s %(state)s", id=r.id, state=M_(releases.STATE_LABELS[r.state])))


@app.command("approve")
@reports_errors
def approve(
    release_id: int,
    reason: str = typer.Option(None),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Publish a pending release (not by the one who prepared it).

    Example:  shuzhi opendata approve 3 --as admin
    """
    _act(release_id, as_user, "approve", reason)


@app.command("reject")
@reports_errors
def reject(
    release_id: int,
    reason: str = typer.Option(..., help="reason (required)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Refuse a pending release.

    Example:  shuzhi opendata reject 3 --reason 年龄分段过细 --as admin
    """
    _act(release_id, as_user, "reject", reason)


@app.command("withdraw")
@reports_errors
def withdraw(
    release_id: int,
    reason: str = typer.Option(..., help="reason (required)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Take a release off at once: its file is no longer served.

    Example:  shuzhi opendata withdraw 3 --reason 发现可识别记录 --as psb.steward
    """
    _act(release_id, as_user, "withdraw", reason)


@app.command("releases")
@reports_errors
def list_releases(
    dataset: str = typer.Option(None, help="Dataset identifier"),
    state: str = typer.Option(None, help="pending | published | rejected | withdrawn"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List releases (with the k and l their files reach).

    Example:  shuzhi opendata releases --state pending
    """
    from shuzhi.opendata import releases

    _, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
        _print(releases.list_releases(s, who, dataset=dataset, state=state))


@app.command("show")
@reports_errors
def show(release_id: int, as_user: str = typer.Option(None, "--as", help=AS_HELP)) -> None:
    """One release as JSON: its plan, public fields and report.

    Example:  shuzhi opendata show 3
    """
    from shuzhi.opendata import releases

    _, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
        console.print_json(json.dumps(releases.release_out(releases.get_release(s, who, release_id))))


app.add_typer(opendata_stats.app, name="stats")
