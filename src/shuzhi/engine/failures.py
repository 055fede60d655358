"""What a failed query may tell anyone: one of a closed set of error classes, never the engine's text.

DuckDB's messages quote the values they failed on ("Could not convert string '<a record>' to
INT32", "Overflow in multiplication of INT32 (<a value> * 2)"), so a query built to fail on each
record would read records through its errors — past row quotas, and into the audit ledger. An
engine exception is therefore classified by its type (an allowlist; anything else is
``internal``) and the message is built from the class alone. The query worker sends only the
class name across its pipe, and the server rebuilds the error from it, so even a worker that
misbehaves cannot put text in front of a consumer.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike

import duckdb
import pyarrow as pa

from shuzhi.errors import DataDamaged, ShuzhiError, TooLarge
from shuzhi.i18n import M_, N_

FRAME_BYTES = 64 * 2**20
"""Largest batch frame a query worker sends (see `shuzhi.engine.worker`); a row beyond it is refused."""


class QueryFailed(ShuzhiError):
    status = 400
    code = "query_failed"


class QueryTimeout(ShuzhiError):
    status = 408
    code = "query_timeout"


class WorkerLost(QueryFailed):
    """The worker running the query died (killed, or past its memory cap): the server's failure,
    and the same query may well succeed on a fresh worker."""

    status = 503
    code = "query_worker_lost"


class QueryInternal(QueryFailed):
    """The engine failed in a way no query should cause (an unreadable stored file, a fault)."""

    status = 500
    code = "query_internal_error"


class QueryBusy(ShuzhiError):
    """No query worker became free within the queue wait; try again after `retry_after_s`."""

    status = 503
    code = "query_busy"


class TooManyQueries(ShuzhiError):
    """The caller already runs and waits for as many queries as they may."""

    status = 429
    code = "too_many_queries"


# class -> (exception type, message). Messages are fixed: they say what kind of thing went wrong.
ERROR_CLASSES: dict[str, tuple[type[ShuzhiError], str]] = {
    "conversion_error": (
        QueryFailed,
        N_("a value could not be converted to the type the query asks for"),
    ),
    "out_of_range": (QueryFailed, N_("a number went out of its type's range")),
    "division_by_zero": (QueryFailed, N_("division by zero")),
    "invalid_input": (QueryFailed, N_("a function was given an invalid argument")),
    "invalid_query": (
        QueryFailed,
        N_("the engine cannot run the query as written (a function, type or name does not fit)"),
    ),
    "memory": (TooLarge, N_("query exceeded its memory limit")),
    "too_large": (
        TooLarge,
        N_("one result row exceeds %(mb)s MB"),
    ),
    "timeout": (QueryTimeout, N_("query exceeded its time limit and was stopped")),
    "stream_abandoned": (
        QueryTimeout,
        N_("the reader did not take the next batch within the idle deadline; the query was released"),
    ),
    "busy": (QueryBusy, N_("every query worker is busy: retry shortly")),
    "too_many": (
        TooManyQueries,
        N_("as many queries as allowed already run or wait: retry later"),
    ),
    "worker_lost": (WorkerLost, N_("the query worker stopped unexpectedly")),
    "damaged": (
        DataDamaged,
        N_("a version's file is damaged: the read was stopped"),
    ),
    "data_unreadable": (
        QueryInternal,
        N_("a stored version file could not be read; the failure is logged for the operators"),
    ),
    "internal": (QueryInternal, N_("query failed inside the engine")),
}

_HINTS = {
    "division_by_zero": N_("NULLIF(divisor, 0) gives NULL instead"),
    "conversion_error": N_("TRY_CAST gives NULL for values that do not convert"),
}

# Engine exception types and their class, most specific first (checked with isinstance).
_BY_TYPE: tuple[tuple[type[BaseException], str], ...] = (
    (duckdb.InterruptException, "timeout"),
    (duckdb.OutOfMemoryException, "memory"),
    (duckdb.ConversionException, "conversion_error"),
    (duckdb.TypeMismatchException, "conversion_error"),
    (duckdb.OutOfRangeException, "out_of_range"),
    (duckdb.InvalidInputException, "invalid_input"),
    (duckdb.BinderException, "invalid_query"),
    (duckdb.CatalogException, "invalid_query"),
    (duckdb.ParserException, "invalid_query"),
    (duckdb.NotImplementedException, "invalid_query"),
)

_DIVISION_BY_ZERO = "Invalid Input Error: Division by zero"
"""DuckDB raises integer division by zero as invalid input; this fixed prefix (compared, never
passed on) tells it apart."""

# An error met after the first batch reaches Python through the Arrow stream reader as a plain
# OSError whose text is DuckDB's; DuckDB starts every message with its error type's name, so the
# same allowlist is matched on that fixed prefix (compared, never passed on).
_BY_PREFIX: tuple[tuple[str, str], ...] = (
    (_DIVISION_BY_ZERO, "division_by_zero"),
    ("INTERRUPT Error:", "timeout"),
    ("Out of Memory Error:", "memory"),
    ("Conversion Error:", "conversion_error"),
    ("Out of Range Error:", "out_of_range"),
    ("Invalid Input Error:", "invalid_input"),
)


_DAMAGED = "CRC checksum verification failed"
"""pyarrow's words for a page whose checksum does not match, wherever DuckDB wraps them."""


def classify(e: BaseException, files: Iterable[str | PathLike] = ()) -> str:
    """The error class of an exception raised while running a query.

    `files` are the version files the query reads: an engine error that names one (DuckDB quotes
    the file it failed to read) is the stored data's fault, never the query's — compared, never
    passed on.
    """
    if isinstance(e, ShuzhiError):
        own = e.detail.get("error_class")
        if own in ERROR_CLASSES:
            return own
        if isinstance(e, QueryTimeout):
            return "timeout"
        if isinstance(e, TooLarge):
            return "too_large"
        if isinstance(e, WorkerLost):
            return "worker_lost"
        if isinstance(e, QueryBusy):
            return "busy"
        if isinstance(e, TooManyQueries):
            return "too_many"
        if isinstance(e, DataDamaged):
            return "damaged"
        return "internal"
    if isinstance(e, duckdb.Error | OSError | pa.ArrowException) and _DAMAGED in str(e):
        return "damaged"
    text = str(e)
    if any(str(f) in text for f in files if str(f)):
        return "data_unreadable"
    for kind, name in _BY_TYPE:
        if isinstance(e, kind):
            if name == "invalid_input" and str(e).startswith(_DIVISION_BY_ZERO):
                return "division_by_zero"
            return name
    if isinstance(e, OSError | pa.ArrowException):
        for prefix, name in _BY_PREFIX:
            if text.startswith(prefix):
                return name
    return "internal"


def failure(error_class: str, *, where: str | None = None, hint: str | None = None) -> ShuzhiError:
    """The error a consumer sees for a query that failed with `error_class` (unknown: internal)."""
    if error_class not in ERROR_CLASSES:
        error_class = "internal"
    kind, message = ERROR_CLASSES[error_class]
    fixed = _HINTS.get(error_class)
    return kind(
        M_(message, mb=FRAME_BYTES // 2**20),
        where=where,
        hint=hint or (M_(fixed) if fixed else None),
        error_class=error_class,
    )
