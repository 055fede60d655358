"""SQL-safe names of datasets: the alias each dataset answers to besides its identifier (the rule is
the catalog's, since it decides which identifiers may be registered; see `shuzhi.exchange.aliases`)."""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

_UNSAFE = re.compile(r"[^a-z0-9_]")


@lru_cache(maxsize=4096)
def plain_name(name: str) -> bool:
    """Whether `name` is read as that very table name when written unquoted (not a keyword)."""
    try:
        tree = sqlglot.parse_one(f"SELECT 1 FROM {name}", read="duckdb")
    except Exception:  # noqa: BLE001 - any failure to read it back means: not safe unquoted
        return False
    table = tree.find(exp.Table)
    return (
        table is not None
        and isinstance(table.this, exp.Identifier)
        and table.name == name
        and not table.args.get("db")
    )


def base_alias(identifier: str) -> str:
    """The alias an identifier asks for, before collisions are settled."""
    name = _UNSAFE.sub("_", identifier.lower())
    if not name or not (name[0].isalpha() or name[0] == "_") or not plain_name(name):
        name = "d_" + name
    return name


def assign(datasets: list[tuple[int, str]]) -> dict[int, str]:
    """Dataset id -> alias, for the whole catalog's (id, identifier) pairs."""
    ordered = sorted(datasets)
    identifiers = {ident.lower() for _id, ident in ordered}
    claimed: set[str] = set()
    out: dict[int, str] = {}
    # Names already SQL-safe stand for themselves: claimed first, oldest first.
    for ds_id, ident in ordered:
        if base_alias(ident) == ident.lower() and ident.lower() not in claimed:
            out[ds_id] = ident.lower()
            claimed.add(ident.lower())
    for ds_id, ident in ordered:
        if ds_id in out:
            continue
        candidate = base_alias(ident)
        n = 0
        while candidate in identifiers or candidate in claimed:
            n += 1
            candidate = f"{base_alias(ident)}_{ds_id}" + (f"_{n}" if n > 1 else "")
        out[ds_id] = candidate
        claimed.add(candidate)
    return out


def may_be_alias_of(name: str, identifier: str) -> bool:
    """Whether `name` (lower case) could be `identifier`'s alias: every alias begins with the
    identifier made safe, or that with ``d_`` before it (a collision appends ``_<id>``). A plain
    string test, so that only these few candidates need `assign`'s full (parsing) answer."""
    safe = _UNSAFE.sub("_", identifier.lower())
    return name.startswith((safe, "d_" + safe))
