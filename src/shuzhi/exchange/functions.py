"""The functions governed SQL may call: an allowlist, grouped, in the spellings of DuckDB and Spark.

Consumer SQL (and a grant's row filter) may call a function only if it is listed here; anything
else — a new DuckDB built-in, an extension's function, a catalog macro such as
``pg_get_viewdef`` — is refused without anyone having to think of it first.

What the engine runs is the SQL the policy writes, not what the consumer wrote: sqlglot parses
many names into typed expressions (``ucase(x)`` becomes ``exp.Upper``, written back as
``UPPER(x)``) and keeps the rest as ``exp.Anonymous`` calls, written back verbatim. So a call is
judged the way it will be written: an anonymous call by its name; a typed expression by its
class, which is allowed only if an allowlisted name parses into it and sqlglot writes it, for
every name that parses into it, only with allowlisted names. Those classes are worked out once
per dialect (`_tables`), so checking a call at query time is one set lookup.

Syntax that is not a call — ``||``, arithmetic, comparisons, ``LIKE``, ``IN``, ``BETWEEN``,
``IS NULL``, ``AND``/``OR``/``NOT``, ``CASE``, ``CAST`` — is not governed here (sqlglot models
some of it as function classes; see `SYNTAX`).
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel
from sqlglot.tokens import TokenType


@dataclass(frozen=True)
class Group:
    """Functions of one kind, as each engine spells them (lower case)."""

    label: str
    kind: str
    """'scalar' (row filters may use these too), 'aggregate' or 'window'."""
    duckdb: tuple[str, ...]
    spark: tuple[str, ...]


GROUPS: tuple[Group, ...] = (
    Group(
        "字符串 string",
        "scalar",
        duckdb=(
            "ascii", "bit_length", "char_length", "character_length", "chr", "concat", "concat_ws",
            "contains", "damerau_levenshtein", "editdist3", "ends_with", "hamming", "ilike_escape",
            "instr", "jaccard", "jaro_similarity", "jaro_winkler_similarity", "lcase", "left", "len",
            "length", "levenshtein", "like_escape", "lower", "ltrim", "mismatches", "nfc_normalize",
            "not_ilike_escape", "not_like_escape", "octet_length", "ord", "position", "prefix",
            "regexp_escape", "regexp_extract", "regexp_full_match", "regexp_matches", "regexp_replace",
            "replace", "reverse", "right", "rtrim", "split_part", "starts_with", "strip_accents",
            "strlen", "strpos", "substr", "substring", "suffix", "translate", "trim", "ucase",
            "unicode", "upper",
        ),
        spark=(
            "ascii", "bit_length", "char", "char_length", "character_length", "chr", "concat",
            "concat_ws", "contains", "endswith", "initcap", "instr", "lcase", "left", "len", "length",
            "levenshtein", "locate", "lower", "ltrim", "octet_length", "position", "regexp",
            "regexp_extract", "regexp_like", "regexp_replace", "replace", "reverse", "right", "rlike",
            "rtrim", "split_part", "startswith", "substr", "substring", "translate", "trim", "ucase",
            "upper",
        ),
    ),
    Group(
        "摘要 hashing",
        "scalar",
        duckdb=("hash", "md5", "sha1", "sha256"),
        spark=("hash", "md5", "sha", "sha1", "sha2"),
    ),
    Group(
        "数值 math",
        "scalar",
        duckdb=(
            "abs", "acos", "acosh", "add", "asin", "asinh", "atan", "atan2", "atanh", "bit_count",
            "cbrt", "ceil", "ceiling", "cos", "cosh", "cot", "degrees", "divide", "even", "exp",
            "factorial", "fdiv", "floor", "fmod", "gamma", "gcd", "greatest", "greatest_common_divisor",
            "isfinite", "isinf", "isnan", "lcm", "least", "least_common_multiple", "lgamma", "ln",
            "log", "log10", "log2", "mod", "multiply", "nextafter", "pi", "pow", "power", "radians",
            "round", "round_even", "roundbankers", "sign", "signbit", "sin", "sinh", "sqrt",
            "subtract", "tan", "tanh", "trunc", "xor",
        ),
        spark=(
            "abs", "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "bround", "cbrt",
            "ceil", "ceiling", "cos", "cosh", "cot", "degrees", "exp", "factorial", "floor",
            "greatest", "isnan", "least", "ln", "log", "log10", "log2", "mod", "pi", "pmod", "pow",
            "power", "radians", "round", "sign", "signum", "sin", "sinh", "sqrt", "tan", "tanh",
        ),
    ),
    Group(
        "日期时间 date and time",
        "scalar",
        duckdb=(
            "age", "century", "current_date", "date_add", "date_diff", "date_part", "date_sub",
            "date_trunc", "datediff", "datepart", "datesub", "datetrunc", "day", "dayname",
            "dayofmonth", "dayofweek", "dayofyear", "days_in_month", "decade", "epoch", "epoch_ms",
            "epoch_ns", "epoch_us", "era", "get_current_timestamp", "hour", "isodow", "isoyear",
            "julian", "last_day", "make_date", "make_time", "make_timestamp", "microsecond",
            "millennium", "millisecond", "minute", "month", "monthname", "nanosecond", "now",
            "quarter", "second", "strftime", "time_bucket", "to_centuries", "to_days", "to_decades",
            "to_hours", "to_microseconds", "to_millennia", "to_milliseconds", "to_minutes",
            "to_months", "to_quarters", "to_seconds", "to_timestamp", "to_weeks", "to_years", "today",
            "transaction_timestamp", "try_strptime", "week", "weekday", "weekofyear", "year",
            "yearweek",
        ),
        spark=(
            "add_months", "current_date", "current_timestamp", "date_add", "date_diff", "date_format",
            "date_from_unix_date", "date_part", "date_sub", "date_trunc", "dateadd", "datediff",
            "datepart", "day", "dayofmonth", "dayofweek", "dayofyear", "from_unixtime", "hour",
            "last_day", "make_date", "make_timestamp", "minute", "month", "months_between", "now",
            "quarter", "second", "timestamp_micros", "timestamp_millis", "timestamp_seconds",
            "to_date", "to_timestamp", "trunc", "unix_timestamp", "weekday", "weekofyear", "year",
        ),
    ),
    Group(
        "条件 conditional",
        "scalar",
        duckdb=("coalesce", "if", "ifnull", "nullif"),
        spark=("coalesce", "if", "ifnull", "nullif", "nvl", "nvl2"),
    ),
    Group(
        "列表 list",
        "scalar",
        duckdb=("list_value",),  # what `[a, b]` is; the functions over lists are left out
        spark=("array",),
    ),
    Group(
        "聚合 aggregate",
        "aggregate",
        duckdb=(
            "any_value", "approx_count_distinct", "approx_quantile", "arbitrary", "arg_max", "arg_min",
            "argmax", "argmin", "array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "corr",
            "count", "count_if", "count_star", "countif", "covar_pop", "covar_samp", "entropy",
            "favg", "first", "fsum", "geomean", "geometric_mean", "group_concat", "kahan_sum",
            "kurtosis", "kurtosis_pop", "last", "list", "listagg", "mad", "max", "max_by", "mean", "median",
            "min", "min_by", "mode", "product", "quantile", "quantile_cont", "quantile_disc",
            "regr_avgx", "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope",
            "regr_sxx", "regr_sxy", "regr_syy", "reservoir_quantile", "sem", "skewness", "stddev",
            "stddev_pop", "stddev_samp", "string_agg", "sum", "sumkahan", "var_pop", "var_samp",
            "variance", "wavg", "weighted_avg",
        ),
        spark=(
            "any", "any_value", "approx_count_distinct", "approx_percentile", "array_agg", "avg", "bit_and",
            "bit_or", "bit_xor", "bool_and", "bool_or", "collect_list", "corr", "count", "count_if", "covar_pop",
            "covar_samp", "every", "first", "kurtosis", "last", "listagg", "max", "max_by", "mean",
            "median", "min", "min_by", "mode", "percentile", "percentile_approx", "percentile_cont",
            "percentile_disc", "regr_avgx",
            "regr_avgy", "regr_count", "regr_intercept", "regr_r2", "regr_slope", "regr_sxx",
            "regr_sxy", "regr_syy", "skewness", "some", "std", "stddev", "stddev_pop", "stddev_samp",
            "string_agg", "sum", "var_pop", "var_samp", "variance",
        ),
    ),
    Group(
        "窗口 window",
        "window",
        duckdb=(
            "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
            "ntile", "percent_rank", "rank", "rank_dense", "row_number",
        ),
        spark=(
            "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value",
            "ntile", "percent_rank", "rank", "row_number",
        ),
    ),
)  # fmt: skip

LEFT_OUT: dict[str, str] = {
    # Values leaving through error messages (finding: records read one per failed call).
    "error": "raises an error carrying its argument, so a value would leave in the message",
    "strptime": "fails with the unparsed value in its message; try_strptime returns NULL instead",
    # Size out of proportion to the query: DuckDB's memory limit does not bound these.
    "range": "builds a value of any size from one number",
    "generate_series": "builds a value of any size from one number",
    "generate_subscripts": "builds a value of any size from one number",
    "repeat": "builds a string of any size from one number",
    "lpad": "pads to any width given by one number",
    "rpad": "pads to any width given by one number",
    "format": "formats to any width given in the format string",
    "printf": "formats to any width given in the format string",
    "bar": "draws to any width given by one number",
    "unnest": "turns one value into many rows",
    # The engine itself: catalog, settings, session.
    "pg_": "the engine's catalog: pg_get_viewdef over duckdb_views() gave out the server's file paths",
    "duckdb_": "the engine's catalog and state",
    "has_": "the engine's catalog (privileges)",
    "col_description": "the engine's catalog",
    "obj_description": "the engine's catalog",
    "shobj_description": "the engine's catalog",
    "format_type": "the engine's catalog",
    "format_pg_type": "the engine's catalog",
    "in_search_path": "the engine's catalog",
    "current_": "the engine's session (current_date is allowed); current_query shows the rewritten "
    "SQL with the grant's hash key",
    "session_user": "the engine's session",
    "user": "the engine's session",
    "version": "the engine's build",
    "get_block_size": "the engine's storage",
    "getvariable": "the engine's variables",
    "txid_current": "the engine's transactions",
    "inet_": "the server's network addresses",
    "stats": "the engine's statistics of the raw column, not of the masked value",
    "typeof": "the engine's type names (not needed: the result has a schema)",
    # SQL that no rule sees.
    "json_serialize_": "SQL inside a string literal, bound where no policy rule sees it",
    "json_deserialize_": "SQL inside a string literal, bound where no policy rule sees it",
    "json_execute_": "SQL inside a string literal, bound where no policy rule sees it",
    "query": "SQL inside a string literal, bound where no policy rule sees it",
    # Files and side effects.
    "read_": "reads files",
    "glob": "lists files",
    "parse_": "file paths and log messages: no use on governed values",
    "path_join": "file paths: no use on governed values",
    "write_log": "writes to the engine's log",
    "sleep_ms": "holds a query worker",
    "random": "not repeatable",
    "setseed": "changes the session's random state",
    "uuid": "not repeatable",
    "gen_random_uuid": "not repeatable",
    "nextval": "sequences are state",
    "currval": "sequences are state",
    "setval": "sequences are state",
    # Nested values: the functions over them are not vetted (building a list is allowed; a row
    # quota refuses aggregates anyway, so a list cannot carry many records past it).
    "list_": "functions over lists: not vetted",
    "array_": "functions over lists: not vetted",
    "histogram": "a map of many records in one row",
    "struct_": "structs: not vetted",
    "map": "maps: not vetted",
    "json": "JSON: not vetted",
    "union_": "unions: not vetted",
    "variant_": "variants: not vetted",
    "st_": "geometry: not vetted",
    "enum_": "enum internals",
    # Byte encodings: the masks' own building blocks, not needed to analyse masked values.
    "hex": "byte encodings: not needed on masked values",
    "unhex": "byte encodings: not needed on masked values",
    "encode": "byte encodings: not needed on masked values",
    "decode": "byte encodings: not needed on masked values",
    "base64": "byte encodings: not needed on masked values",
    "to_base64": "byte encodings: not needed on masked values",
    "from_base64": "byte encodings: not needed on masked values",
    # Engine internals.
    "__internal_": "engine internals",
    "finalize": "aggregate-state internals",
    "combine": "aggregate-state internals",
    "to_aggregate_state": "aggregate-state internals",
    "icu_": "collation internals",
    "collate_": "collation internals",
}
"""Notable functions left out, by name or name prefix, and why (shown as the refusal's hint)."""

SYNTAX: tuple[type[exp.Expression], ...] = (
    exp.Connector,  # AND, OR, XOR
    exp.Case,
    exp.If,  # a CASE branch; the if() function is on the list anyway
    exp.Cast,
    exp.TryCast,
    exp.Extract,  # EXTRACT(part FROM value), DuckDB's date_part
    exp.Exists,
)
"""Syntax sqlglot models as function classes; not calls of a named function."""

_SYNTAX_CALLS = frozenset(
    {"cast", "try_cast", "extract", "exists", "interval", "over", "filter", "group", "in", "as", "values"}
)
"""Words that sqlglot writes followed by a parenthesis without their being function names."""

_ANONYMOUS = (exp.Anonymous, exp.AnonymousAggFunc)

# Writing every known function back warns about each one the dialect cannot express.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


def names(dialect: str, *, kinds: tuple[str, ...] = ("scalar", "aggregate", "window")) -> frozenset[str]:
    """Allowlisted names in one dialect ('duckdb' or 'spark')."""
    return frozenset(n for g in GROUPS if g.kind in kinds for n in getattr(g, _spelling(dialect)))


def _spelling(dialect: str) -> str:
    if dialect in ("duckdb", "spark"):
        return dialect
    if dialect in ("spark2", "databricks"):
        return "spark"
    raise ValueError(f"no function spellings for dialect {dialect!r}")


def reason_left_out(name: str) -> str | None:
    """Why a function is not on the list, when it is a notable one."""
    name = name.lower()
    if name in LEFT_OUT:
        return LEFT_OUT[name]
    best = max((p for p in LEFT_OUT if name.startswith(p)), key=len, default=None)
    return LEFT_OUT[best] if best else None


@dataclass(frozen=True)
class _Tables:
    names: frozenset[str]
    classes: frozenset[type[exp.Expression]]
    scalar_names: frozenset[str]
    scalar_classes: frozenset[type[exp.Expression]]


@functools.cache
def _tables(dialect: str) -> _Tables:
    """Allowed names and typed classes of one dialect, worked out once per process and dialect.

    A class is allowed when an allowlisted name parses into it, unless some name that is not
    allowlisted also parses into it and sqlglot writes that back as a call that is not allowed
    (as it would write `strptime(…)` back as ``STRPTIME(…)``): that class would carry the other
    name through. Every function name sqlglot knows in the dialect is tried with 0–3 arguments.
    """
    allowed = names(dialect)
    scalar = names(dialect, kinds=("scalar",))
    engine = Dialect.get_or_raise(dialect)
    parser = engine.parser_class
    known = {n.lower() for n in (*parser.FUNCTIONS, *parser.FUNCTION_PARSERS)} | allowed
    samples = {name: _classes(name, engine) for name in sorted(known)}
    produced_by: dict[type[exp.Expression], set[str]] = {}
    for name in allowed:
        for cls in samples[name]:
            produced_by.setdefault(cls, set()).add(name)
    tainted: set[type[exp.Expression]] = set()
    for name, classes in samples.items():
        if name in allowed or not classes & produced_by.keys():
            continue
        for arity in range(4):
            tree, _found = _parse_sample(name, arity, engine)
            tainted.update(_carriers(tree, engine, allowed | _SYNTAX_CALLS))

    def classes_of(pool: frozenset[str]) -> frozenset[type[exp.Expression]]:
        return frozenset(c for c, by in produced_by.items() if by & pool and c not in tainted)

    return _Tables(allowed, classes_of(allowed), scalar, classes_of(scalar))


def _classes(name: str, engine: Dialect) -> set[type[exp.Expression]]:
    """The typed classes a call of `name` parses into, with any number of arguments up to three."""
    parser = engine.parser_class
    builder = parser.FUNCTIONS.get(name.upper())
    cls = getattr(builder, "__self__", None)
    if isinstance(cls, type) and issubclass(cls, exp.Func) and name.upper() not in parser.FUNCTION_PARSERS:
        # `Class.from_arg_list`: the class itself, whatever the arguments (most names).
        return set() if issubclass(cls, (*_ANONYMOUS, *SYNTAX)) else {cls}
    out: set[type[exp.Expression]] = set()
    for arity in range(4):
        out |= _parse_sample(name, arity, engine)[1]
    return out


def _parse_sample(name: str, arity: int, engine: Dialect) -> tuple[exp.Expression | None, set[type]]:
    """``SELECT name(a0, …)`` parsed, and the typed function classes in it."""
    args = ", ".join(f"a{i}" for i in range(arity))
    try:
        tree = engine.parse(f"SELECT {name}({args})", error_level=ErrorLevel.IGNORE)[0]
    except Exception:  # sqlglot's builders raise many kinds on arguments they cannot take
        return None, set()
    classes = {
        type(n) for n in tree.walk() if isinstance(n, exp.Func) and not isinstance(n, (*_ANONYMOUS, *SYNTAX))
    }
    return tree, classes


def _carriers(tree: exp.Expression | None, engine: Dialect, ok: frozenset[str]) -> set[type[exp.Expression]]:
    """The typed classes in a sample that sqlglot writes back as a call not in `ok` — each judged
    by the calls its own text holds beyond those of the typed calls inside it."""
    if tree is None:
        return set()
    out = set()
    typed = [n for n in tree.find_all(exp.Func) if not isinstance(n, (*_ANONYMOUS, *SYNTAX))]
    for node in typed:
        inner = set().union(*(_written_calls(d, engine) for d in node.find_all(exp.Func) if d is not node))
        if not _written_calls(node, engine) - inner <= ok:
            out.add(type(node))
    return out


def _written_calls(tree: exp.Expression, engine: Dialect) -> set[str]:
    """The names sqlglot writes an expression back with, as calls (a word before a parenthesis)."""
    try:
        tokens = engine.tokenize(engine.generate(tree))
    except Exception:
        return set()  # it cannot be written back, so a query holding it is refused anyway
    return {
        a.text.lower()
        for a, b in zip(tokens, tokens[1:], strict=False)
        if b.token_type == TokenType.L_PAREN and a.token_type not in _NOT_NAMES
    }


_NOT_NAMES = frozenset({TokenType.L_PAREN, TokenType.R_PAREN, TokenType.COMMA, TokenType.SELECT})


def warm(*dialects: str) -> None:
    """Work the tables out now (a server does this at start, not on its first query)."""
    for dialect in dialects or ("duckdb",):
        _tables(dialect)


def refused(node: exp.Expression, dialect: str, *, scalar_only: bool = False) -> str | None:
    """The name to report if `node` is a function call that is not allowed, else None."""
    if not isinstance(node, exp.Func) or isinstance(node, SYNTAX):
        return None
    tables = _tables(dialect)
    if isinstance(node, _ANONYMOUS):
        name = str(node.name).lower()
        ok = name in (tables.scalar_names if scalar_only else tables.names)
    else:
        name = node.sql_name().lower()
        ok = type(node) in (tables.scalar_classes if scalar_only else tables.classes)
    parent = node.parent
    if ok and isinstance(parent, exp.Dot) and parent.expression is node:
        # `main.upper(x)`, `x.upper()`: the engine resolves these through its catalog.
        return f"{parent.this.sql(dialect)}.{name}"
    return None if ok else name
