"""Governed SQL: the policy plane that turns a consumer's SELECT into one that can only see its grants.

Each governance rule is a function ``(tree, ctx) -> tree`` in the shape of sqlglot's optimizer
passes; they run in the order listed in ``RULES`` and are tested with golden files of consumer
SQL and the expected rewritten SQL for DuckDB and Spark (tests/exchange/golden/).

Enforcement is by substitution: every reference to a granted dataset is replaced by a subquery
over the registered dataset version that projects only the granted fields, each already masked,
with the grant's row filter in its own WHERE. Whatever the consumer writes around it (``OR 1=1``,
predicates on masked values, joins, window functions) sees only that subquery, so masking and
filtering cannot be bypassed. The checks before it exist to refuse early with errors that name
the offending dataset or field, and to keep the sandbox out of reach (no table functions, no
system catalogs, no statements but one query).

A dataset may be written by its identifier or by its SQL-safe alias (`shuzhi.exchange.aliases`):
both name the same `GrantedTable`, so the alias passes exactly the checks the identifier would.

``SELECT *`` (and ``t.*``, ``COLUMNS(...)``, ``* EXCLUDE``) is refused everywhere except in
``COUNT(*)``: a star would silently change meaning when a grant changes, and the error lists the
granted fields to write instead.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from shuzhi.engine.statements import STATEMENT_NODES
from shuzhi.errors import Forbidden, InvalidInput, ShuzhiError
from shuzhi.exchange import functions
from shuzhi.exchange.aliases import base_alias
from shuzhi.exchange.masking import MaskRule, mask_expression, parse_safe_expression
from shuzhi.i18n import M_, N_, Message

# sqlglot logs a warning for every statement it falls back to a Command for; we refuse those anyway.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

# sqlglot's function builders and generators raise more than its own errors on calls they
# cannot take or write (`chr()` with no argument: IndexError); for consumer SQL each is a refusal.
_SQLGLOT_FAILURES = (SqlglotError, ValueError, TypeError, IndexError, KeyError, AttributeError)

RESERVED_PREFIX = "_sz_"
"""Names the rewrite uses for registered relations; consumer SQL may not contain them."""

# Statement and clause node types that never belong in a governed query: every statement the
# engine's guard refuses, and clauses that make no sense in one.
_FORBIDDEN_NODES: tuple[type[exp.Expression], ...] = (
    *STATEMENT_NODES,
    exp.Placeholder,
    exp.Pivot,
    exp.Columns,
    exp.Lock,
    # The rewrite replaces each dataset reference by its policy subquery, and a sample clause
    # would either be dropped with the reference or sample rows before the row filter.
    exp.TableSample,
    # DuckDB's SUMMARIZE/DESCRIBE read a relation named in a string, outside every scope.
    exp.Summarize,
    exp.Describe,
    # `#n` picks a column by position: no name for the field checks to see.
    exp.PositionalColumn,
)


@dataclass(frozen=True)
class GrantedTable:
    """What one consumer may read of one dataset version, as the policy plane needs it."""

    name: str
    """The name consumers write (the dataset identifier)."""
    relation: str
    """The relation the dataset version is registered under in the engine."""
    fields: tuple[tuple[str, str], ...]
    """The dataset's whole schema, (name, SQL type): for resolution and row-filter checks."""
    masks: Mapping[str, MaskRule]
    """Granted fields and their masks; a field absent here is not granted."""
    row_filter: str | None = None
    key: bytes = b""
    """Keyed-hash key of this grant."""
    row_quota_grant: int | None = None
    """The grant read under, when it has a rows-per-day quota: only record reads are allowed."""
    alias: str | None = None
    """The dataset's SQL-safe alias, another name for this same table (`shuzhi.exchange.aliases`)."""

    def granted_in_order(self) -> list[str]:
        return [name for name, _ in self.fields if name in self.masks]


@dataclass
class PolicyContext:
    """What the rules need: the consumer's readable datasets, dialects, and the findings so far."""

    tables: Mapping[str, GrantedTable]
    read: str = "duckdb"
    write: str = "duckdb"
    fields_used: dict[str, set[str]] = field(default_factory=dict)
    """Filled by `check_granted_fields`: dataset name -> granted fields the query reads."""

    def lookup(self, name: str) -> GrantedTable | None:
        return self._by_norm().get(name.lower())

    def _by_norm(self) -> dict[str, GrantedTable]:
        cached = self.__dict__.get("_norm")
        if cached is None:
            # An alias is never another dataset's identifier (aliases.assign), so it adds names only.
            cached = {t.alias.lower(): t for t in self.tables.values() if t.alias}
            cached.update({k.lower(): v for k, v in self.tables.items()})
            self.__dict__["_norm"] = cached
        return cached


@dataclass(frozen=True)
class GovernedQuery:
    sql: str
    """The rewritten query in the write dialect; never shown to the consumer (it holds hash keys)."""
    tree: exp.Expression
    datasets: dict[str, list[str]]
    """Dataset name -> fields read."""
    query_sha256: str


Rule = Callable[[exp.Expression, PolicyContext], exp.Expression]


def _refuse(reason: Message, *, names: list[str] | None = None, **detail) -> Forbidden:
    text = M_("%(reason)s: %(names)s", reason=reason, names=", ".join(names)) if names else reason
    return Forbidden(text, refused=names or [], **detail)


def query_sha256(sql: str) -> str:
    return hashlib.sha256(sql.encode()).hexdigest()


@dataclass(frozen=True)
class QueryLimits:
    """How large a consumer query may be (`exchange.query_max_chars`, `exchange.query_max_depth`)."""

    max_chars: int = 50_000
    max_depth: int = 256
    """Nesting of the parsed query tree: a plain query is 10–20 deep; sqlglot's parser and the
    rules recurse along it, and Python's stack ends at a few hundred levels of parentheses."""


def parse_query(sql: str, dialect: str = "duckdb", limits: QueryLimits | None = None) -> exp.Expression:
    """Exactly one statement, and it must be a query (SELECT, set operation, WITH … SELECT)."""
    limits = limits or QueryLimits()
    if not sql or not sql.strip():
        raise InvalidInput(M_("empty query"))
    if len(sql) > limits.max_chars:
        raise InvalidInput(
            M_(
                "query too long (%(count)s characters, at most %(max_chars)s)",
                count=len(sql),
                max_chars=limits.max_chars,
            ),
            refused=["query_max_chars"],
            hint=M_(_SIMPLIFY),
        )
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except RecursionError:
        # Caught here, before any rule, so the refusal is audited like every other one.
        raise _too_deep(limits) from None
    except ParseError as e:
        raise _parse_error(sql, e) from None
    except _SQLGLOT_FAILURES as e:
        raise InvalidInput(M_("cannot parse SQL: %(first_line)s", first_line=_first_line(e))) from None
    if any(_deeper_than(s, limits.max_depth) for s in statements):
        raise _too_deep(limits)
    if len(statements) != 1:
        raise _refuse(M_("exactly one statement is allowed"), count=len(statements))
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise _refuse(M_("only SELECT queries are allowed"), names=[tree.key.upper()])
    return tree


_SIMPLIFY = N_("split or simplify the query")


def _too_deep(limits: QueryLimits) -> InvalidInput:
    return InvalidInput(
        M_("query nested too deeply (at most %(max_depth)s levels)", max_depth=limits.max_depth),
        refused=["query_max_depth"],
        hint=M_(_SIMPLIFY),
    )


def _deeper_than(tree: exp.Expression, limit: int) -> bool:
    """Whether `tree` nests more than `limit` levels, found without recursing."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return False


_HYPHENATED_SOURCE = re.compile(
    r"\b(?:FROM|JOIN)\s+([A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)+)(?![\w\"'])", re.IGNORECASE
)
"""An unquoted name with hyphens where a dataset is read, as an identifier may be spelled."""


def _parse_error(sql: str, e: ParseError) -> InvalidInput:
    """A syntax error that says where: line and column (1-based), the query's line with a caret
    under the position, and — when the query names something like a hyphenated identifier
    unquoted — the alias to write instead. Only the consumer's own text is quoted back."""
    first = e.errors[0] if e.errors else {}
    description = _describe(str(first.get("description") or _first_line(e)))
    lines = sql.splitlines() or [""]
    line = min(max(int(first.get("line") or 1), 1), len(lines))
    text = lines[line - 1]
    col = min(max(int(first.get("col") or 1), 1), len(text) + 1)
    # Long lines are shown around the position only.
    start = max(0, col - 60)
    shown = ("…" if start else "") + text[start : start + 120]
    caret = caret_padding(shown[: col - start - 1 + (1 if start else 0)]) + "^"
    message = M_(
        "cannot parse SQL (line %(line)s, column %(col)s): %(description)s",
        line=line,
        col=col,
        description=description,
        excerpt="\n" + shown + "\n" + caret,
    )
    return InvalidInput(message, hint=_alias_hint(text), line=line, col=col)


def _describe(description: str) -> str | Message:
    """sqlglot's description of a syntax error, in words for people where it speaks of its own
    classes ("Required keyword: 'this' missing for <class '…Paren'>")."""
    if description.startswith("Required keyword"):
        return M_("incomplete expression")
    if description.startswith("Invalid expression / Unexpected token"):
        return M_("unexpected token here")
    if description.startswith("Expecting "):
        wanted = description.removeprefix("Expecting ")[:40]
        return M_("expecting %(wanted)s", wanted=wanted)
    return description[:200]


def caret_padding(before: str) -> str:
    """Spaces as wide as `before` in a monospaced font (a CJK character takes two columns)."""
    return "".join(
        "\t" if ch == "\t" else "  " if unicodedata.east_asian_width(ch) in "WF" else " " for ch in before
    )


def _alias_hint(text: str) -> Message | None:
    names = [m.group(1) for m in _HYPHENATED_SOURCE.finditer(text)]
    if not names:
        return None
    return M_(
        "a dataset name with hyphens must be double-quoted or written as its alias: %(choices)s",
        choices="; ".join(f'"{name}" → {base_alias(name)}' for name in dict.fromkeys(names)),
    )


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0][:300] if str(e) else type(e).__name__


# -- rules -------------------------------------------------------------------------------


def strip_comments(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Comments carry nothing a query needs and could smuggle text into the rewritten SQL."""
    for node in tree.walk():
        node.comments = None
    return tree


def _allowed_source(node: exp.Expression) -> bool:
    """A FROM or JOIN source: a named dataset or CTE (what a table may name is checked at the
    table), a parenthesised SELECT (LATERAL too), or VALUES."""
    if isinstance(node, exp.Lateral):
        node = node.this
    if isinstance(node, exp.Subquery):
        return isinstance(node.this, exp.Query)
    return isinstance(node, exp.Table | exp.Values)


def _source_kind(node: exp.Expression) -> str:
    inner = node.this if isinstance(node, exp.Lateral | exp.Subquery) else node
    inner = inner.this if isinstance(inner, exp.Subquery) else inner
    return inner.key.upper()


def reject_forbidden_constructs(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """No statements inside the query, no table functions, only allowlisted functions."""
    for node in tree.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise _refuse(M_("construct not allowed"), names=[node.key.upper()])
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Identifier):
            raise _refuse(M_("table functions are not allowed"), names=[_func_name(node.this)])
        if isinstance(node, exp.Table) and (node.args.get("db") or node.args.get("catalog")):
            written = node.sql(ctx.read)
            raise _refuse(
                M_("only catalog dataset names may be used"),
                names=[written],
                hint=M_(
                    'a dataset name with dots must be double-quoted or written as its alias: "%(written)s" → %(alias)s',
                    written=written,
                    alias=base_alias(written),
                ),
            )
        if isinstance(node, exp.Func):
            _check_function(node, ctx.read)
        if isinstance(node, exp.From | exp.Join) and not _allowed_source(node.this):
            # An allowlist of what a query may read from: DuckDB reads more than tables there
            # (`(SUMMARIZE '<relation>')` reads a raw relation no scope analysis sees).
            raise _refuse(M_("source not allowed"), names=[_source_kind(node.this)])
        if isinstance(node, exp.Subquery) and not isinstance(node.this, exp.Query):
            raise _refuse(M_("a subquery must be a SELECT"), names=[node.this.key.upper()])
        if isinstance(node, exp.Join) and (node.args.get("method") or "").upper() == "NATURAL":
            raise _refuse(M_("NATURAL JOIN is not allowed; write ON"))
        if isinstance(node, exp.With) and node.args.get("recursive"):
            # An unbounded generator in disguise (a string doubled per step is 2^n bytes).
            raise _refuse(M_("recursive queries are not allowed"), names=["WITH RECURSIVE"])
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.USERDEFINED:
            # sqlglot keeps an unknown (or quoted) type name as text and writes it back unquoted:
            # `CAST(1 AS "x) … --")` would put the consumer's text into the rewritten SQL verbatim.
            raise _refuse(M_("type not supported"), names=[node.sql(ctx.read)[:80]])
    return tree


def _check_function(node: exp.Func, dialect: str) -> None:
    """Only functions on the allowlist (`shuzhi.exchange.functions`) may be called."""
    name = functions.refused(node, dialect)
    if name is not None:
        raise _refuse(M_("function not allowed"), names=[name], hint=functions.reason_left_out(name))


def _func_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return node.key.lower()


def reject_unportable(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """DuckDB-only syntax that sqlglot would pass to Spark unchanged is refused for Spark."""
    if ctx.write == ctx.read:
        return tree
    for node in tree.walk():
        if isinstance(node, exp.Join) and (node.args.get("method") or "").upper() in ("ASOF", "POSITIONAL"):
            raise _refuse(
                M_("join not portable to %(write)s", write=ctx.write),
                names=[node.args["method"].upper()],
            )
        if isinstance(node, exp.Anonymous):
            raise _refuse(M_("function not portable to %(write)s", write=ctx.write), names=[node.name])
    return tree


def normalise(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Identifiers compared the way the engine compares them (DuckDB: case-insensitive)."""
    return normalize_identifiers(tree, dialect=ctx.read)


def reject_reserved_names(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    for node in tree.find_all(exp.Identifier):
        if str(node.this).lower().startswith(RESERVED_PREFIX):
            raise _refuse(M_("name uses a reserved prefix"), names=[str(node.this)])
    return tree


def reject_stars(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """`*` only inside COUNT(*); everywhere else the consumer lists the granted fields."""
    for node in tree.find_all(exp.Star):
        if isinstance(node.parent, exp.Count) and not node.args.get("except"):
            continue
        granted = {t.name: t.granted_in_order() for t in _datasets_in(tree, ctx)}
        hint = "; ".join(f"{name}: {', '.join(cols)}" for name, cols in granted.items()) or None
        raise _refuse(M_("SELECT * is not allowed; list granted fields"), hint=hint)
    return tree


def _datasets_in(tree: exp.Expression, ctx: PolicyContext) -> list[GrantedTable]:
    seen: dict[str, GrantedTable] = {}
    for t in tree.find_all(exp.Table):
        g = ctx.lookup(t.name)
        if g is not None:
            seen[g.name] = g
    return list(seen.values())


def _dataset_sources(scope: Scope) -> list[tuple[str, exp.Table]]:
    """(alias, table) of the base tables a scope reads directly, CTE references excluded."""
    out = []
    for alias, (_node, source) in scope.selected_sources.items():
        if isinstance(source, exp.Table):
            out.append((alias, source))
    return out


def resolve_datasets(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Every base table must be a dataset the consumer may read; a CTE of the same name shadows it."""
    resolved: set[int] = set()
    refused: list[str] = []
    for scope in traverse_scope(tree):
        for _alias, table in _dataset_sources(scope):
            resolved.add(id(table))
            if ctx.lookup(table.name) is None:
                refused.append(table.name)
        for table in scope.tables:
            if isinstance(scope.sources.get(table.alias_or_name), Scope):
                resolved.add(id(table))
    # A table that scope analysis did not place (sqlglot leaves some positions unscoped) is refused.
    stray = [t.name for t in tree.find_all(exp.Table) if id(t) not in resolved]
    if refused or stray:
        names = sorted(set(refused + stray))
        raise _refuse(M_("dataset not granted or unknown"), names=names)
    return tree


def qualify_columns(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Resolve every column to its source through scopes (aliases, CTEs, subqueries, USING)."""
    # Keyed by the names the query writes (an identifier or an alias), as sqlglot resolves them.
    schema = {}
    for table in tree.find_all(exp.Table):
        granted = ctx.lookup(table.name)
        if granted is not None:
            schema[table.name] = {name: typ for name, typ in granted.fields}
    try:
        return qualify(
            tree,
            dialect=ctx.read,
            schema=schema,
            validate_qualify_columns=True,
            quote_identifiers=True,
            identify=True,
        )
    except OptimizeError as e:
        raise InvalidInput(M_("cannot resolve column: %(first_line)s", first_line=_first_line(e))) from None


def check_granted_fields(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Every column read from a dataset must be granted; the error names all that are not."""
    refused: set[str] = set()
    for scope in traverse_scope(tree):
        datasets = {alias: ctx.lookup(table.name) for alias, table in _dataset_sources(scope)}
        for column in scope.columns:
            grant = datasets.get(column.table)
            if grant is None:
                continue
            name = _field_name(grant, column.name)
            if name is None or name not in grant.masks:
                refused.add(f"{grant.name}.{column.name}")
            else:
                ctx.fields_used.setdefault(grant.name, set()).add(name)
    if refused:
        raise _refuse(M_("fields not granted"), names=sorted(refused))
    return tree


def _field_name(grant: GrantedTable, normalised: str) -> str | None:
    for name, _ in grant.fields:
        if name.lower() == normalised.lower():
            return name
    return None


def require_record_reads(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Under a rows-per-day quota, each result row must be one source record.

    The quota counts result rows, so anything that puts many records' values into one row —
    aggregates (``max(x, 1000)``, ``list``, ``string_agg``), windows (``lead``), joins, grouping,
    set operations, subqueries — would let one counted row carry a thousand. Such a grant is for
    reading records: one dataset, its fields and scalar expressions of them, a filter, an order and
    a limit (what the rows endpoint and exports send). Analysis wants a grant without a row quota.
    Runs on the consumer's tree before the policy subqueries go in.
    """
    quota = [t for t in _datasets_in(tree, ctx) if t.row_quota_grant is not None]
    if not quota:
        return tree
    bad = _not_a_record_read(tree, functions.names(ctx.read, kinds=("aggregate", "window")))
    if bad:
        grant = quota[0].row_quota_grant
        raise Forbidden(
            M_(
                "grant %(grant)s: under a rows-per-day quota only record reads are allowed (one dataset, no %(bad)s)",
                grant=grant,
                bad=bad,
            ),
            refused=[str(bad)],
            grant_id=grant,
            quota="rows_per_day",
        )
    return tree


_NOT_RECORD_CLAUSES = (
    ("with_", "WITH"),
    ("group", "GROUP BY"),
    ("having", "HAVING"),
    ("distinct", "DISTINCT"),
    ("qualify", "QUALIFY"),
)


def _not_a_record_read(tree: exp.Expression, many_rows: frozenset[str]) -> str | Message | None:
    """What makes `tree` more than a record read, or None. `many_rows`: the allowlisted aggregate
    and window function names (every other function was refused by an earlier rule)."""
    if not isinstance(tree, exp.Select):
        return M_("set operations")
    for arg, label in _NOT_RECORD_CLAUSES:
        if tree.args.get(arg):
            return label
    for node in tree.walk():
        if isinstance(node, exp.Join):
            return "JOIN"
        if isinstance(node, (exp.Subquery, exp.SetOperation)) or (
            isinstance(node, exp.Select) and node is not tree
        ):
            return M_("subqueries")
        if isinstance(node, exp.Window):
            return M_("window functions")
        if isinstance(node, exp.AggFunc) or (
            isinstance(node, exp.Anonymous) and str(node.name).lower() in many_rows
        ):
            return M_("aggregates")
    return None


def inject_policy(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Replace each dataset reference by the masked, filtered subquery of its grant."""
    for scope in traverse_scope(tree):
        for alias, table in _dataset_sources(scope):
            grant = ctx.lookup(table.name)
            assert grant is not None  # resolve_datasets refused the rest
            used = ctx.fields_used.get(grant.name, set())
            table.replace(policy_subquery(grant, alias or table.name, used))
    return tree


def policy_subquery(grant: GrantedTable, alias: str, used: set[str] | None = None) -> exp.Subquery:
    """``(SELECT mask(f) AS f, … FROM relation WHERE row_filter) AS alias`` for one grant.

    Only the granted fields the query reads are projected (the first granted one when it reads
    none, as in COUNT(*)), which keeps plans small; unread fields could not be seen anyway.
    """
    relation = grant.relation
    names = [n for n in grant.granted_in_order() if used is None or n in used]
    names = names or grant.granted_in_order()[:1]

    def raw(name: str) -> exp.Column:
        return exp.column(name, table=relation, quoted=True)

    projections = [
        exp.alias_(mask_expression(grant.masks[name], raw(name), key=grant.key), name, quoted=True)
        for name in names
    ]
    select = exp.select(*projections).from_(exp.Table(this=exp.to_identifier(relation, quoted=True)))
    if grant.row_filter:
        select = select.where(row_filter_expression(grant, relation))
    select.meta["shuzhi_policy"] = grant.name
    return select.subquery(exp.to_identifier(alias, quoted=True))


def row_filter_expression(grant: GrantedTable, relation: str) -> exp.Expression:
    """The grant's row filter with its columns bound to the raw relation (no outer capture)."""
    tree = validate_row_filter(grant.row_filter or "", [n for n, _ in grant.fields])
    for column in tree.find_all(exp.Column):
        name = _field_name(grant, column.name) or column.name
        column.replace(exp.column(name, table=relation, quoted=True))
    return exp.paren(tree, copy=False)


def validate_row_filter(predicate: str, fields: list[str], dialect: str = "duckdb") -> exp.Expression:
    """A row filter is one predicate over the dataset's own fields: comparisons, ``AND``/``OR``/
    ``NOT``, ``IN``, ``BETWEEN``, ``IS NULL``, ``LIKE`` and the allowlisted scalar functions;
    no subqueries, aggregates or windows."""
    return parse_safe_expression(
        predicate,
        columns=set(fields),
        what=M_("row filter"),
        dialect=dialect,
        refused_function=lambda node: functions.refused(node, dialect, scalar_only=True),
    )


def assert_sealed(tree: exp.Expression, ctx: PolicyContext) -> exp.Expression:
    """Last line: raw relations are read only inside policy subqueries."""
    relations = {t.relation.lower() for t in ctx.tables.values()}
    for table in tree.find_all(exp.Table):
        if table.name.lower() in relations:
            select = table.find_ancestor(exp.Select)
            if select is None or "shuzhi_policy" not in select.meta:
                raise _refuse(M_("policy rewrite did not seal a raw relation"), names=[table.name])
        elif table.name.lower() not in _cte_names(tree):
            raise _refuse(M_("dataset not granted or unknown"), names=[table.name])
    return tree


def _cte_names(tree: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}


RULES: tuple[Rule, ...] = (
    strip_comments,
    reject_forbidden_constructs,
    reject_unportable,
    normalise,
    reject_reserved_names,
    resolve_datasets,
    reject_stars,
    qualify_columns,
    check_granted_fields,
    require_record_reads,
    inject_policy,
    assert_sealed,
)
"""The governance rules, in order. Every read channel's SQL passes through all of them."""


def govern(
    sql: str | exp.Expression,
    tables: Mapping[str, GrantedTable],
    *,
    read: str = "duckdb",
    write: str = "duckdb",
    limits: QueryLimits | None = None,
    parsed: exp.Expression | None = None,
) -> GovernedQuery:
    """Check and rewrite one consumer query against what the consumer may read.

    `parsed` is `sql` as the caller already parsed it (`parse_query`): it is not parsed again, and
    the rules work on a copy, so the caller's tree stays as the consumer wrote it."""
    text = sql if isinstance(sql, str) else sql.sql(read)
    if parsed is not None:
        tree = parsed.copy()
    else:
        tree = parse_query(sql, read, limits) if isinstance(sql, str) else sql.copy()
    if not isinstance(tree, exp.Query):
        raise _refuse(M_("only SELECT queries are allowed"), names=[tree.key.upper()])
    ctx = PolicyContext(tables=tables, read=read, write=write)
    try:
        for rule in RULES:
            tree = rule(tree, ctx)
    except ShuzhiError:
        raise
    except Exception as e:  # noqa: BLE001 - a rule that cannot judge a query refuses it
        raise _refuse(M_("query cannot be checked"), hint=type(e).__name__) from None
    try:
        out = tree.sql(dialect=write)
    except _SQLGLOT_FAILURES as e:
        raise _refuse(M_("query cannot be written for %(write)s", write=write), hint=_first_line(e)) from None
    _assert_round_trip(out, tree, ctx)
    return GovernedQuery(
        sql=out,
        tree=tree,
        datasets={name: sorted(cols) for name, cols in sorted(ctx.fields_used.items())},
        query_sha256=query_sha256(text),
    )


def _assert_round_trip(out: str, tree: exp.Expression, ctx: PolicyContext) -> None:
    """The SQL the engine will parse must be the tree the rules checked: any text that sqlglot
    writes differently from how it reads it (a gap between its generator and its parser) would
    otherwise reach the engine as something no rule has seen. Its functions are checked again
    as read back, in the engine's own spelling, since that is what the engine will call."""
    write = ctx.write
    try:
        again = sqlglot.parse(out, read=write)
        text = again[0].sql(dialect=write) if len(again) == 1 else None
    except _SQLGLOT_FAILURES:
        again, text = [], None
    # A generator that rewrites constructs for its dialect (Spark has no QUALIFY) changes the shape
    # on purpose; there the text must still read back to itself.
    same_shape = write != "duckdb" or (len(again) == 1 and _shape(again[0]) == _shape(tree))
    if text != out or not same_shape:
        raise _refuse(M_("the rewritten query does not read back as checked"))
    relations = {t.relation.lower() for t in ctx.tables.values()}
    for node in again[0].walk(prune=lambda n: _is_policy_select(n, relations)):
        if isinstance(node, exp.Func):
            _check_function(node, write)


def _is_policy_select(node: exp.Expression, relations: set[str]) -> bool:
    """A grant's own subquery in read-back SQL (masks and row filter: built, not written by the
    consumer, and checked when built): the only SELECT that reads a raw relation."""
    if not isinstance(node, exp.Select):
        return False
    source = node.args.get("from_")
    return source is not None and isinstance(source.this, exp.Table) and source.this.name.lower() in relations


def _shape(tree: exp.Expression) -> tuple:
    """What a read reaches, in order: tables, columns, queries and functions (types and the
    generator's own spellings aside, which legitimately differ between a built and a parsed tree)."""
    return (
        [t.name.lower() for t in tree.find_all(exp.Table)],
        [(c.table.lower(), c.name.lower()) for c in tree.find_all(exp.Column)],
        sum(1 for _ in tree.find_all(exp.Select)),
        sorted(_func_name(f) for f in tree.find_all(exp.Anonymous)),
    )


def referenced_names(
    sql: str | exp.Expression, dialect: str = "duckdb", limits: QueryLimits | None = None
) -> list[str]:
    """Base-table names a query reads (CTE references excluded), normalised; for grant lookup.
    A parsed tree is not parsed again (nor changed: the names are read from a copy)."""
    parsed = parse_query(sql, dialect, limits) if isinstance(sql, str) else sql.copy()
    tree = normalize_identifiers(parsed, dialect=dialect)
    names: set[str] = set()
    try:
        for scope in traverse_scope(tree):
            names.update(t.name for _a, t in _dataset_sources(scope) if isinstance(t.this, exp.Identifier))
    except (OptimizeError, SqlglotError) as e:
        raise InvalidInput(M_("cannot analyse SQL: %(first_line)s", first_line=_first_line(e))) from None
    except Exception as e:  # noqa: BLE001 - scope analysis that fails on a query refuses it
        raise _refuse(M_("query cannot be checked"), hint=type(e).__name__) from None
    return sorted(names)
