"""Writers of the departments' files, each byte-for-byte reproducible: CSV (UTF-8, UTF-8 BOM, GBK), Excel,
JSON Lines and Parquet."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import xlsxwriter

ARROW_TYPES = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "DATE": pa.date32(), "DOUBLE": pa.float64()}
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "jsonl": "jsonl", "parquet": "parquet"}
_XLSX_CREATED = dt.datetime(2026, 1, 1)
"""Fixed workbook creation time: xlsxwriter would otherwise stamp the wall clock into every file."""


def to_arrow(columns: dict[str, np.ndarray], fields: list[tuple[str, str]]) -> pa.Table:
    """The written columns in field order with the declared types."""
    arrays = []
    for name, typ in fields:
        values = columns[name]
        if isinstance(values, np.ndarray) and values.dtype.kind == "M":
            values = values.astype("datetime64[D]")
        elif isinstance(values, np.ndarray) and values.dtype.kind == "U":
            values = values.astype(object)
        arrays.append(pa.array(values, type=ARROW_TYPES[typ]))
    return pa.Table.from_arrays(arrays, names=[n for n, _ in fields])


def write_table(table: pa.Table, path: Path, fmt: str, encoding: str | None, sheet: str = "Sheet1") -> str:
    """Write `table` as `fmt` to `path`; returns the file's SHA-256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        _write_csv(table, path, encoding or "utf-8")
    elif fmt == "xlsx":
        _write_xlsx(table, path, sheet)
    elif fmt == "jsonl":
        _write_jsonl(table, path)
    elif fmt == "parquet":
        pq.write_table(table, path, compression="zstd")
    else:
        raise ValueError(f"unknown demo format {fmt!r}")
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _write_csv(table: pa.Table, path: Path, encoding: str) -> None:
    buf = io.BytesIO()
    pacsv.write_csv(table, buf, pacsv.WriteOptions(quoting_style="needed"))
    data = buf.getvalue()
    if encoding == "utf-8-sig":
        data = b"\xef\xbb\xbf" + data
    elif encoding != "utf-8":
        data = data.decode("utf-8").encode(encoding)  # strict: a character outside GBK is a bug here
    path.write_bytes(data)


def _write_xlsx(table: pa.Table, path: Path, sheet: str) -> None:
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd"})
    workbook.set_properties({"created": _XLSX_CREATED, "author": "shuzhi demo"})
    ws = workbook.add_worksheet(sheet)
    ws.write_row(0, 0, table.column_names)
    columns = [c.to_pylist() for c in table.columns]
    for r, row in enumerate(zip(*columns, strict=True), start=1):
        ws.write_row(r, 0, row)
    workbook.close()


def _write_jsonl(table: pa.Table, path: Path) -> None:
    names = table.column_names
    columns = [c.to_pylist() for c in table.columns]
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for row in zip(*columns, strict=True):
            fh.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False, default=str))
            fh.write("\n")
