"""The `shuzhi` command: one Typer app, each domain contributing its sub-commands."""

from __future__ import annotations

import typer

from shuzhi.cli import audit, catalog, core, exchange, jobs, orgs
from shuzhi.cli import classify as classify_cli
from shuzhi.cli import ingest as ingest_cli

app = typer.Typer(
    name="shuzhi",
    help="数治 Shuzhi — 政务数据治理平台 (government data governance platform).\n\n"
    "Example:  shuzhi init && shuzhi demo",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command("init")(core.init)
app.command("serve")(core.serve)
app.command("demo")(core.demo)
app.command("ingest")(ingest_cli.ingest)
app.command("verify-data")(ingest_cli.verify_data)
app.add_typer(catalog.app, name="dataset")
app.command("classify")(classify_cli.classify)
app.add_typer(classify_cli.grade_app, name="grade")
app.add_typer(orgs.dept_app, name="dept")
app.add_typer(orgs.user_app, name="user")
app.add_typer(orgs.token_app, name="token")
app.add_typer(audit.app, name="audit")
app.add_typer(exchange.app, name="exchange")
app.command("worker")(jobs.worker)
app.add_typer(jobs.app, name="jobs")


def main() -> None:
    app()
