"""The three read channels — rows, governed SQL, bulk export — each only a way to phrase one SELECT.

None of them decides anything: they build consumer SQL and hand it to `access.open_read`, then
encode the governed batches as they come (JSON, CSV, Parquet, Arrow IPC stream) without
materialising the result.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as paipc
import pyarrow.parquet as pq
from sqlglot import exp

from shuzhi.errors import InvalidInput, ShuzhiError


class Channel(StrEnum):
    """How a governed read was asked for; its ledger entry says which."""

    ROWS = "rows"
    """The REST rows endpoint (and the field list it starts from)."""
    SQL = "sql"
    """Governed SQL: the API, the workbench page, the CLI."""
    EXPORT = "export"
    """Bulk export of a dataset's granted fields."""


FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "parquet": ("application/vnd.apache.parquet", "parquet"),
    "arrow": ("application/vnd.apache.arrow.stream", "arrows"),
}

FILTER_OPS = {
    "eq": exp.EQ,
    "ne": exp.NEQ,
    "lt": exp.LT,
    "le": exp.LTE,
    "gt": exp.GT,
    "ge": exp.GTE,
    "like": exp.Like,
}


@dataclass(frozen=True)
class RowsQuery:
    """The rows endpoint's request: fields, filters (`field:op:value`), sort, a page."""

    dataset: str
    fields: list[str] = field(default_factory=list)
    filters: list[str] = field(default_factory=list)
    sort: list[str] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def _ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _literal(value: str) -> exp.Expression:
    return exp.Literal.string(value)


def _column(name: str) -> exp.Column:
    if not name or not name.strip():
        raise InvalidInput("字段名为空 / empty field name")
    return exp.Column(this=_ident(name.strip()))


def _condition(spec: str) -> exp.Expression:
    name, sep, rest = spec.partition(":")
    op, sep2, value = rest.partition(":")
    if not sep or not op:
        raise InvalidInput(
            f"过滤条件格式应为 字段:操作:值 / filter must be field:op:value: {spec!r}", where="filter"
        )
    col = _column(name)
    op = op.lower()
    if op == "null":
        return exp.Is(this=col, expression=exp.Null())
    if op == "notnull":
        return exp.Not(this=exp.Is(this=col, expression=exp.Null()))
    if not sep2:
        raise InvalidInput(f"过滤条件缺少值 / filter lacks a value: {spec!r}", where="filter")
    if op == "in":
        return exp.In(this=col, expressions=[_literal(v) for v in value.split("|")])
    cls = FILTER_OPS.get(op)
    if cls is None:
        raise InvalidInput(
            f"不支持的过滤操作 / unsupported filter op: {op}",
            where="filter",
            hint=", ".join([*FILTER_OPS, "in", "null", "notnull"]),
        )
    # Values are compared as text cast to the column's type by the engine (DuckDB casts literals).
    return cls(this=col, expression=_literal(value))


def rows_sql(q: RowsQuery, granted_fields: list[str]) -> str:
    """The consumer SELECT the rows endpoint stands for (fields default to all granted)."""
    names = q.fields or granted_fields
    select = exp.select(*[_column(n) for n in names]).from_(exp.Table(this=_ident(q.dataset)))
    for spec in q.filters:
        select = select.where(_condition(spec))
    order = []
    for key in q.sort:
        key = key.strip()
        if key:
            desc = key.startswith("-")
            order.append(exp.Ordered(this=_column(key.lstrip("-+")), desc=desc))
    if order:
        select = select.order_by(*order)
    if q.limit is not None:
        if q.limit < 0 or q.offset < 0:
            raise InvalidInput("limit/offset 不能为负 / must not be negative")
        select = select.limit(q.limit)
    if q.offset:
        select = select.offset(q.offset)
    return select.sql(dialect="duckdb")


# -- encoders ---------------------------------------------------------------------------------


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


def encode_csv(schema: pa.Schema, batches: Iterator[pa.RecordBatch], **cap) -> Iterator[bytes]:
    return _encoded(pacsv.CSVWriter, schema, batches, **cap)


def encode_arrow(schema: pa.Schema, batches: Iterator[pa.RecordBatch], **cap) -> Iterator[bytes]:
    return _encoded(paipc.new_stream, schema, batches, **cap)


def encode_parquet(schema: pa.Schema, batches: Iterator[pa.RecordBatch], **cap) -> Iterator[bytes]:
    return _encoded(
        lambda sink, schema: pq.ParquetWriter(sink, schema, compression="zstd"), schema, batches, **cap
    )


def _json_value(v):
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return float(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, float) and not math.isfinite(v):
        return None  # JSON has no NaN or infinity
    return v


def encode_json(
    schema: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    *,
    meta: dict,
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
    head = {"fields": [{"name": f.name, "type": str(f.type)} for f in schema], **meta}
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
                        {k: _json_value(v) for k, v in row.items()}, ensure_ascii=False
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


def encoder(fmt: str):
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的格式 / unsupported format: {fmt}", hint=", ".join(FORMATS))
    return {"csv": encode_csv, "arrow": encode_arrow, "parquet": encode_parquet}.get(fmt)


def write_file(path: Path, fmt: str, schema: pa.Schema, batches: Iterator[pa.RecordBatch]) -> int:
    """Bulk export: stream the batches into a file (written beside, then renamed into place)."""
    encode = encoder(fmt)
    tmp = path.with_name(path.name + ".part")
    try:
        with open(tmp, "wb") as out:
            chunks = encode(schema, batches) if encode else encode_json(schema, batches, meta={})
            for chunk in chunks:
                out.write(chunk)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed export leaves no partial file; an earlier one stays as it was
        raise
    return path.stat().st_size
