"""datastore_search_sql: one SELECT over published releases, through the governed-SQL rules and engine.

Each published release is a table named by its resource id, every released field readable in
clear: the same rules as a consumer's governed query (`shuzhi.exchange.policy.govern`: one query,
allowlisted functions, no table functions or system catalogs, every table resolved) then run in
the same sandboxed engine (`shuzhi.engine.interface.engine_for`) with a row cap and a time limit.
A table that is not a published release is refused by name, as an unknown dataset is. `SELECT *`
is allowed here (a release's fields never change): it is expanded to the release's fields first.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.qualify import qualify

from shuzhi.config import Settings
from shuzhi.engine.interface import Result, engine_for
from shuzhi.exchange.masking import MaskRule
from shuzhi.exchange.policy import GrantedTable, QueryLimits, govern, parse_query, referenced_names


class NotPublished(Exception):
    """The query reads tables that are not published releases (named in `names`)."""

    def __init__(self, names: list[str]):
        super().__init__(", ".join(names))
        self.names = names


ARROW_TO_SQL = {
    "string": "VARCHAR",
    "large_string": "VARCHAR",
    "double": "DOUBLE",
    "float": "FLOAT",
    "int64": "BIGINT",
    "int32": "INTEGER",
    "bool": "BOOLEAN",
    "date32[day]": "DATE",
}


@dataclass(frozen=True)
class PublishedTable:
    resource_id: str
    release_id: int
    fields: list[tuple[str, str]]
    """(name, Arrow type as text) of the released columns."""


def _granted(t: PublishedTable) -> GrantedTable:
    return GrantedTable(
        name=t.resource_id.lower(),
        relation=f"_sz_release_{t.release_id}",
        fields=tuple((n, ARROW_TO_SQL.get(typ, "VARCHAR")) for n, typ in t.fields),
        masks={n: MaskRule() for n, _ in t.fields},
    )


def _expand_stars(tree: exp.Expression, tables: dict[str, GrantedTable]) -> exp.Expression:
    """The query with `*` (outside COUNT(*)) written out as the releases' fields; unchanged when it
    has none or cannot be expanded (the rules then refuse it with their own reason)."""
    stars = [s for s in tree.find_all(exp.Star) if not isinstance(s.parent, exp.Count)]
    if not stars:
        return tree
    schema = {}
    for table in tree.find_all(exp.Table):
        g = tables.get(table.name.lower())
        if g is not None:
            schema[exp.to_identifier(table.name, quoted=True).sql("duckdb")] = dict(g.fields)
    try:
        return qualify(tree.copy(), dialect="duckdb", schema=schema, quote_identifiers=True, identify=True)
    except Exception:  # noqa: BLE001 - left to the rules, which say what is wrong
        return tree


def run(
    settings: Settings, sql: str, published: list[PublishedTable], paths, owner
) -> tuple[Result, list[str]]:
    """The query's result (capped at `ckan.sql_max_rows`) and the resource ids it read. `paths(release_id)`
    gives a release's file, refusing one no longer published."""
    ckan = settings.ckan
    tables = {t.resource_id.lower(): _granted(t) for t in published}
    limits = QueryLimits(settings.exchange.query_max_chars, settings.exchange.query_max_depth)
    parsed = parse_query(sql, "duckdb", limits)
    unknown = [n for n in referenced_names(parsed) if n not in tables]
    if unknown:
        raise NotPublished(unknown)
    tree = _expand_stars(parsed, tables)
    governed = govern(sql, tables, parsed=tree)
    by_relation = {f"_sz_release_{t.release_id}": t for t in published}
    read = {table.name for table in governed.tree.find_all(exp.Table)}
    used = [t for relation, t in by_relation.items() if relation in read]
    relations = {f"_sz_release_{t.release_id}": paths(t.release_id) for t in used}
    result = engine_for(settings).run(
        governed.sql, relations, timeout_s=ckan.sql_timeout_s, max_rows=ckan.sql_max_rows, owner=owner
    )
    return result, [t.resource_id for t in used]


def field_list(schema: pa.Schema) -> list[dict]:
    from shuzhi.web.ckan.datastore import ckan_type

    return [{"id": f.name, "type": ckan_type(f.type)} for f in schema]
