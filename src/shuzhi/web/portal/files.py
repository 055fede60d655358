"""A published release's Parquet file as CSV, JSON or XLSX, converted a batch at a time so a large
release never sits in memory whole."""

from __future__ import annotations

import io
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shuzhi.web.ckan.datastore import json_value

BATCH_ROWS = 65_536
CHUNK_BYTES = 1 << 16
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
}


def disposition(filename: str, fallback: str) -> str:
    """An attachment named `filename` (RFC 6266, in UTF-8 for browsers), `fallback` (ASCII) for the rest."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in fallback)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _batches(path: Path) -> Iterator[pa.RecordBatch]:
    yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)


FORMULA_TRIGGERS = "=+-@\t\r"
"""What makes a spreadsheet program run a CSV cell as a formula when it starts the cell."""
_TRIGGERED = "^[=+\\-@\\t\\r]"


def neutralised(text: str) -> str:
    """`text` as a CSV text cell no spreadsheet runs: a single quote before a leading formula
    trigger (the quote shows the rest as text), else unchanged."""
    return "'" + text if text and text[0] in FORMULA_TRIGGERS else text


def _neutral_column(column: pa.Array) -> pa.Array:
    # Text columns only: a negative number is a number, never a formula, and stays as it is.
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    quoted = pc.binary_join_element_wise(pa.scalar("'", column.type), column, pa.scalar("", column.type))
    return pc.if_else(pc.match_substring_regex(column, _TRIGGERED), quoted, column)


def _neutral_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    return pa.RecordBatch.from_arrays([_neutral_column(c) for c in batch.columns], names=batch.schema.names)


def csv_chunks(path: Path) -> Iterator[bytes]:
    """The rows as UTF-8 CSV with a header; a byte-order mark first so spreadsheet programs read
    the Chinese text as UTF-8. Text cells (and column names) starting with a formula trigger get
    a leading single quote, so opening the file never runs what a cell says."""
    yield "\ufeff".encode()
    schema = pq.read_schema(path)
    out = io.BytesIO()
    header = [neutralised(n) for n in schema.names]
    pacsv.write_csv(pa.Table.from_arrays([pa.array([], pa.string()) for _ in header], names=header), out)
    yield out.getvalue()
    for batch in _batches(path):
        out = io.BytesIO()
        pacsv.write_csv(_neutral_batch(batch), out, pacsv.WriteOptions(include_header=False))
        yield out.getvalue()


def json_chunks(path: Path) -> Iterator[bytes]:
    """The rows as one JSON array of objects (dates in ISO 8601, NaN as null)."""
    yield b"["
    first = True
    for batch in _batches(path):
        rows = [{k: json_value(v) for k, v in row.items()} for row in batch.to_pylist()]
        if not rows:
            continue
        text = ",\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        yield (text if first else ",\n" + text).encode()
        first = False
    yield b"]\n"


def _cell(v):
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, datetime | date | time):
        return v.isoformat()
    if isinstance(v, float | int | str | bool) or v is None:
        return v
    return json.dumps(json_value(v), ensure_ascii=False)


def xlsx_file(path: Path, directory: Path) -> Path:
    """The rows as an XLSX workbook in a new file under `directory` (the caller deletes it). Text
    is written as text, never as a formula or a link, whatever it starts with."""
    fd, name = tempfile.mkstemp(dir=directory, suffix=".xlsx")
    os.close(fd)
    try:
        _write_xlsx(path, name)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def _write_xlsx(path: Path, name: str) -> None:
    import xlsxwriter

    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
        "nan_inf_to_errors": True,
    }
    with xlsxwriter.Workbook(name, options) as book:
        sheet = book.add_worksheet("data")
        sheet.write_row(0, 0, pq.read_schema(path).names, book.add_format({"bold": True}))
        r = 1
        for batch in _batches(path):
            for row in batch.to_pylist():
                sheet.write_row(r, 0, [_cell(v) for v in row.values()])
                r += 1


def preview(path: Path, rows: int) -> tuple[list[str], list[list[str]]]:
    """The first `rows` rows, as text for a table on the page."""
    names = pq.read_schema(path).names
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
    if batch is None:
        return names, []
    shown = [["" if v is None else str(_cell(v)) for v in row.values()] for row in batch.to_pylist()[:rows]]
    return names, shown
