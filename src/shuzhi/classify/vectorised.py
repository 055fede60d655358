"""Check characters over whole columns: compiled loops over the bytes of an Arrow string array, as DuckDB functions.

In SQL a check character needs each character of the value on its own (17 `substr` calls, or an
integer cast taken apart by 17 divisions and bound through a lambda), which made the GB 11643,
GB 32100 and Luhn checks the dearest part of grading and of a quality run. Here a vector of values
is read where Arrow keeps it (one buffer of bytes, one of offsets) by a loop compiled with Numba,
which runs without the GIL: a DuckDB Python function holds the GIL while it runs, so two
threads calling a numpy version of these checks took turns, and it cost the scan more on two
threads than on one.

Every function answers for any text: NULL for NULL, otherwise true only for values of the right
shape (ASCII characters of the right alphabet, lower case accepted) whose check character is
right, and what else its own docstring names (a resident ID's birth date, a credit code's region
digits): the regular expressions and date parsing a rule would otherwise add cost as much again
per value. The loops are compiled on first use and kept in Numba's on-disk cache.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from functools import cache

import duckdb
import numpy as np
import pyarrow as pa


@cache
def _kernels():
    """The compiled loops: Numba is imported, and its cache read, on first use rather than at import."""
    from shuzhi.classify import kernels

    return kernels


def _check(kernel: str, values: pa.Array | pa.ChunkedArray, *args, answer=np.bool_) -> pa.Array:
    """One of the compiled loops over a string array, read in place (no copy of its bytes): what it
    answers per value (booleans, or `answer`), NULL where the value is NULL."""
    if isinstance(values, pa.ChunkedArray):  # DuckDB hands a vector over as one chunk
        values = values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()
    if values.type not in (pa.string(), pa.large_string()):
        values = values.cast(pa.large_string())
    width = np.int64 if values.type == pa.large_string() else np.int32
    _, offsets, data = values.buffers()
    n = len(values)
    offsets = np.frombuffer(offsets, width, n + 1, values.offset * np.dtype(width).itemsize)
    data = np.frombuffer(data, np.uint8) if data is not None and len(data) else np.zeros(1, np.uint8)
    # Read-only whoever made the buffers (DuckDB's are, pyarrow's own are not): Numba compiles a loop
    # once per kind of array, so every caller, `load` included, shares the loop DuckDB's vectors use.
    offsets.flags.writeable = data.flags.writeable = False
    out = np.empty(n, answer)
    getattr(_kernels(), kernel)(data, offsets, *args, out)
    answers = pa.array(out)
    if not values.null_count:
        return answers
    if values.offset == 0:  # as DuckDB hands them over: the values' validity bitmap is the answers'
        return pa.Array.from_buffers(
            answers.type, n, [values.buffers()[0], answers.buffers()[1]], values.null_count
        )
    return pa.array(out, mask=values.is_null().to_numpy(zero_copy_only=False))


def _today(today: pa.Array | pa.ChunkedArray | dt.date | None) -> int:
    """The day a birth date may not be after, as YYYYMMDD (DuckDB passes `current_date` as a column)."""
    if isinstance(today, pa.Array | pa.ChunkedArray):
        today = today[0].as_py() if len(today) else None
    today = today or dt.date.today()
    return today.year * 10000 + today.month * 100 + today.day


def resident_id18(values: pa.Array | pa.ChunkedArray, today=None) -> pa.Array:
    """An 18-character resident ID (GB 11643): 17 digits, the right check character (x or X for
    ten), and digits 7-14 a birth date from 1890-01-01 to `today` (the local date when not given)."""
    return _check("resident_id18", values, _today(today))


def resident_id_facts(values: pa.Array | pa.ChunkedArray, today=None) -> pa.Array:
    """What each resident ID states, in one integer, for rules that read several of its facts in
    one pass: 0 when the value has no ID's shape (17 ASCII digits and a digit, X or x; or 15
    digits) or its birth digits (7-14; 7-12 of a 15-digit number, in the 1900s) are no real date,
    else `days * 4 + valid * 2 + odd`:

    - `days`: that birth date's day number from 1970-01-01 plus `kernels.FACTS_DAY_OFFSET` (above 0);
    - `valid`: the check character is right (a 15-digit number has none) and the birth date lies
      from 1890-01-01 to `today`: `resident_id18`'s answer, and a legacy number's;
    - `odd`: the sex digit (the 17th; the 15th of a 15-digit number) is odd, a man's.
    """
    return _check("resident_id_facts", values, _today(today), answer=np.int64)


def gb32100_check(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """18 characters of the GB 32100 alphabet (either case), the last the check character of the rest."""
    return _check("gb32100", values, False)


def uscc(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A unified social credit code as `classify.checksums.is_uscc` reads it (the value as stored,
    either case): the GB 32100 check character right and characters 3-8 (the region) digits."""
    return _check("gb32100", values, True)


@cache
def _region_flags() -> np.ndarray:
    """A flag per six-digit number: whether it is a GB/T 2260 code of any year (`checksums.region_codes`)."""
    from shuzhi.classify.checksums import region_codes

    flags = np.zeros(10**6, np.uint8)
    flags[np.fromiter((int(c) for c in region_codes()), np.int64)] = 1
    flags.flags.writeable = False  # shared by every call, and one type of array for Numba
    return flags


def gb2260_prefix(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The value's first six characters a GB/T 2260 region code of any year, as a resident ID's
    must be (`checksums.region_codes`): six ASCII digits, looked up in a flag per number."""
    return _check("digits_known", values, 6, _region_flags())


def luhn(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A card number (ISO/IEC 7812): once spaces and hyphens are set aside, 1 to 19 ASCII digits and
    nothing else, whose Luhn sum is a multiple of ten."""
    return _check("luhn", values)


def full_match(values: pa.Array | pa.ChunkedArray, pattern: str) -> pa.Array:
    """Whether each value matches the whole of `pattern` (a pattern `patterns.automaton` compiles), as
    an int8: `patterns.NO`, `YES`, or `UNDECIDED` for a value holding a byte above 127 that the
    automaton reached (RE2 must judge it: `quality.kinds.full_match`)."""
    return _matcher_function(pattern)(values)


def _matcher_function(pattern: str):
    """`full_match` over `pattern` as a function of the values alone, its automaton looked up once
    (DuckDB calls it once per vector, and counts its parameters)."""
    from shuzhi.classify.patterns import automaton

    a = automaton(pattern)
    if a is None:
        raise ValueError(f"no automaton for the pattern {pattern!r}")

    def match(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        return _check("full_match", values, a.table, a.answers, answer=np.int8)

    return match


MATCH_PREFIX = "sz_match_"
_MATCHERS: dict[str, str] = {}
"""Name → pattern of every matcher named so far in this process (`matcher`)."""


def matcher(pattern: str) -> str | None:
    """The DuckDB name of `full_match` over `pattern` (one argument, the value), or None when the
    pattern has no automaton and RE2 must run it. The name is the prefix and a digest of the
    pattern; `spec` knows it from then on, and `install_calls` registers it."""
    from shuzhi.classify.patterns import automaton

    if automaton(pattern) is None:
        return None
    name = MATCH_PREFIX + hashlib.sha256(pattern.encode()).hexdigest()[:20]
    _MATCHERS[name] = pattern
    return name


def spec(name: str) -> tuple | None:
    """(function, argument types, result type) of a compiled function: one of FUNCTIONS or a
    matcher; None for any other name."""
    if name in FUNCTIONS:
        return FUNCTIONS[name]
    pattern = _MATCHERS.get(name)
    return None if pattern is None else (_matcher_function(pattern), ["VARCHAR"], "TINYINT")


FUNCTIONS = {
    "sz_gb11643_18": (resident_id18, ["VARCHAR", "DATE"], "BOOLEAN"),
    "sz_gb11643_facts": (resident_id_facts, ["VARCHAR", "DATE"], "BIGINT"),
    "sz_gb32100": (gb32100_check, ["VARCHAR"], "BOOLEAN"),
    "sz_uscc": (uscc, ["VARCHAR"], "BOOLEAN"),
    "sz_gb2260_prefix": (gb2260_prefix, ["VARCHAR"], "BOOLEAN"),
    "sz_luhn": (luhn, ["VARCHAR"], "BOOLEAN"),
}
"""DuckDB name → (function, argument types, result type); NULL for a NULL value."""


_LOADED: list[bool] = []


def loaded() -> bool:
    """Whether `load` has run to its end in this process (the compiled loops cost nothing more to call)."""
    return bool(_LOADED)


def load() -> None:
    """Import the compiled loops and read each from Numba's cache for the string arrays DuckDB hands
    over, now rather than when a query's first vector reaches it (0.5-0.6 s in a new process, during
    which a query's other threads wait on the first): a caller with other work to do meanwhile
    runs this in a thread (`quality.engine.Runner`)."""
    values = pa.array(["11010519491231002X"])  # DuckDB hands a VARCHAR over as an Arrow string array
    for function, _args, _result in FUNCTIONS.values():
        function(values)
    full_match(values, "[0-9]+X")
    _LOADED.append(True)


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Register the functions on a connection (the macros of `sqlfuncs` call them)."""
    for name, (function, args, result) in FUNCTIONS.items():
        _register(con, name, function, args, result)


def install_calls(con: duckdb.DuckDBPyConnection, names, installed: set[tuple[int, str]]) -> None:
    """Register on a connection the matchers among `names` (FUNCTIONS are there from `install`),
    each once: `installed` holds (connection id, name) of those registered already."""
    for name in names:
        if name in _MATCHERS and (id(con), name) not in installed:
            _register(con, name, *spec(name))
            installed.add((id(con), name))


FUSED_PREFIX = "sz_fused_"


Layout = tuple[tuple[int, ...], ...]
"""For each fused function, the positions of its arguments among the fused function's."""


def sequential(functions: tuple[str, ...]) -> Layout:
    """The layout of functions given their own arguments one after the other."""
    layout, at = [], 0
    for f in functions:
        n = len(spec(f)[1])
        layout.append(tuple(range(at, at + n)))
        at += n
    return tuple(layout)


def fused_name(functions: tuple[str, ...], layout: Layout | None = None) -> str:
    """The name `install_fused` gives: the prefix, then the fused functions' names without their `sz_`,
    then the layout's positions when the functions share arguments."""
    name = FUSED_PREFIX + "_".join(f.removeprefix("sz_") for f in functions)
    if layout is None or layout == sequential(functions):
        return name
    return name + "__" + "_".join("".join(f"a{i}" for i in where) for where in layout)


def install_fused(
    con: duckdb.DuckDBPyConnection, functions: tuple[str, ...], layout: Layout | None = None
) -> str:
    """Register on a connection one function answering several of FUNCTIONS (`functions`, in order)
    for each vector, and return its name. DuckDB calls into Python once per vector and function,
    and that call, not the loop, is the dearer part (at 10,000,000 rows a function doing nothing
    costs 1.2 s on one thread); two functions' calls also take turns at the GIL on two threads. Its
    arguments are theirs, each function's at the positions `layout` gives (theirs one after the
    other by default; an argument two functions share is handed over once), its answer a STRUCT of
    theirs, field `d0`, `d1`..."""
    specs = [spec(f) for f in functions]
    layout = layout or sequential(functions)
    names = [f"d{i}" for i in range(len(specs))]
    types: dict[int, str] = {}
    for (_f, args, _r), where in zip(specs, layout, strict=True):
        for at, kind in zip(where, args, strict=True):
            if types.setdefault(at, kind) != kind:
                raise ValueError(f"argument {at} is {types[at]} for one function and {kind} for another")
    if sorted(types) != list(range(len(types))):
        raise ValueError(f"the layout {layout} leaves arguments out")

    def fused(*values):
        parts = [f(*(values[at] for at in where)) for (f, _a, _r), where in zip(specs, layout, strict=True)]
        return pa.StructArray.from_arrays(parts, names)

    # DuckDB counts a Python function's parameters by its signature, and refuses *values.
    fused.__signature__ = inspect.Signature(
        [inspect.Parameter(f"v{i}", inspect.Parameter.POSITIONAL_ONLY) for i in range(len(types))]
    )
    name = fused_name(functions, layout)
    result = "STRUCT(" + ", ".join(f"{n} {r}" for n, (_f, _a, r) in zip(names, specs, strict=True)) + ")"
    _register(con, name, fused, [types[i] for i in range(len(types))], result)
    return name


def _register(con: duckdb.DuckDBPyConnection, name: str, function, args: list[str], result: str) -> None:
    con.create_function(
        name,
        function,
        [duckdb.sqltype(a) for a in args],
        duckdb.sqltype(result),
        type="arrow",
        null_handling="special",
    )
