"""Commands of the audit ledger: verify it, prove entries, issue signed tree heads, search and export."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from shuzhi.cli import lang
from shuzhi.cli.common import ListTable, console, err_console, ok, open_context, progress_bar, reports_errors
from shuzhi.cli.lang import _
from shuzhi.i18n import N_

if TYPE_CHECKING:
    from shuzhi.ledger.query import EntryFilter

# The ledger's modules (cryptography, the Merkle code) are imported inside the commands, so that
# `shuzhi` starts fast whatever command runs.

app = typer.Typer(help="Audit ledger.\n\nExample:  shuzhi audit verify", no_args_is_help=True)


def _public_key(settings, path: Path | None):
    from shuzhi.ledger import keys

    if path is not None:
        return keys.load_public_pem(path.read_bytes())
    return keys.public_key(settings)


# The phases verify_ledger reports, in order; the bar advances one step per phase.
_VERIFY_PHASES = {
    "entries": N_("entries"),
    "tree": N_("Merkle tree"),
    "tree heads": N_("tree heads"),
    "state": N_("security state"),
}


@contextmanager
def _phase_bar(*, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A progress bar that moves one step each time verification enters a new phase."""
    if quiet:  # --json output must stay machine-readable
        yield lambda _phase: None
        return
    with progress_bar(transient=True) as bar:
        task = bar.add_task(_("verifying"), total=len(_VERIFY_PHASES))
        started = False

        def step(phase: str) -> None:
            nonlocal started
            description = _(
                "verifying %(phase)s", phase=_(_VERIFY_PHASES[phase]) if phase in _VERIFY_PHASES else phase
            )
            bar.update(task, advance=1 if started else 0, description=description)
            started = True

        yield step
        bar.update(task, completed=len(_VERIFY_PHASES))


@app.command("verify")
@reports_errors
def verify(
    public_key: Path = typer.Option(
        None, "--public-key", help="PEM public key to trust (default: derived from the local signing key)."
    ),
    kept: list[Path] = typer.Option(
        None, "--against", help="A tree head saved earlier (JSON of GET /api/v1/ledger/sth); repeatable."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Recompute every leaf, subtree and signed tree head, and reconcile users, roles, tokens, grants and
    grades with the entries; exit 1 naming the first bad sequence number or each row that differs.

    Example:  shuzhi audit verify --public-key ledger.pub.pem --against sth-2026-11-01.json
    """
    from shuzhi.ledger import sth
    from shuzhi.ledger.snapshot import read_snapshot
    from shuzhi.ledger.verify import verify_ledger

    settings, db = open_context()
    key = _public_key(settings, public_key)
    trusted = [sth.SignedHead.from_dict(json.loads(p.read_text())) for p in kept or ()]
    with read_snapshot(db) as s, _phase_bar(quiet=as_json) as step:
        report = verify_ledger(s, key, trusted=trusted, progress=step)
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    elif report.ok:
        ok(
            _("ledger intact"),
            _(
                "%(entries)s entries, %(heads)s signed tree heads, %(rows)s rows of security state match "
                "the ledger",
                entries=report.entries,
                heads=report.tree_heads,
                rows=report.state_rows,
            ),
        )
    else:
        first = report.first_bad_seq
        if report.tampered:
            tampered = _("ledger tampered")
            first_bad = ": " + _("first bad seq = %(seq)s", seq=first) if first is not None else ""
            err_console.print(f"[bold red]✗ {tampered}[/]{first_bad}")
        if report.state_differences:
            differs = _("security state differs from the ledger")
            rows = _("%(rows)s rows (changed around the ledger)", rows=report.state_differences)
            err_console.print(f"[bold red]✗ {differs}[/]: {rows}")
        for p in report.problems:
            # The kind is text, not markup; a problem stays on one line so it can be grepped.
            err_console.print(f"  - {escape(f'[{p.kind}] {lang.say(p.message)}')}", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)


@app.command("prove")
@reports_errors
def prove(
    seq: int = typer.Argument(..., help="Sequence number of the entry."),
    tree_size: int = typer.Option(
        None, "--tree-size", help="Prove against the signed tree head of this size."
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print the proof bundle as JSON (for a client to check)."
    ),
) -> None:
    """Print an inclusion proof of entry SEQ against a signed tree head, and check it.

    Example:  shuzhi audit prove 42 --json > proof-42.json
    """
    from shuzhi.ledger import keys, proofs

    settings, db = open_context()
    with db.write() as s:
        bundle = proofs.inclusion_bundle(s, settings, seq, tree_size)
    failures = proofs.check_inclusion_bundle(bundle, keys.public_key(settings))
    if as_json:
        sys.stdout.write(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n")
    else:
        console.print(_("entry #%(seq)s", seq=seq) + f": {bundle['entry']}")
        console.print(_("leaf hash") + f": {bundle['leaf_hash']}")
        console.print(
            _("tree size") + f": {bundle['tree_size']}  " + _("root") + f": {bundle['sth']['root_hash']}"
        )
        path = _("path")
        for i, p in enumerate(bundle["inclusion_path"]):
            console.print(f"  {path}[{i}] {p}")
    if failures:
        for f in failures:
            err_console.print(f"[bold red]✗[/] {escape(lang.say(f))}")
        raise typer.Exit(1)
    if not as_json:
        ok(_("inclusion proof verifies against the signed tree head"))


@app.command("sth")
@reports_errors
def issue_sth() -> None:
    """Sign and store a tree head for the log as it is now.

    Example:  shuzhi audit sth
    """
    from shuzhi.ledger import sth

    settings, db = open_context()
    with db.write() as s:
        head = sth.SignedHead.of(sth.issue_tree_head(s, settings))
    console.print_json(json.dumps(head.to_dict()))


@app.command("public-key")
@reports_errors
def public_key_cmd() -> None:
    """Print the ledger's public key (PEM), for auditors and clients who verify proofs.

    Example:  shuzhi audit public-key > ledger.pub.pem
    """
    from shuzhi.ledger import keys

    settings, _ = open_context(migrate=False)
    sys.stdout.write(keys.public_pem(keys.public_key(settings)))


def _filter(
    session,
    settings,
    user: str | None,
    dept: str | None,
    dataset: str | None,
    event: str | None,
    outcome: str | None,
    since: datetime | None,
    until: datetime | None,
) -> EntryFilter:
    """The filter with names resolved to ids and times read in the display time zone."""
    from shuzhi.ledger.query import EntryFilter
    from shuzhi.oversight import clock, names

    zone = settings.display_timezone
    return EntryFilter(
        names.resolve(session, "user", user),
        names.resolve(session, "department", dept),
        names.resolve(session, "dataset", dataset),
        event,
        outcome,
        clock.to_utc(since, zone),
        clock.to_utc(until, zone),
    )


_USER = typer.Option(None, help="User name (or id).")
_DEPT = typer.Option(None, help="Department code (or id).")
_DATASET = typer.Option(None, help="Dataset identifier (or id).")
_SINCE = typer.Option(None, help="From this time (display time zone unless it names an offset).")
_UNTIL = typer.Option(None, help="Before this time (display time zone unless it names an offset).")


@app.command("log")
@reports_errors
def show_log(
    user: str = _USER,
    dept: str = _DEPT,
    dataset: str = _DATASET,
    event: str = typer.Option(None, help="Event name, or a prefix ending in '.' (e.g. request.)."),
    outcome: str = typer.Option(None, help="ok | denied | failed"),
    since: datetime = _SINCE,
    until: datetime = _UNTIL,
    limit: int = typer.Option(50, help="How many, newest first."),
) -> None:
    """Show ledger entries, newest first, filtered; who and what by name, times in the display
    time zone (setting display_timezone).

    Example:  shuzhi audit log --user hrss.analyst --event data. --dataset hz-psb-population --limit 20
    """
    from shuzhi.ledger import query
    from shuzhi.oversight import clock, names

    settings, db = open_context()
    zone = settings.display_timezone
    with db.read() as s:
        rows = query.search(
            s, _filter(s, settings, user, dept, dataset, event, outcome, since, until), limit=limit
        )
        named = names.names_for(s, rows)
    time, event, dataset = _("time"), _("event"), _("dataset")
    table = ListTable(
        "seq",
        time,
        event,
        _("outcome"),
        _("user"),
        _("dept"),
        dataset,
        whole=(time, event, dataset),
        caption=_("times in %(zone)s", zone=zone),
    )
    for e in rows:
        entry = query.entry_dict(e)
        who = named.of(entry)
        when = clock.local_text(entry["timestamp"], zone).rsplit(" (", 1)[0]
        table.add_row(str(e.seq), when, e.event, e.outcome, who["user"], who["dept"], who["dataset"])
    console.print(table)


@app.command("export")
@reports_errors
def export(
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write."),
    user: str = _USER,
    dept: str = _DEPT,
    dataset: str = _DATASET,
    event: str = typer.Option(None, help="Event name, or a prefix ending in '.' (e.g. request.)."),
    outcome: str = typer.Option(None, help="ok | denied | failed"),
    since: datetime = _SINCE,
    until: datetime = _UNTIL,
) -> None:
    """Export ledger entries (oldest first) as CSV.

    Example:  shuzhi audit export --event data.read --since 2026-01-01 -o reads.csv
    """
    from shuzhi.ledger import query
    from shuzhi.ledger.snapshot import read_snapshot

    settings, db = open_context()
    with read_snapshot(db) as s, out.open("w", encoding="utf-8", newline="") as f:
        for chunk in query.iter_csv(
            s, _filter(s, settings, user, dept, dataset, event, outcome, since, until)
        ):
            f.write(chunk)
    ok(_("exported to %(path)s", path=str(out)))
