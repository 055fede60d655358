"""Commands of the base registries: register one from its settings file, build it, read it, steward decisions."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shuzhi.cli.common import (
    ListTable,
    acting_principal,
    console,
    ok,
    open_context,
    progress_bar,
    reports_errors,
)
from shuzhi.cli.lang import _
from shuzhi.i18n import N_

app = typer.Typer(
    help="Base registries (one file per person, one per enterprise): register, build, read, and steward decisions.\n\nExample:  shuzhi registry build people --incremental",
    no_args_is_help=True,
)

AS_HELP = N_("act as this user (audited as them)")
REASON_HELP = N_("why (kept with the decision and in the ledger)")


def _principal(as_user: str | None):
    settings, db = open_context()
    with db.read() as s:
        return settings, db, acting_principal(s, as_user)


@app.command("register")
@reports_errors
def register(
    file: Path = typer.Argument(..., help="registry settings (YAML)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Register a base registry from its settings file (checked first; a wrong key is named); again: replace its settings.

    Example:  shuzhi registry register registries/people.yaml
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    with db.write() as s:
        reg = service.register(s, who, file)
        ok(_("registry registered"), f"{reg.name} ({reg.kind})")


@app.command("build")
@reports_errors
def build(
    name: str = typer.Argument(..., help="registry name"),
    incremental: bool = typer.Option(
        None, "--incremental/--full", help="link only new and changed records (default: the settings' build)"
    ),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Build a registry from its sources' shared versions: link, assign stable ids, golden records.

    Example:  shuzhi registry build people --incremental
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    mode = None if incremental is None else ("incremental" if incremental else "full")
    with progress_bar(transient=True) as bar:
        task = bar.add_task(_("building %(name)s", name=name), total=len(service.STEPS))

        def step(done: str) -> None:
            bar.update(task, advance=1, description=_("building %(name)s", name=name) + f" · {done}")

        run = service.build(db, settings, who, name, mode, progress=step)
    _print_run(run)


def _print_run(run: dict) -> None:
    c = run["counts"]
    console.print(
        _(
            "run #%(id)s (%(mode)s, %(state)s): %(records)s records, %(entries)s entries",
            id=run["id"],
            mode=run["mode"],
            state=run["state"],
            records=c.get("records", "-"),
            entries=c.get("entries", "-"),
        )
    )
    table = ListTable(
        _("created"),
        _("kept"),
        _("merged"),
        _("split"),
        _("retired"),
        _("attributes changed"),
        _("conflicts"),
    )
    table.add_row(
        *(
            str(c.get(k, "-"))
            for k in ("created", "kept", "merged", "split", "retired", "attributes_changed", "conflicts")
        )
    )
    console.print(table)
    sources = ListTable(_("dataset"), _("version"), _("records read"))
    for dataset, version in run["sources"].items():
        sources.add_row(dataset, str(version), str(c.get("records_read", {}).get(dataset, "-")))
    console.print(sources)
    console.print(_("time: %(steps)s", steps=", ".join(f"{k} {v:.2f}s" for k, v in run["timings"].items())))
    _print_published(run.get("published"))


def _print_published(published: dict | None) -> None:
    if not published:
        return
    if "error" in published:
        console.print("[yellow]![/] " + _("not published: %(why)s", why=published["error"]))
    elif published["unchanged"]:
        ok(_("published: unchanged"), f"{published['dataset']} v{published['version']}")
    else:
        ok(_("published"), f"{published['dataset']} v{published['version']}")


@app.command("publish")
@reports_errors
def publish(
    name: str = typer.Argument(..., help="registry name"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Publish the registry's golden table as the next version of dataset registry-NAME (graded, shared and read like any dataset); a build does it itself unless its settings say publish: false.

    Example:  shuzhi registry publish people
    """
    from shuzhi.registry import publish as publishing
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    service._require_admin(who)
    report = publishing.publish(db, settings, who, name)
    version = report.same_as if report.unchanged else report.version
    _print_published({"dataset": report.dataset, "version": version, "unchanged": report.unchanged})


@app.command("status")
@reports_errors
def status(
    name: str = typer.Argument(..., help="registry name"),
    as_json: bool = typer.Option(False, "--json", help="print as JSON"),
) -> None:
    """A registry's entries, last runs and open conflicts.

    Example:  shuzhi registry status people
    """
    from shuzhi.registry import service

    settings, db = open_context()
    with db.read() as s:
        out = service.status(s, name)
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    console.print(
        _(
            "%(name)s (%(kind)s): %(active)s active entries, %(retired)s retired, %(open)s open conflicts",
            name=out["name"],
            kind=out["kind"],
            active=out["entries"]["active"],
            retired=out["entries"]["retired"],
            open=out["open_conflict_count"],
        )
    )
    runs = ListTable(
        "#",
        _("mode"),
        _("state"),
        _("started"),
        _("records"),
        _("created"),
        _("merged"),
        _("split"),
        _("retired"),
    )
    for r in out["runs"]:
        c = r["counts"] or {}
        runs.add_row(str(r["id"]), r["mode"], r["state"], r["started_at"] or "", *(str(c.get(k, "-")) for k in ("records", "created", "merged", "split", "retired")))  # fmt: skip
    console.print(runs)
    if out["open_conflicts"]:
        table = ListTable(_("entry"), _("attribute"))
        for x in out["open_conflicts"]:
            table.add_row(x["entry_id"], x["attribute"])
        console.print(table)


@app.command("show")
@reports_errors
def show(
    name: str = typer.Argument(..., help="registry name"),
    entry_id: str = typer.Argument(..., help="entry id, e.g. P-00000042"),
    as_json: bool = typer.Option(False, "--json", help="print as JSON"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """One entry: golden attributes with where each came from, member records, conflicts.

    Example:  shuzhi registry show people P-00000042 --as psb.steward
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    with db.write() as s:  # the read is in the ledger
        out = service.read_entry(s, who, name, entry_id)
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    head = out["entry_id"] + (
        "" if out["state"] == "active" else f" ({out['retired_reason']} → {out['merged_into'] or '-'})"
    )
    console.print(head)
    attrs = ListTable(_("attribute"), _("value"), _("dataset"), _("version"), _("row"), _("rule"))
    for a in out["attributes"]:
        attrs.add_row(a["attribute"], a["value"], a["dataset"], str(a["version"]), a["row"], a["rule"])
    console.print(attrs)
    members = ListTable(_("record"), _("dataset"), _("version"), _("row"))
    for m in out["members"]:
        members.add_row(m["record_key"], m["dataset"], str(m["version"]), m["row"])
    console.print(members)
    for c in out["conflicts"]:
        values = "; ".join(f"{x['value']} ({x['source_dataset']} v{x['source_version']})" + (" ✓" if x["chosen"] else "") for x in c["candidates"])  # fmt: skip
        console.print(_("conflict on %(attribute)s (%(state)s): %(values)s", attribute=c["attribute"], state=c["state"], values=values))  # fmt: skip


def _decided(row) -> None:
    ok(_("decision recorded: applied on the next build"), f"#{row.id} {row.kind}")


@app.command("resolve")
@reports_errors
def resolve(
    name: str = typer.Argument(..., help="registry name"),
    entry_id: str = typer.Argument(..., help="entry id"),
    attribute: str = typer.Argument(..., help="attribute, e.g. birth_date"),
    value: str = typer.Argument(..., help="the value to keep (one a source holds)"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Choose the value of an entry's attribute where sources disagree.

    Example:  shuzhi registry resolve people P-00000042 birth_date 1980-03-01 --reason "户籍核实" --as psb.steward
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    with db.write() as s:
        _decided(service.resolve(s, who, name, entry_id, attribute, value, reason))


@app.command("split")
@reports_errors
def split(
    name: str = typer.Argument(..., help="registry name"),
    entry_id: str = typer.Argument(..., help="entry id"),
    records: list[str] = typer.Argument(..., help="record keys to take out (dataset#row)"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Take records out of an entry: they never share it with its other records again.

    Example:  shuzhi registry split people P-00000042 hz-hrss-insured#1001 --reason "同名不同人"
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    with db.write() as s:
        _decided(service.split(s, who, name, entry_id, records, reason))


@app.command("merge")
@reports_errors
def merge(
    name: str = typer.Argument(..., help="registry name"),
    entry_ids: list[str] = typer.Argument(..., help="two entry ids or more"),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Make several entries one.

    Example:  shuzhi registry merge people P-00000042 P-00000043 --reason "同一人"
    """
    from shuzhi.registry import service

    settings, db, who = _principal(as_user)
    with db.write() as s:
        _decided(service.merge(s, who, name, entry_ids, reason))
