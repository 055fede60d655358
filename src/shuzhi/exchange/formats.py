"""The answer formats of governed reads: one registry, each with its media type, extension and a
streaming encoder from Arrow record batches.

Every encoder takes the same arguments and yields bytes as each batch is encoded, holding one
slice of rows at a time, never the result: JSON is an entry like the others. `meta` and
`truncated` frame a JSON answer (a binary format carries its schema itself); with `max_bytes`
an answer stops before passing that size, ends validly, and `cut` is told how many rows went out.
A workbook (XLSX) is the one exception to streaming: a zip is complete only at its end, so it is
built in a spooled temporary file (rows are not held) and sent when the last batch is in.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as paipc
import pyarrow.parquet as pq

from shuzhi.errors import InvalidInput, ShuzhiError
from shuzhi.i18n import M_


class _Drain(io.RawIOBase):
    """A write-only sink whose bytes are taken out after each batch, so nothing accumulates."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


Cut = Callable[[int], None]
"""Told, with the rows sent so far, that an answer reached its byte cap and ends there."""

_SLICE_BYTES = 4 * 2**20
"""Rows are encoded in slices of about this many (Arrow) bytes: what one answer holds in the
server at a time, besides its batch, and how far past a byte cap a binary answer may run."""


def _slices(batch: pa.RecordBatch, target: int = _SLICE_BYTES) -> Iterator[pa.RecordBatch]:
    if batch.nbytes <= target or batch.num_rows <= 1:
        yield batch
        return
    step = max(1, batch.num_rows * target // batch.nbytes)
    for start in range(0, batch.num_rows, step):
        yield batch.slice(start, step)


def _close(batches: Iterator) -> None:
    close = getattr(batches, "close", None)
    if close is not None:
        close()  # the read behind it ends now, not when it is collected


def _encoded(
    open_writer,
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    max_bytes: int | None = None,
    cut: Cut | None = None,
) -> Iterator[bytes]:
    """Bytes of one Arrow writer (CSV, IPC stream, Parquet) as each batch is written; with
    `max_bytes`, no further rows are written once that many bytes are out (a valid file still
    ends it), and `cut` is told."""
    sink = _Drain()
    sent = rows = 0
    with open_writer(sink, schema) as writer:
        if head := sink.take():
            sent += len(head)
            yield head
        for batch in batches:
            for piece in _slices(batch) if max_bytes is not None else (batch,):
                if max_bytes is not None and sent >= max_bytes:
                    if cut is not None:
                        cut(rows)
                    _close(batches)
                    break
                writer.write_batch(piece)
                rows += piece.num_rows
                out = sink.take()
                sent += len(out)
                yield out
            else:
                continue
            break
    yield sink.take()


def _binary(body: Callable[..., Iterator[bytes]]) -> Callable[..., Iterator[bytes]]:
    """An encoder of a self-describing format from `body(schema, batches, max_bytes, cut)`: the JSON
    framing arguments do not apply; an error after the first bytes propagates (the answer then ends
    short, which its reader detects)."""

    def encode(
        schema: pa.Schema,
        batches: Iterator[pa.RecordBatch],
        *,
        meta: dict | None = None,
        truncated: Callable[[], bool] | None = None,
        max_bytes: int | None = None,
        cut: Cut | None = None,
        errors_inline: bool = False,
    ) -> Iterator[bytes]:
        return body(schema, batches, max_bytes, cut)

    return encode


def _writer(open_writer) -> Callable[..., Iterator[bytes]]:
    """The encoder of an Arrow writer (CSV, IPC stream, Parquet)."""
    return _binary(
        lambda schema, batches, max_bytes, cut: _encoded(open_writer, schema, batches, max_bytes, cut)
    )


encode_csv = _writer(pacsv.CSVWriter)

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet program takes a cell beginning with for a formula (OWASP "CSV injection")."""


def guard_formulas(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Text values that a spreadsheet would run as a formula, prefixed with ``'`` so they open as
    the text they are — what the workbook gets by writing every string as a string. Numbers and
    other types are left alone (a negative number is a number, not a formula)."""
    import pyarrow.compute as pc

    columns = []
    for column in batch.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.starts_with(column, FORMULA_STARTS[0])
            for start in FORMULA_STARTS[1:]:
                risky = pc.or_(risky, pc.starts_with(column, start))
            quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, "")
            column = pc.if_else(pc.fill_null(risky, False), quoted, column)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=batch.schema)


XLSX_MAX_ROWS = 1_048_575
"""Data rows a worksheet holds (Excel's 1,048,576 less the header)."""


def _xlsx(
    schema: pa.Schema, batches: Iterator[pa.RecordBatch], max_bytes: int | None, cut: Cut | None
) -> Iterator[bytes]:
    """One worksheet, a header row and the rows (numbers as numbers, dates as dates, all else as
    text: never a formula, whatever a value starts with). A workbook is a zip written at its end,
    so it is built in a spooled temporary file and sent then; `max_bytes` bounds the values written
    (the zip is smaller), and Excel's row limit ends a longer answer the same way."""
    import tempfile

    import xlsxwriter

    with tempfile.SpooledTemporaryFile(max_size=32 * 2**20) as buf:
        book = xlsxwriter.Workbook(
            buf,
            {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
             "strings_to_numbers": False, "default_date_format": "yyyy-mm-dd"},
        )  # fmt: skip
        sheet = book.add_worksheet("data")
        stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        sheet.write_row(0, 0, schema.names)
        written = 0
        for done, record in enumerate(r for batch in batches for r in batch.to_pylist()):
            if done >= XLSX_MAX_ROWS or (max_bytes is not None and written >= max_bytes):
                if cut is not None:
                    cut(done)
                _close(batches)
                break
            written += sum(
                _xlsx_cell(sheet, done + 1, col, v, stamp) for col, v in enumerate(record.values())
            )
        book.close()
        buf.seek(0)
        while chunk := buf.read(1 << 20):
            yield chunk


encode_xlsx = _binary(_xlsx)


def _xlsx_cell(sheet, row: int, col: int, value, stamp) -> int:
    """Write one value by its type; returns about how many bytes it took."""
    if value is None:
        return 1
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, float) and not math.isfinite(value):
        sheet.write_string(row, col, str(value))  # as in CSV: Excel's own would be formulas (=1/0)
    elif isinstance(value, int | float) and abs(value) < 1e15:
        sheet.write_number(row, col, value)  # beyond 15 digits Excel rounds: such values go as text
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value.replace(tzinfo=None), stamp)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day))
    else:
        text = json_cell(value) if not isinstance(value, str) else value
        text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False, default=str)
        sheet.write_string(row, col, text[:32767])
        return len(text) + 1
    return 9


encode_arrow = _writer(paipc.new_stream)
encode_parquet = _writer(lambda sink, schema: pq.ParquetWriter(sink, schema, compression="zstd"))


def json_cells(
    *, decimal: Callable[[Decimal], Any] = float, binary: Callable[[bytes], str] = bytes.hex
) -> Callable[[Any], Any]:
    """A converter of cells to JSON: dates and times in ISO 8601, NaN and infinities as null (JSON
    has neither), lists and structs cell by cell, decimals through `decimal`, bytes through
    `binary`, anything else (an interval, say) as text. Built once per policy: the cell's function
    is called for every value of an answer, so it takes no options itself."""

    def cell(v):
        if v is None or isinstance(v, bool | int | str):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if isinstance(v, datetime | date | time):
            return v.isoformat()
        if isinstance(v, Decimal):
            return cell(decimal(v))
        if isinstance(v, bytes):
            return binary(v)
        names = getattr(type(v), "__match_args__", None) if isinstance(v, tuple) else None
        if names:  # a named tuple (Arrow's MonthDayNano interval): its parts by name
            v = dict(zip(names, v, strict=False))
        if isinstance(v, list | tuple):
            return [cell(x) for x in v]
        if isinstance(v, dict):
            return {str(k): cell(x) for k, x in v.items()}
        return str(v)

    return cell


json_cell = json_cells()
"""The exchange's answers: decimals as numbers, bytes in hex."""


def encode_json(
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    *,
    meta: dict | None = None,
    truncated: Callable[[], bool] | None = None,
    max_bytes: int | None = None,
    cut: Cut | None = None,
    errors_inline: bool = False,
) -> Iterator[bytes]:
    """A JSON object with the fields and `meta`, then the rows, streamed a slice of rows at a time;
    when `truncated` is given, it ends with whether a cap cut the rows short (known only at the end).

    With `max_bytes`, the rows stop before the one that would take the answer past that size, the
    answer ends as usual (its `truncated` then true) and `cut` is told.

    With `errors_inline`, a read that fails after its first bytes went out ends the object with
    the error (``"error": {…}``: its class and message, as a refused request would have had) —
    the status line was sent long before. Without it the error propagates (a file being written
    must not be completed)."""
    head = {"fields": [{"name": f.name, "type": str(f.type)} for f in schema], **(meta or {})}
    opening = json.dumps(head, ensure_ascii=False)[:-1].encode() + b', "rows": ['
    yield opening
    room = None if max_bytes is None else max_bytes - len(opening) - len(b'], "truncated": false}')
    rows = 0
    capped = False
    try:
        for batch in batches:
            for piece in _slices(batch, 2**20):
                texts = []
                for row in piece.to_pylist():
                    text = (b"," if rows else b"") + json.dumps(
                        {k: json_cell(v) for k, v in row.items()}, ensure_ascii=False
                    ).encode()
                    if room is not None:
                        room -= len(text)
                        if room < 0:
                            capped = True
                            break
                    texts.append(text)
                    rows += 1
                if texts:
                    yield b"".join(texts)
                if capped:
                    break
            if capped:
                if cut is not None:
                    cut(rows)
                _close(batches)
                break
    except ShuzhiError as e:
        if not errors_inline:
            raise
        yield b'], "error": ' + json.dumps(e.to_dict(), ensure_ascii=False).encode() + b"}"
        return
    flag = capped or (truncated is not None and truncated())
    yield b"]" + (f', "truncated": {json.dumps(flag)}'.encode() if truncated or capped else b"") + b"}"


@dataclass(frozen=True)
class Format:
    """One answer format."""

    name: str
    media_type: str
    extension: str
    encode: Callable[..., Iterator[bytes]]
    """(schema, batches, *, meta, truncated, max_bytes, cut, errors_inline) -> chunks of bytes"""
    attachment: bool = True
    """Sent as a file to save (named by the channel), rather than an answer read in place."""
    spreadsheet_prefix: bytes = b""
    """Bytes a spreadsheet program needs first to read the file right (a CSV's UTF-8 byte order mark:
    Excel on Chinese Windows reads it as GBK otherwise); sent on downloads meant for people."""
    spreadsheet_guard: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None
    """What a download meant for people passes each batch through first, for a format that would
    otherwise open in a spreadsheet with formulas in it (a CSV's text starting with ``=``)."""


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("json", "application/json", "json", encode_json, attachment=False),
        Format(
            "csv",
            "text/csv; charset=utf-8",
            "csv",
            encode_csv,
            spreadsheet_prefix=b"\xef\xbb\xbf",
            spreadsheet_guard=guard_formulas,
        ),
        Format("parquet", "application/vnd.apache.parquet", "parquet", encode_parquet),
        Format("arrow", "application/vnd.apache.arrow.stream", "arrows", encode_arrow),
        Format(
            "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", encode_xlsx
        ),
    )
}

NAMES_PATTERN = "^(" + "|".join(FORMATS) + ")$"
"""The format names, as a pattern for a query parameter."""


def get(name: str) -> Format:
    """The format called `name`, or a clear refusal listing the known ones."""
    found = FORMATS.get(name)
    if found is None:
        raise InvalidInput(
            M_("unsupported format: %(name)s", name=name), where="format", hint=", ".join(FORMATS)
        )
    return found


def by_extension(suffix: str) -> Format | None:
    """The format a file name's extension (``.csv``, ``.arrows``) stands for."""
    ext = suffix.lower().lstrip(".")
    return next((f for f in FORMATS.values() if f.extension == ext), None)
