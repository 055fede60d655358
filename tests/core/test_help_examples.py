"""Every example in the CLI's help names things that exist in the demo city: its datasets and their
fields, its departments, its users. A new command with an example naming nothing real fails here."""

from __future__ import annotations

import re
import shlex

import pytest
import typer.main

from shuzhi.cli import build_app
from shuzhi.demo.catalog import DEFINITIONS
from shuzhi.demo.departments import demo_users, departments
from shuzhi.demo.geography import DEFAULT_CITY, load_city

DEPTS = {d.code for d in departments(load_city(DEFAULT_CITY))}
USERS = {
    u.username for u in demo_users(departments(load_city(DEFAULT_CITY)), {d.department for d in DEFINITIONS})
}
FIELDS = {d.identifier: {f[0] for f in d.fields} for d in DEFINITIONS}
DATASET_FIRST = {"classify", "verify-data", "dataset show", "grade show", "grade review", "grade set",
                 "grade resolve", "exchange request", "exchange export"}  # fmt: skip
USER_FIRST = {"user roles", "user unlock", "token create", "token list"}
SWITCHES = {"--full", "--json", "--follow", "--no-serve"}
"""Options that take no value."""
NEW_NAMES = {"dept add": "HZ-EDU", "user add": "li.na"}  # what an example creates is new by design


def _examples() -> list[tuple[str, list[str]]]:
    found = []

    def walk(cmd, path: list[str]) -> None:
        for line in re.findall(r"(?<![\w-])shuzhi ([^\n]+)", cmd.help or ""):
            for one in re.split(r"\s{2,}(?=shuzhi )|&&", line):
                args = shlex.split(one.strip().removeprefix("shuzhi "), comments=True)
                if args and args[0] != "shuzhi":
                    found.append((" ".join(path), [a for a in args if a not in (">",)]))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(build_app()), [])
    return found


def _command(args: list[str]) -> str:
    two = " ".join(args[:2])
    return two if two in DATASET_FIRST | USER_FIRST | set(NEW_NAMES) else args[0]


def _positionals(args: list[str]) -> list[str]:
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
        elif a.startswith("-"):
            skip = "=" not in a and a not in SWITCHES
        else:
            out.append(a)
    return out


EXAMPLES = _examples()


def test_the_help_has_examples():
    assert len(EXAMPLES) >= 40


@pytest.mark.parametrize(("where", "args"), EXAMPLES, ids=[" ".join(a)[:60] for _, a in EXAMPLES])
def test_an_example_names_what_the_demo_city_has(where, args):
    command = _command(args)
    options = dict(zip(args, args[1:], strict=False))
    new = NEW_NAMES.get(command)
    if "--as" in options:
        assert options["--as"] in USERS, f"--as {options['--as']} is no demo user"
    for flag in ("--dept", "--parent"):
        if flag in options:
            assert options[flag] in DEPTS, f"{flag} {options[flag]} is no demo department"
    if "--dataset" in options:
        assert options["--dataset"] in FIELDS, f"--dataset {options['--dataset']} is no demo dataset"
    rest = _positionals(args)[len(command.split()) :]
    if command in DATASET_FIRST and rest:  # verify-data alone checks every dataset
        dataset = rest[0]
        assert dataset in FIELDS, f"{dataset} is no demo dataset"
        named = [options[f] for f in ("-f", "--field") if f in options]
        named += options.get("--fields", "").split(",") if "--fields" in options else []
        assert set(named) <= FIELDS[dataset], f"{named} are not all fields of {dataset}"
    if command in USER_FIRST and rest:  # user unlock --address names no user
        assert rest[0] in USERS, f"{rest[0]} is no demo user"
    if new is not None:
        assert rest[0] == new and new not in USERS | DEPTS
    for token in args:
        assert not re.fullmatch(r"[A-Z]+-[A-Z]+-\d{3}|\w+_(steward|analyst)", token), token
