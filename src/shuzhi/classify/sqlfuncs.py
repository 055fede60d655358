"""DuckDB macros that validate whole columns at once: check digits, dates, coordinates (no Python per value)."""

from __future__ import annotations

import re

import duckdb

from shuzhi.classify import vectorised
from shuzhi.classify.checksums import GB11643_WEIGHTS, GB11714_WEIGHTS, GB32100_ALPHABET


def _digit_sum(expr: str, weights: list[int]) -> str:
    # Digits come out of one integer cast, which DuckDB does much faster than 17 substr() calls.
    return " + ".join(f"(({expr} // {10**k}) % 10) * {w}" for k, w in enumerate(weights) if w)


def _bind(name: str, value: str, body: str) -> str:
    # One value used many times in body. A scalar subquery would be correlated (a join over the
    # distinct values, carrying the whole row), and inlining repeats the work under AND/CASE, where
    # DuckDB does not share common subexpressions; a lambda over a one-element list does neither.
    return f"list_transform([{value}], lambda {name}: {body})[1]"


def _gb11643() -> str:
    weights = list(reversed(GB11643_WEIGHTS))  # k = 0 is the last of the 17 digits
    total = _digit_sum("x", weights)
    return (
        "CASE WHEN length(v) = 18 THEN "
        + _bind(
            "x",
            "try_cast(left(v, 17) AS BIGINT)",
            f"substr('10X98765432', (({total}) % 11)::INTEGER + 1, 1) = upper(right(v, 1))",
        )
        + " AND sz_ymd_ok(substr(v, 7, 8)) ELSE sz_ymd_ok('19' || substr(v, 7, 6)) END"
    )


def _luhn() -> str:
    terms = []
    for k in range(20):
        d = f"((x // {10**k}::UBIGINT) % 10)::INTEGER"
        terms.append(d if k % 2 == 0 else f"(CASE WHEN {d} > 4 THEN {d} * 2 - 9 ELSE {d} * 2 END)")
    # `vectorised.luhn`'s reading: 1 to 19 digits once spaces and hyphens are set aside, nothing else.
    digits = "regexp_replace(v, '[ -]', '', 'g')"
    return _bind(
        "x",
        f"CASE WHEN regexp_full_match({digits}, '[0-9]{{1,19}}') THEN try_cast({digits} AS UBIGINT) END",
        f"x IS NOT NULL AND ({' + '.join(terms)}) % 10 = 0",
    )


def _gb32100() -> str:
    terms = " + ".join(
        f"(instr('{GB32100_ALPHABET}', substr(u, {i + 1}, 1)) - 1) * {pow(3, i, 31)}" for i in range(17)
    )
    return _bind(
        "u",
        "upper(v)",
        f"substr('{GB32100_ALPHABET}', ((31 - ({terms}) % 31) % 31)::INTEGER + 1, 1) = right(u, 1)",
    )


def _gb11714() -> str:
    # Still a subquery: as a lambda it measured 2-3x slower (short values; no grading rule at scale uses it).
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    terms = " + ".join(
        f"(instr('{alphabet}', substr(u, {i + 1}, 1)) - 1) * {w}" for i, w in enumerate(GB11714_WEIGHTS)
    )
    return (
        f"(SELECT CASE 11 - ({terms}) % 11 WHEN 10 THEN 'X' WHEN 11 THEN '0'"
        f" ELSE CAST(11 - ({terms}) % 11 AS VARCHAR) END = right(u, 1)"
        " FROM (SELECT replace(upper(v), '-', '') AS u))"
    )


_DATE_PARTS = r"^((?:18|19|20)\d{2})[-/.年]?(\d{1,2})[-/.月]?(\d{1,2})"
_DATE_FORMATS = "['%Y-%m-%d', '%Y%m%d', '%Y/%m/%d', '%Y.%m.%d', '%Y年%m月%d日']"

PORTABLE_MACROS = {
    # YYYYMMDD text → plausible birth date (1890 … today).
    "sz_ymd(s)": "try_strptime(s, '%Y%m%d')::DATE",
    "sz_ymd_ok(s)": "coalesce(sz_ymd(s) BETWEEN DATE '1890-01-01' AND current_date, false)",
    "sz_gb11643(v)": _gb11643(),
    # An ID keyed in groups ("110101 19900307 123X") without its separators; most values have none.
    "sz_id_compact(v)": "CASE WHEN contains(v, ' ') OR contains(v, '-') THEN replace(replace(v, ' ', ''), '-', '') ELSE v END",
    "sz_id_birth(v)": "CASE WHEN length(v) = 18 THEN sz_ymd(substr(v, 7, 8)) ELSE sz_ymd('19' || substr(v, 7, 6)) END",
    "sz_luhn(v)": _luhn(),
    "sz_gb32100(v)": _gb32100(),
    "sz_gb11714(v)": _gb11714(),
    # Common layouts parse in one strptime call; only what it rejects goes through the regex extraction.
    "sz_date(v)": (
        f"coalesce(try_strptime(v, {_DATE_FORMATS})::DATE, try(make_date(regexp_extract(v, '{_DATE_PARTS}', 1)::INTEGER,"
        f" regexp_extract(v, '{_DATE_PARTS}', 2)::INTEGER, regexp_extract(v, '{_DATE_PARTS}', 3)::INTEGER)))"
    ),
    "sz_date_ok(v)": "coalesce(sz_date(v) BETWEEN DATE '1890-01-01' AND current_date, false)",
    "sz_coord_ok(v)": (
        "coalesce(list_bool_and(list_transform(regexp_extract_all(v, '-?\\d{1,3}\\.\\d+'),"
        " lambda c: abs(c::DOUBLE) <= 180)), false)"
    ),
}
"""Every check in SQL alone: what a DuckDB without our Python functions (another process, another
version) can run. The benchmarks give these to the libraries they compare with."""

MACROS = {
    **{
        head: body for head, body in PORTABLE_MACROS.items() if head.split("(")[0] not in vectorised.FUNCTIONS
    },
    # sz_gb32100 and sz_luhn are `vectorised` functions; sz_gb11643 takes its 18-character check
    # character and birth date from one (a compiled loop per vector of values, not 17 substr or
    # division calls and a strptime per value).
    "sz_gb11643(v)": (
        "CASE WHEN length(v) = 18 THEN sz_gb11643_18(v, current_date) ELSE sz_ymd_ok('19' || substr(v, 7, 6)) END"
    ),
}
"""The macros `install` creates: the portable ones, the check characters taken from `vectorised`."""


def _calling_compiled() -> frozenset[str]:
    names = set(vectorised.FUNCTIONS)
    while True:
        more = {
            head.split("(")[0]
            for head, body in MACROS.items()
            if head.split("(")[0] not in names and any(f"{n}(" in body for n in names)
        }
        if not more:
            return frozenset(names)
        names |= more


CALLING_COMPILED = _calling_compiled()
"""The functions and macros whose SQL runs a compiled loop of `vectorised`, directly or through a macro."""
_CALL = re.compile(
    r"\b("
    + "|".join(
        [*sorted(CALLING_COMPILED), vectorised.FUSED_PREFIX + r"\w+", vectorised.MATCH_PREFIX + r"\w+"]
    )
    + r")\s*\(",
    re.IGNORECASE,
)


def calls_compiled(sql: str) -> bool:
    """Whether SQL calls a compiled loop (whose first call in a process loads it: `vectorised.load`),
    directly, through a macro, as a matcher of a pattern (`vectorised.matcher`) or fused with others
    (`vectorised.install_fused`); as DuckDB reads a
    call, in any case and with spaces before its parenthesis."""
    return _CALL.search(sql) is not None


SQL_CHECKS = {
    "gb11643": "sz_gb11643(v)",
    "luhn": "sz_luhn(v)",
    "gb32100": "sz_gb32100(v)",
    "gb11714": "sz_gb11714(v)",
    "date": "sz_date_ok(v)",
    "coordinate": "sz_coord_ok(v)",
}
"""Validators usable by name in declared detectors; each is a boolean SQL expression over the value v."""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """The check-character functions and the macros, on a connection."""
    vectorised.install(con)
    for head, body in MACROS.items():
        con.execute(f"CREATE MACRO {head} AS ({body})")


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the validator macros installed."""
    con = duckdb.connect(config={"enable_external_access": False})
    install(con)
    return con
