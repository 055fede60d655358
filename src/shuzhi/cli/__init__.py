"""The `shuzhi` command: one Typer app; the face's own commands, then each domain's through
`register_commands`."""

from __future__ import annotations

import typer

from shuzhi.cli import core, jobs


def build_app() -> typer.Typer:
    """The command tree from the registered domains (built-in ones and installed plugins)."""
    from shuzhi.hooks import collect

    cli = typer.Typer(
        name="shuzhi",
        help="数治 Shuzhi — 政务数据治理平台 (government data governance platform).\n\n"
        "Example:  shuzhi init && shuzhi demo",
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    cli.command("init")(core.init)
    cli.command("serve")(core.serve)
    cli.command("demo")(core.demo)
    cli.command("worker")(jobs.worker)  # jobs are the platform's, not a domain's
    cli.add_typer(jobs.app, name="jobs")
    for name, command in collect("register_commands"):
        if isinstance(command, typer.Typer):
            cli.add_typer(command, name=name)
        else:
            cli.command(name)(command)
    return cli


app = build_app()


def main() -> None:
    app()
