"""The `shuzhi` command: one Typer app; the face's own commands, then each domain's through
`register_commands`; its language is chosen before anything is printed (see `shuzhi.cli.lang`)."""

from __future__ import annotations

import sys

import typer
from typer.core import TyperGroup

from shuzhi.cli import core, jobs, lang
from shuzhi.i18n import N_


class _Root(TyperGroup):
    """The root command: chooses the run's language, then puts the help texts into it.

    Typer reads the help texts (docstrings, options' help) when it builds the Click tree, before the
    arguments are read; so the tree is built from the English sources (the msgids) and translated
    here, once --lang (or SHUZHI_LANG) is known. A quiet first parse reads it without acting on any
    other option (no help printed, no error raised: the real parse that follows does that)."""

    def main(self, args=None, prog_name=None, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        with self.make_context(prog_name or "shuzhi", argv, resilient_parsing=True) as ctx:
            option = ctx.params.get("language")
            lang.use(lang.choose(option.value if option else None))
            lang.translate_help(self, ctx)
        return super().main(args=args, prog_name=prog_name, **extra)


def _root(
    language: lang.Language = typer.Option(
        None,
        "--lang",
        envvar="SHUZHI_LANG",
        case_sensitive=False,
        help=N_("Language of the output: zh or en (default: from the locale; both when it names neither)."),
    ),
) -> None:
    """The language is already chosen (see _Root.main); the option is declared here to be parsed."""


def build_app() -> typer.Typer:
    """The command tree from the registered domains (built-in ones and installed plugins)."""
    from shuzhi.hooks import collect

    cli = typer.Typer(
        name="shuzhi",
        cls=_Root,
        help="Shuzhi — government data governance platform.\n\nExample:  shuzhi init && shuzhi demo",
        no_args_is_help=True,
        rich_markup_mode="rich",
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    cli.callback()(_root)
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
