"""Commands of background jobs: `shuzhi worker` (the broker runner's worker process) and
`shuzhi jobs` (list runs, follow one, run or cancel one)."""

from __future__ import annotations

import json
import time

import typer
from rich.markup import escape

from shuzhi.cli import lang
from shuzhi.cli.common import ListTable, console, open_context, progress_bar, reports_errors
from shuzhi.cli.lang import _
from shuzhi.i18n import M_

app = typer.Typer(help="Background jobs.\n\nExample:  shuzhi jobs list", no_args_is_help=True)

_STATE_STYLE = {"queued": "cyan", "running": "yellow", "done": "green", "failed": "red", "cancelled": "dim"}
FOLLOW_POLL_S = 0.5


def _register_plugins(modules: list[str]) -> None:
    import importlib

    from shuzhi.hooks import plugin_manager

    pm = plugin_manager()
    for name in modules:
        if pm.get_plugin(name) is None:
            pm.register(importlib.import_module(name), name=name)


@reports_errors
def worker(
    plugin: list[str] = typer.Option([], help="Also register this plugin module"),
) -> None:
    """Run job workers for the broker runner (jobs.runner = "redis") until stopped (Ctrl-C, SIGTERM).

    Runs the jobs the server and the periodic timer queue; keeps the periodic timer too, so jobs
    run on time with no server up. Several workers may run at once, on one machine or many.

    Example:  SHUZHI_JOBS__RUNNER=redis shuzhi worker
    """
    import os
    import signal

    from shuzhi.errors import ConfigurationError
    from shuzhi.jobs.broker import POLL_S, consuming
    from shuzhi.jobs.runner import Runner

    settings, db = open_context()
    if settings.jobs.runner != "redis":
        raise ConfigurationError(
            M_(
                "jobs.runner is %(runner)s: jobs run inside the server; a worker needs 'redis'",
                runner=repr(settings.jobs.runner),
            ),
            where="jobs.runner",
            hint=M_("Set %(setting)s", setting="SHUZHI_JOBS__RUNNER=redis"),
        )
    _register_plugins(plugin)
    signals: list[int] = []
    leaving = _("asked again: leaving now; the runs in progress are taken up by another worker")

    def on_signal(signum, _frame) -> None:
        # Only notes the signal: the handler runs between two bytecodes of the main thread, maybe
        # while that holds a lock the handler would need.
        if signals:
            os.write(2, f"{leaving}\n".encode())
            os._exit(128 + signum)
        signals.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    runner = Runner(db, settings, serving=False).start()
    console.print(
        _(
            "job worker started: %(threads)s threads, %(jobs)s jobs",
            threads=settings.jobs.threads,
            jobs=len(runner.jobs),
        )
    )
    try:
        with consuming(runner):
            while not signals:
                time.sleep(POLL_S)  # a signal landing on another thread wakes no sleeper: look again
            console.print(_("stopping: the runs in progress finish first (Ctrl-C again leaves now)"))
    finally:
        runner.stop()
        db.dispose()


def _table(rows: list[dict]) -> ListTable:
    job, state, created = _("job"), _("state"), _("created")
    table = ListTable(
        "id", job, state, _("progress"), _("attempts"), created, _("note"), whole=(job, state, created)
    )
    for r in rows:
        style = _STATE_STYLE.get(r["state"], "")
        progress = f"{r['progress'] * 100:.0f}%" if r["progress"] is not None else ""
        note = lang.say(r["error"] if r["state"] == "failed" else r["note"])
        table.add_row(
            str(r["id"]),
            r["name"],
            f"[{style}]{r['state']}[/]",
            progress,
            f"{r['attempts']}/{r['max_attempts']}",
            (r["created_at"] or "")[:19],
            escape((note or "")[:80]),
        )
    return table


@app.command("list")
@reports_errors
def list_jobs(
    state: str = typer.Option(None, help="queued, running, done, failed or cancelled"),
    name: str = typer.Option(None, help="Only runs of this job"),
    limit: int = typer.Option(30, min=1, max=200, help="How many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """Job runs, newest first.

    Example:  shuzhi jobs list --state failed
    """
    from shuzhi.jobs import service

    _settings, db = open_context()
    with db.read() as s:
        rows = [service.as_dict(r) for r in service.search(s, state=state, name=name, limit=limit)]
    if as_json:
        console.print_json(json.dumps(rows))
    else:
        console.print(_table(rows))


def _read(db, job_id: int) -> dict:
    from shuzhi.jobs import service

    with db.read() as s:
        return service.as_dict(service.get(s, job_id))


def _follow(db, job_id: int) -> dict:
    """A progress bar of the run until it ends; returns its last state."""
    from shuzhi.jobs.models import FINAL

    run = _read(db, job_id)
    with progress_bar() as bar:
        task = bar.add_task(f"{run['name']} #{job_id}", total=1.0)
        while True:
            note = run["note"] or run["state"]
            bar.update(task, completed=run["progress"] or 0.0, description=f"{run['name']} #{job_id}: {note}")
            if run["state"] in FINAL:
                return run
            time.sleep(FOLLOW_POLL_S)
            run = _read(db, job_id)


def _report(run: dict) -> None:
    style = _STATE_STYLE.get(run["state"], "")
    console.print(_("job #%(id)s", id=run["id"]) + f" {run['name']}: [{style}]{run['state']}[/]")
    for key in (
        "progress",
        "note",
        "error",
        "attempts",
        "max_attempts",
        "worker",
        "created_at",
        "started_at",
        "finished_at",
    ):
        if run[key] is not None:
            console.print(f"  {key}: {escape(str(run[key]))}")
    if run["state"] == "failed":
        raise typer.Exit(1)


@app.command("show")
@reports_errors
def show(
    job_id: int = typer.Argument(..., help="The run's number (see jobs list)"),
    follow: bool = typer.Option(False, "--follow", "-f", help="Follow until it ends"),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON"),
) -> None:
    """One job run; with --follow, a progress bar until it ends (exit code 1 if it failed).

    Example:  shuzhi jobs show 12 --follow
    """
    _settings, db = open_context()
    run = _follow(db, job_id) if follow and not as_json else _read(db, job_id)
    if as_json:
        console.print_json(json.dumps(run))
    else:
        _report(run)


@app.command("run")
@reports_errors
def run_now(
    name: str = typer.Argument(..., help="The job's name, e.g. exchange.expire_grants"),
    follow: bool = typer.Option(True, help="Wait for it to end"),
) -> None:
    """Queue a run of a job now. On the in-process runner this command runs it itself.

    Example:  shuzhi jobs run exchange.expire_grants
    """
    from shuzhi.jobs.runner import Runner

    settings, db = open_context()
    runner = Runner(db, settings, serving=settings.jobs.runner == "inprocess")
    try:
        job_id = runner.submit(name)
        console.print(_("queued: job #%(id)s", id=job_id))
        if follow:
            _report(_follow(db, job_id))
    finally:
        runner.stop()


@app.command("cancel")
@reports_errors
def cancel(job_id: int = typer.Argument(..., help="The run's number (see jobs list)")) -> None:
    """Cancel a queued run; a running one stops at its next progress report. Recorded in the audit
    ledger as done from the command line by the operating-system user.

    Example:  shuzhi jobs cancel 12
    """
    import getpass

    from shuzhi.operations.jobs import cancel_job

    _settings, db = open_context()
    with db.write() as s:
        run = cancel_job(s, job_id, by=f"cli:{getpass.getuser()}")
        requested = " " + _("(cancel requested)") if run.state == "running" else ""
        console.print(_("job #%(id)s", id=job_id) + f": {run.state}{requested}")
