"""SQL-safe dataset aliases: a name every dataset can be queried by without quoting.

A dataset identifier may hold hyphens and dots (``hrss-social-insurance``), which SQL reads as
minus signs and schema separators unless the name is double-quoted. Each dataset therefore also
answers to an alias made of lower-case letters, digits and underscores:

* the identifier in lower case with every other character turned into ``_``
  (``hrss-social-insurance`` -> ``hrss_social_insurance``), prefixed ``d_`` when that would start
  with a digit or be an SQL keyword;
* an identifier that is already such a name is its own alias;
* when the alias would be taken — by another dataset's identifier or by an older dataset's alias —
  the dataset's id is appended (``a_b_17``).

Aliases are computed from the catalog (oldest dataset first), not stored: unique across all
datasets and identifiers by construction, and the same on every call for the same catalog. An
identifier always means its own dataset, so a new dataset whose identifier equals an existing
alias moves that alias to its ``_<id>`` form. An alias is only another name: the access decision
and every policy check are taken for the dataset it names, as if the identifier had been written.
"""

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


def catalog_aliases(session) -> dict[int, str]:
    """Dataset id -> alias for every dataset in the catalog."""
    # Imported here: the policy plane imports `base_alias` and stays free of the catalog's models.
    from sqlalchemy import select

    from shuzhi.catalog.models import Dataset

    return assign([(i, ident) for i, ident in session.execute(select(Dataset.id, Dataset.identifier))])


def dataset_by_alias(session, name: str):
    """The dataset whose alias is `name` (case-insensitive), or None."""
    from shuzhi.catalog.models import Dataset

    wanted = name.lower()
    for ds_id, alias in catalog_aliases(session).items():
        if alias == wanted:
            return session.get(Dataset, ds_id)
    return None
