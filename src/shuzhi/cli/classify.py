"""Commands of grading: classify a dataset's latest version, show its grade, review columns and grade."""

from __future__ import annotations

import json
from contextlib import nullcontext

import typer

from shuzhi.cli import lang
from shuzhi.cli.common import ListTable, acting_principal, console, ok, open_context, reports_errors
from shuzhi.cli.lang import _, pick

grade_app = typer.Typer(
    help="Grading: show and review.\n\nExample:  shuzhi grade show hz-psb-population",
    no_args_is_help=True,
)


@reports_errors
def classify(
    dataset: str = typer.Argument(..., help="Dataset identifier or id"),
    version: int = typer.Option(None, "--version", "-v", help="Version number (default: latest)"),
    full: bool = typer.Option(False, "--full", help="Scan every value, not a sample"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
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
                _(
                    "scanning %(dataset)s v%(version)s (%(rows)s rows)…",
                    dataset=ds.identifier,
                    version=target.number,
                    rows=format(target.row_count, ","),
                ),
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
    dataset: str = typer.Argument(..., help="Dataset identifier or id"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
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
    dataset: str = typer.Argument(..., help="Dataset identifier or id"),
    field: str = typer.Option(..., "--field", "-f", help="Column name"),
    reason: str = typer.Option(..., "--reason", "-r", help="Reason"),
    category: str = typer.Option(None, "--category", "-c", help="Override to this category"),
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
            ok(f"{d.field_name}: {d.category} ({d.status}); " + _("dataset") + f" {ds.security_grade}")


@grade_app.command("set")
@reports_errors
def set_grade(
    dataset: str = typer.Argument(..., help="Dataset identifier or id"),
    reason: str = typer.Option(..., "--reason", "-r", help="Reason"),
    level: str = typer.Option(None, "--level", "-l", help="Level, e.g. L3 (omit to confirm)"),
    data_class: str = typer.Option(
        None, "--class", help="Data class, by its code in the grading rules (see the example)"
    ),
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
            ok(f"{ds.identifier}: {g.level} / {g.data_class} ({g.status})")


def _pending(result) -> bool:
    """Say so when a review went below what grading derived and now waits for an admin."""
    from shuzhi.classify.models import LoweringRequest

    if not isinstance(result, LoweringRequest):
        return False
    target = _("column %(name)s", name=result.field_name) if result.field_name else _("dataset")
    awaiting = _("awaiting approval")
    console.print(
        f"[yellow]{awaiting}[/]: "
        + _(
            "%(target)s %(current)s → %(level)s, below what grading derived (%(derived)s); request "
            "#%(id)s. %(current)s holds until an admin approves: shuzhi grade approve %(id)s --as <admin>",
            target=target,
            current=result.current_level,
            level=result.level,
            derived=result.derived_level,
            id=result.id,
        ),
        highlight=False,
    )
    return True


@grade_app.command("lowerings")
@reports_errors
def lowerings(
    state: str = typer.Option("pending", help="pending, approved, rejected or superseded"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Requests to lower a grade below what grading derived, newest first.

    Example:  shuzhi grade lowerings --state pending
    """
    from shuzhi.catalog.models import Dataset
    from shuzhi.classify import lowering

    _settings, db = open_context()
    with db.read() as s:
        rows = [lowering.as_dict(r) for r in lowering.search(s, state=state)]
        names = {
            d.id: d.identifier
            for d in s.query(Dataset).filter(Dataset.id.in_({r["dataset_id"] for r in rows}))
        }
    if as_json:
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    dataset = _("dataset")
    table = ListTable("id", dataset, _("target"), _("change"), _("by"), _("reason"), whole=(dataset,))
    for r in rows:
        table.add_row(
            str(r["id"]),
            names.get(r["dataset_id"], str(r["dataset_id"])),
            r["field"] or f"({dataset})",
            f"{r['current_level']} → {r['level']} (" + _("derived %(level)s", level=r["derived_level"]) + ")",
            r["requested_by"],
            r["reason"],
        )
    console.print(table)


@grade_app.command("approve")
@reports_errors
def approve(
    request_id: int = typer.Argument(..., help="Request id (see grade lowerings)"),
    as_user: str = typer.Option(
        ..., "--as", help="The approving admin (a platform admin other than who asked)"
    ),
    note: str = typer.Option(None, "--note", "-n", help="Note"),
) -> None:
    """Approve a request to lower a grade, as an admin other than who asked; the lower level holds from now.

    Example:  shuzhi grade approve 3 --as admin --note "经核实为测试数据"
    """
    from shuzhi.classify.review import approve_lowering

    settings, db = open_context()
    with db.write() as s:
        done = approve_lowering(s, settings, acting_principal(s, as_user), request_id, note=note)
        ok(_("approved: request #%(id)s, now %(level)s", id=done.id, level=done.level))


@grade_app.command("reject")
@reports_errors
def reject(
    request_id: int = typer.Argument(..., help="Request id (see grade lowerings)"),
    as_user: str = typer.Option(
        ..., "--as", help="The deciding admin (a platform admin other than who asked)"
    ),
    note: str = typer.Option(..., "--note", "-n", help="Why it is rejected"),
) -> None:
    """Reject a request to lower a grade, as an admin other than who asked; the higher level stays.

    Example:  shuzhi grade reject 3 --as admin --note "身份证号列仍含真实号码"
    """
    from shuzhi.classify.review import reject_lowering

    _settings, db = open_context()
    with db.write() as s:
        done = reject_lowering(s, acting_principal(s, as_user), request_id, note=note)
        ok(_("rejected: request #%(id)s", id=done.id))


@grade_app.command("resolve")
@reports_errors
def resolve(
    dataset: str = typer.Argument(..., help="Dataset identifier or id"),
    alert_id: int = typer.Argument(..., help="Alert id, as listed by grade show"),
    note: str = typer.Option(None, "--note", "-n", help="What was done about it"),
    as_user: str = typer.Option(None, "--as", help="Act as this user, audited (default: platform admin)"),
) -> None:
    """Mark a grading alert resolved, as the owning department's steward or an admin; written to the ledger.

    Example:  shuzhi grade resolve hz-health-birth 7 --note "已确认为真实出生医学证明号码" --as health.steward
    """
    from shuzhi.catalog.service import get_dataset
    from shuzhi.classify.alerts import resolve_alert

    _settings, db = open_context()
    with db.write() as s:
        who = acting_principal(s, as_user)
        ds = get_dataset(s, dataset)
        alert = resolve_alert(s, who, ds, alert_id, note=note)
        ok(_("alert #%(id)s resolved", id=alert.id), lang.say(alert.message))


def _show(session, settings, ds, as_json: bool) -> None:
    from shuzhi.classify.readmodel import classification

    info = classification(session, settings, ds)
    if as_json:
        console.print_json(json.dumps(info, ensure_ascii=False, default=str))
        return
    if not info["graded"]:
        console.print(f"{ds.identifier}: " + _("not graded yet"))
        return
    rule = info["rule"]
    rule_text = (
        f"{rule.get('zh')} — {rule.get('en')}"
        if lang.current() is None
        else pick(rule.get("zh"), rule.get("en"))
    )
    console.print(
        f"[bold]{ds.identifier}[/] v{info['version']}: [bold]{info['level']}[/] / {info['data_class']}"
        f" ({info['status']})  " + _("rule") + f": {rule_text}"
    )
    review_note = _("review")
    for flag in info["flags"]:
        console.print(
            f"[yellow]![/] {pick(flag.get('zh'), flag.get('en'))} "
            f"({flag.get('persons')} ≥ {flag.get('min_persons')}) — {review_note}"
        )
    table = ListTable(_("column"), _("category"), _("level"), _("conf."), _("status"), _("evidence"))
    for c in info["columns"]:
        ev = c["evidence"]
        why = lang.say(ev.get("reason")) or _evidence(ev)
        table.add_row(
            c["field"],
            pick(c["category_zh"], c.get("category_en")) or c["category"],
            c["level"],
            f"{c['confidence']:.2f}",
            c["status"],
            why,
        )
    console.print(table)
    for a in info["alerts"]:
        alert = _("alert")
        console.print(f"[yellow]{alert}[/] #{a['id']} {lang.say(a['message'])}")
    if info["alerts"]:
        console.print(_("resolve") + f": shuzhi grade resolve {ds.identifier} <id> --note …", highlight=False)


def _evidence(ev: dict) -> str:
    """How a column's category was found: the share of valid values, the detector, hints."""
    text = _(
        "%(valid)s/%(scanned)s valid (%(share)s) %(detector)s",
        valid=ev.get("valid"),
        scanned=ev.get("non_null_scanned"),
        share=format(ev.get("share_valid", 0), ".0%"),
        detector=ev.get("detector"),
    )
    if ev.get("name_hint"):
        text += ", " + _("hint «%(hint)s»", hint=ev["name_hint"])
    if ev.get("examples"):
        text += ", " + _("e.g. %(examples)s", examples=", ".join(ev["examples"][:2]))
    return text
