"""Check characters over whole columns: numpy over the bytes of an Arrow string array, as DuckDB functions.

In SQL a check character needs each character of the value on its own (17 `substr` calls, or an
integer cast taken apart by 17 divisions and bound through a lambda), which made the GB 11643 and
GB 32100 checks the dearest part of grading and of a quality run. Here a vector of values is one
matrix of bytes (one row per 18-byte value) and the weighted sum one matrix product.

Every function answers for any text: NULL for NULL, otherwise true only for 18 characters of the
right alphabet (ASCII; lower case accepted) whose last is the check character of the first 17, and
what else its own docstring names (a resident ID's birth date, a credit code's region digits): the
regular expressions and date parsing a rule would otherwise add cost as much again per value.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pyarrow as pa

from shuzhi.classify.checksums import GB11643_WEIGHTS, GB32100_ALPHABET

WIDTH = 18
INVALID = 255


def _table(alphabet: str, extra: dict[str, int] | None = None) -> bytes:
    """A `bytes.translate` table: byte → its value in the alphabet (either case), INVALID otherwise."""
    table = bytearray([INVALID] * 256)
    for value, char in enumerate(alphabet):
        table[ord(char)] = table[ord(char.lower())] = value
    for char, value in (extra or {}).items():
        table[ord(char)] = value
    return bytes(table)


GB11643 = _table("0123456789", {"X": 10, "x": 10})
GB11643_WEIGHTS_F = np.array([*GB11643_WEIGHTS, 0], np.float32)  # the 18th, the check character: 0
GB11643_EXPECTED = np.array([GB11643[ord(c)] for c in "10X98765432"])
"""The check character's value for each weighted sum mod 11 (ISO 7064 MOD 11-2)."""
GB32100 = _table(GB32100_ALPHABET)
GB32100_WEIGHTS_F = np.array([*(pow(3, i, 31) for i in range(17)), 0], np.float32)
# float32 sums are exact here (at most 30 × 17 × 30, far below 2**24) and take the BLAS product.


def values_of(values: pa.Array | pa.ChunkedArray, table: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the values of exactly WIDTH bytes, each byte translated through `table`, as a uint8 matrix;
    their positions; the null mask) of a string array. One `bytes.translate` over the array's data."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.type not in (pa.string(), pa.large_string()):
        values = values.cast(pa.large_string())
    n = len(values)
    nulls = values.is_null().to_numpy(zero_copy_only=False) if values.null_count else np.zeros(n, bool)
    width = np.int64 if values.type == pa.large_string() else np.int32
    _, offsets_buffer, data_buffer = values.buffers()
    offsets = np.frombuffer(offsets_buffer, width, n + 1, values.offset * np.dtype(width).itemsize)
    first, last = int(offsets[0]), int(offsets[-1])
    raw = bytes(memoryview(data_buffer)[first:last]) if data_buffer is not None else b""
    data = np.frombuffer(raw.translate(table), np.uint8)
    fit = (np.diff(offsets) == WIDTH) & ~nulls
    if last - first == n * WIDTH and fit.all():  # the common case: a column of 18-byte values
        return data.reshape(n, WIDTH), np.arange(n), nulls
    rows = np.flatnonzero(fit)
    return data[(offsets[rows] - first)[:, None] + np.arange(WIDTH)], rows, nulls


def _valid(matrix: np.ndarray, limit: int, last_limit: int) -> np.ndarray | bool:
    """Rows whose first 17 values are below `limit` and whose last is below `last_limit`."""
    if matrix.size == 0:
        return True
    top = matrix.max(axis=0)  # one reduction decides the common case: every value well formed
    if int(top[:17].max()) < limit and int(top[17]) < last_limit:
        return True
    return (matrix[:, :17] < limit).all(axis=1) & (matrix[:, 17] < last_limit)


def _answer(rows: np.ndarray, ok: np.ndarray, nulls: np.ndarray) -> pa.Array:
    if len(rows) == len(nulls):
        return pa.array(ok)
    out = np.zeros(len(nulls), bool)
    out[rows] = ok
    return pa.array(out, mask=nulls if nulls.any() else None)


DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] + [0] * 87, np.int32)
"""Days of each month number 0-99 (0 for what is not a month); February gains one in a leap year."""
EARLIEST_BIRTH = 18900101


def _number(matrix: np.ndarray, first: int, width: int) -> np.ndarray:
    """The decimal number of `width` digit columns from `first` (digits already as their values)."""
    out = np.zeros(len(matrix), np.int32)
    for k in range(first, first + width):
        out = out * 10 + matrix[:, k]
    return out


def _birth_ok(matrix: np.ndarray, today: int) -> np.ndarray:
    """Digits 7-14 a real date from 1890-01-01 to `today` (YYYYMMDD as a number); the digits are
    known to be digits (values 0-9) wherever the answer is used."""
    year, month, day = _number(matrix, 6, 4), _number(matrix, 10, 2), _number(matrix, 12, 2)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = DAYS_IN_MONTH[np.minimum(month, 99)] + ((month == 2) & leap)
    ymd = year * 10000 + month * 100 + day
    return (day >= 1) & (day <= days) & (ymd >= EARLIEST_BIRTH) & (ymd <= today)


def _today(today: pa.Array | pa.ChunkedArray | dt.date | None) -> int:
    """The day a birth date may not be after, as YYYYMMDD (DuckDB passes `current_date` as a column)."""
    if isinstance(today, pa.Array | pa.ChunkedArray):
        today = today[0].as_py() if len(today) else None
    today = today or dt.date.today()
    return today.year * 10000 + today.month * 100 + today.day


def _weighted(matrix: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each row's weighted sum: one matrix-vector product over the whole (contiguous) matrix, the
    check character's column weighted 0, which measured faster than the product of a 17-column slice."""
    return (matrix.astype(np.float32) @ weights).astype(np.int64)


def resident_id18(values: pa.Array | pa.ChunkedArray, today=None) -> pa.Array:
    """An 18-character resident ID (GB 11643): 17 digits, the right check character (x or X for
    ten), and digits 7-14 a birth date from 1890-01-01 to `today` (the local date when not given)."""
    matrix, rows, nulls = values_of(values, GB11643)
    checked = GB11643_EXPECTED[_weighted(matrix, GB11643_WEIGHTS_F) % 11] == matrix[:, 17]
    # _valid: a row whose "digits" are not digits (and so whose birth date is noise) fails.
    return _answer(rows, checked & _valid(matrix, 10, 11) & _birth_ok(matrix, _today(today)), nulls)


def _gb32100_ok(matrix: np.ndarray) -> np.ndarray:
    return ((31 - _weighted(matrix, GB32100_WEIGHTS_F) % 31) % 31 == matrix[:, 17]) & _valid(matrix, 31, 31)


def gb32100_check(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """18 characters of the GB 32100 alphabet (either case), the last the check character of the rest."""
    matrix, rows, nulls = values_of(values, GB32100)
    return _answer(rows, _gb32100_ok(matrix), nulls)


def uscc(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A unified social credit code as `classify.checksums.is_uscc` reads it (the value as stored,
    either case): the GB 32100 check character right and characters 3-8 (the region) digits."""
    matrix, rows, nulls = values_of(values, GB32100)
    return _answer(rows, _gb32100_ok(matrix) & (matrix[:, 2:8] < 10).all(axis=1), nulls)


FUNCTIONS = {
    "sz_gb11643_18": (resident_id18, ["VARCHAR", "DATE"], "BOOLEAN"),
    "sz_gb32100": (gb32100_check, ["VARCHAR"], "BOOLEAN"),
    "sz_uscc": (uscc, ["VARCHAR"], "BOOLEAN"),
}
"""DuckDB name → (function, argument types, result type); NULL for a NULL value."""


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Register the functions on a connection (the macros of `sqlfuncs` call them)."""
    for name, (function, args, result) in FUNCTIONS.items():
        con.create_function(
            name,
            function,
            [duckdb.sqltype(a) for a in args],
            duckdb.sqltype(result),
            type="arrow",
            null_handling="special",
        )
