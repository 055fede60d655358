"""Commands of data quality: a dataset's rules (set, show), runs on a version, results and scores."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from shuzhi.cli.common import ListTable, acting_principal, console, ok, open_context, reports_errors
from shuzhi.cli.lang import _, pick
from shuzhi.i18n import M_, N_
from shuzhi.quality.kinds import DIMENSION_LABELS, DIMENSIONS

app = typer.Typer(
    help="Data quality: rules per dataset, runs, results and scores.\n\nExample:  shuzhi quality run hz-samr-enterprise --as samr.steward",
    no_args_is_help=True,
)
rules_app = typer.Typer(
    help="A dataset's quality rules.\n\nExample:  shuzhi quality rules show hz-samr-enterprise",
    no_args_is_help=True,
)
app.add_typer(rules_app, name="rules")

AS_HELP = N_("act as this user (audited as them)")


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


@rules_app.command("set")
@reports_errors
def rules_set(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    file: Path = typer.Argument(..., help="rule set (YAML or JSON)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Save a dataset's rule set from a file; a wrong rule is refused, naming it and why.

    Example:  shuzhi quality rules set hz-samr-enterprise rules.yaml --as samr.steward
    """
    from shuzhi.errors import InvalidInput
    from shuzhi.quality import ruleset, service

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(
            M_("cannot read the rule set: %(problem)s", problem=str(e)), where=str(file)
        ) from None
    settings, db = open_context()
    with db.write() as s:
        row = service.save_rules(s, acting_principal(s, as_user), dataset, ruleset.load_text(text))
        ok(_("rule set saved"), f"{dataset} r{row.revision} ({len(row.body['rules'])})")


@rules_app.command("show")
@reports_errors
def rules_show(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    as_json: bool = typer.Option(False, "--json", help="print the rule set as JSON"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """The rule set in force; values of sensitive fields masked except for the owning department.

    Example:  shuzhi quality rules show hz-samr-enterprise --json --as samr.steward
    """
    from shuzhi.quality import service

    settings, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
    out = service.read_rules(db, settings, who, dataset)
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    from shuzhi.quality.ruleset import COMMON

    table = ListTable("#", _("name"), _("kind"), _("parameters"), _("dimension"), _("blocking"))
    for i, r in enumerate(out["rules"]):
        params = {k: v for k, v in r.items() if k not in (*COMMON, "values_masked")}
        table.add_row(
            str(i + 1),
            r["name"],
            r["kind"],
            json.dumps(params, ensure_ascii=False)
            + (" " + _("(values masked)") if r["values_masked"] else ""),
            r["dimension"],
            "✓" if r["blocking"] else "",
        )
    console.print(table)


@app.command("run")
@reports_errors
def run(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    version: int = typer.Option(None, help="version number (default: newest)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Run a dataset's rules on a version: exact counts per rule and the quality scores.

    Example:  shuzhi quality run hz-samr-enterprise --as samr.steward
    """
    from shuzhi.quality import service

    settings, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
    run_id = service.run(db, settings, who, dataset, version)
    with db.read() as s:
        _print_run(service.read_run(s, who, run_id))


def _print_run(out: dict) -> None:
    console.print(
        _(
            "run #%(id)s of %(dataset)s v%(version)s: %(rows)s rows, score %(score)s",
            id=out["id"],
            dataset=out["dataset"],
            version=out["version"],
            rows=out["rows"],
            score=_score(out["score"]),
        )
    )
    dims = ListTable(_("dimension"), _("score"))
    for name, value in out["dimensions"].items():
        dims.add_row(_(DIMENSION_LABELS.get(name, name)), _score(value))
    console.print(dims)
    table = ListTable("#", _("name"), _("kind"), _("checked"), _("failed"), _("score"))
    for r in out["results"]:
        table.add_row(
            str(r["position"] + 1),
            r["name"] + (" ⛔" if r["blocking"] and r["rows_failed"] else ""),
            r["kind"],
            str(r["rows_checked"]),
            str(r["rows_failed"]),
            r["error"] or _score(r["score"]),
        )
    console.print(table)
    for r in out["results"]:
        for row in r.get("sample") or []:
            console.print(f"  {r['name']} #{row['row']}: {json.dumps(row['values'], ensure_ascii=False)}")


@app.command("results")
@reports_errors
def results(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    run_id: int = typer.Option(None, "--run", help="run id (default: the newest)"),
    samples: bool = typer.Option(False, "--samples", help="show the masked failing rows (audited)"),
    history: bool = typer.Option(False, "--history", help="the scores over versions instead"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """A run's results, or the scores over versions.

    Example:  shuzhi quality results hz-samr-enterprise --samples --as samr.steward
    """
    from shuzhi.catalog.service import get_dataset
    from shuzhi.errors import NotFound
    from shuzhi.quality import service

    settings, db = open_context()
    with db.write() if samples else db.read() as s:
        who = acting_principal(s, as_user)
        ds = get_dataset(s, dataset)
        if history:
            table = ListTable(_("version"), _("score"), *(_(DIMENSION_LABELS[d]) for d in DIMENSIONS))
            for r in service.history(s, ds):
                table.add_row(
                    str(r.version_number), _score(r.score), *(_score(r.dimensions.get(d)) for d in DIMENSIONS)
                )
            console.print(table)
            return
        if run_id is None:
            found = service.runs_of(s, ds, limit=1)
            if not found:
                raise NotFound(
                    M_("dataset %(identifier)s has no quality run", identifier=ds.identifier), where="run"
                )
            run_id = found[0].id
        out = service.read_run(s, who, run_id, samples=samples)
        if out["dataset"] != ds.identifier:
            raise NotFound(M_("No quality run %(id)s", id=run_id), where="run")
        _print_run(out)


@app.command("override")
@reports_errors
def override(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    version: int = typer.Option(None, help="version number (default: newest)"),
    reason: str = typer.Option(..., help="reason (required)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Let a version that failed a blocking rule be shared and published, saying why (audited).

    Example:  shuzhi quality override hz-samr-enterprise --reason 已核实为历史遗留编码 --as samr.steward
    """
    from shuzhi.quality import service

    settings, db = open_context()
    with db.write() as s:
        row = service.override_block(s, acting_principal(s, as_user), dataset, version, reason)
        ok(_("block overridden"), f"{dataset} run #{row.run_id}")


# -- proposed rules -----------------------------------------------------------------------------------


def _print_proposals(out: dict) -> None:
    from shuzhi.quality.proposing import STATE_LABELS

    table = ListTable("#", _("version"), _("state"), _("rule"), _("reason"))
    for p in out["proposals"]:
        params = {k: v for k, v in p["rule"].items() if k != "kind"}
        table.add_row(
            str(p["id"]),
            str(p["version"]),
            pick(*STATE_LABELS[p["state"]]),
            f"{p['kind']} {json.dumps(params, ensure_ascii=False)}",
            pick(p["reason"]["zh"], p["reason"]["en"]),
        )
    console.print(table)


@app.command("propose")
@reports_errors
def propose(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    version: int = typer.Option(None, help="version number (default: newest)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Propose rules from a version's statistics and grading, for a steward to accept or reject.

    Example:  shuzhi quality propose hz-samr-enterprise --as samr.steward
    """
    from shuzhi.quality import proposing

    settings, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
    ids = proposing.make(db, settings, who, dataset, version)
    ok(_("rules proposed"), f"{dataset} ({len(ids)})")
    _print_proposals(proposing.read(db, settings, who, dataset, ids=ids))


@app.command("proposals")
@reports_errors
def proposals(
    dataset: str = typer.Argument(..., help="Dataset identifier"),
    state: str = typer.Option(
        None, help="only proposals in this state (proposed, accepted, rejected, superseded)"
    ),
    as_json: bool = typer.Option(False, "--json", help="print the proposals as JSON"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """A dataset's proposed rules; values of sensitive fields masked except for the owning department.

    Example:  shuzhi quality proposals hz-samr-enterprise --state proposed --as samr.steward
    """
    from shuzhi.quality import proposing

    settings, db = open_context()
    with db.read() as s:
        who = acting_principal(s, as_user)
    out = proposing.read(db, settings, who, dataset, state=state)
    if as_json:
        console.print_json(json.dumps(out, ensure_ascii=False))
        return
    _print_proposals(out)


@app.command("accept")
@reports_errors
def accept(
    proposal_id: int = typer.Argument(..., help="proposal id"),
    rule_json: str = typer.Option(
        None, "--rule-json", help="the rule as edited (JSON; default: as proposed)"
    ),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Accept a proposed rule, as proposed or edited: it is appended to the dataset's rule set.

    Example:  shuzhi quality accept 12 --rule-json '{"kind": "range", "field": "年龄", "min": 0, "max": 150}' --as samr.steward
    """
    from shuzhi.errors import InvalidInput
    from shuzhi.quality import proposing

    edited = None
    if rule_json is not None:
        try:
            edited = json.loads(rule_json)
        except ValueError as e:
            raise InvalidInput(
                M_("cannot read the rule: %(problem)s", problem=str(e)), where="--rule-json"
            ) from None
    settings, db = open_context()
    with db.write() as s:
        p = proposing.accept(s, acting_principal(s, as_user), proposal_id, edited)
        ok(_("proposal accepted"), f"#{p.id} {p.key} → r{p.revision}")


@app.command("reject")
@reports_errors
def reject(
    proposal_id: int = typer.Argument(..., help="proposal id"),
    reason: str = typer.Option(..., help="reason (required)"),
    as_user: str = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Reject a proposed rule, saying why; it is not proposed again for the dataset.

    Example:  shuzhi quality reject 12 --reason 该字段允许为空 --as samr.steward
    """
    from shuzhi.quality import proposing

    settings, db = open_context()
    with db.write() as s:
        p = proposing.reject(s, acting_principal(s, as_user), proposal_id, reason)
        ok(_("proposal rejected"), f"#{p.id} {p.key}")
