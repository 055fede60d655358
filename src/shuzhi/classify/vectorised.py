"""Check characters over whole columns: numpy over the bytes of an Arrow string array, as DuckDB functions.

In SQL a check character needs each character of the value on its own (17 `substr` calls, or an
integer cast taken apart by 17 divisions and bound through a lambda), which made the GB 11643 and
GB 32100 checks the dearest part of grading and of a quality run. Here a vector of values is one
matrix of bytes (one row per 18-byte value) and the weighted sum one matrix product.

Both functions answer for any text: NULL for NULL, otherwise true only for 18 characters of the
right alphabet (ASCII; lower case accepted) whose last is the check character of the first 17.
"""

from __future__ import annotations

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
GB11643_WEIGHTS_F = np.array(GB11643_WEIGHTS, np.float32)
GB11643_EXPECTED = np.array([GB11643[ord(c)] for c in "10X98765432"])
"""The check character's value for each weighted sum mod 11 (ISO 7064 MOD 11-2)."""
GB32100 = _table(GB32100_ALPHABET)
GB32100_WEIGHTS_F = np.array([pow(3, i, 31) for i in range(17)], np.float32)
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
    if matrix.size == 0 or int(matrix[:, :17].max()) < limit and int(matrix[:, 17].max()) < last_limit:
        return True  # the common case, decided by two reductions over the whole matrix
    return (matrix[:, :17] < limit).all(axis=1) & (matrix[:, 17] < last_limit)


def _answer(rows: np.ndarray, ok: np.ndarray, nulls: np.ndarray) -> pa.Array:
    if len(rows) == len(nulls):
        return pa.array(ok)
    out = np.zeros(len(nulls), bool)
    out[rows] = ok
    return pa.array(out, mask=nulls if nulls.any() else None)


def gb11643_check(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """18 characters, 17 digits and the right check character (x or X for ten)."""
    matrix, rows, nulls = values_of(values, GB11643)
    total = (matrix[:, :17].astype(np.float32) @ GB11643_WEIGHTS_F).astype(np.int64)
    ok = (GB11643_EXPECTED[total % 11] == matrix[:, 17]) & _valid(matrix, 10, 11)
    return _answer(rows, ok, nulls)


def gb32100_check(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """18 characters of the GB 32100 alphabet (either case), the last the check character of the rest."""
    matrix, rows, nulls = values_of(values, GB32100)
    total = (matrix[:, :17].astype(np.float32) @ GB32100_WEIGHTS_F).astype(np.int64)
    ok = ((31 - total % 31) % 31 == matrix[:, 17]) & _valid(matrix, 31, 31)
    return _answer(rows, ok, nulls)


FUNCTIONS = {"sz_gb11643_check": gb11643_check, "sz_gb32100": gb32100_check}


def install(con: duckdb.DuckDBPyConnection) -> None:
    """Register the functions on a connection (the macros of `sqlfuncs` call them)."""
    varchar, boolean = duckdb.sqltypes.VARCHAR, duckdb.sqltypes.BOOLEAN
    for name, function in FUNCTIONS.items():
        con.create_function(name, function, [varchar], boolean, type="arrow", null_handling="special")
