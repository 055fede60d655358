"""The datastore of the CKAN API: rows of a published release's file, filtered, sorted and paged by keyset.

Rows carry CKAN's `_id`: their 1-based position in the release's file, which never changes (the
file is immutable). Every order ends with `_id`, so it is total, and the `next` link carries the
last row's sort values and `_id` (a keyset cursor): the following page starts right after that
row. In file order the cursor skips whole row groups by the file's metadata, so page ten
thousand costs what page one does; an order on other fields reads the columns it needs once per
page and keeps the top rows, never skipping a count of rows (no OFFSET).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from shuzhi.exchange.formats import json_cells

ID = "_id"
RECORDS_FORMATS = ("objects", "lists", "csv", "tsv")


class DatastoreInvalid(Exception):
    """Bad datastore input: `errors` maps each parameter to what is wrong with it (CKAN's shape)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.errors = {field: [message]}


@dataclass
class Query:
    fields: list[str] | None = None
    filters: dict[str, list] | None = None
    q: str | dict | None = None
    sort: list[tuple[str, bool]] | None = None
    limit: int = 100
    offset: int = 0
    cursor: dict | None = None
    include_total: bool = True
    records_format: str = "objects"


def ckan_type(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "numeric"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_time(t):
        return "time"
    return "text"


def parse_sort(text: str, names: list[str]) -> list[tuple[str, bool]]:
    """`field [asc|desc], …` over the table's fields (and `_id`), as (field, descending)."""
    out = []
    for part in (text or "").split(","):
        words = part.split()
        if not words:
            continue
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise DatastoreInvalid("sort", f"Invalid sort {part.strip()!r}: expected 'field [asc|desc]'")
        name = words[0].strip('"')
        if name not in names and name != ID:
            raise DatastoreInvalid("sort", f"field {name!r} not in table")
        out.append((name, len(words) == 2 and words[1].lower() == "desc"))
    return out


def sort_text(sort: list[tuple[str, bool]]) -> str:
    return ", ".join(f"{n} {'desc' if d else 'asc'}" for n, d in sort)


def encode_cursor(sort: list[tuple[str, bool]], values: list, row_id: int) -> str:
    raw = json.dumps({"s": sort_text(sort), "k": values, "i": row_id}, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: list[tuple[str, bool]]) -> dict:
    try:
        raw = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        ok = isinstance(raw, dict) and _row_id(raw.get("i")) and isinstance(raw.get("k"), list)
    except ValueError:
        ok = False
    if not ok:
        raise DatastoreInvalid("cursor", "Invalid cursor: take it unchanged from _links.next")
    if raw.get("s") != sort_text(sort) or len(raw["k"]) != len(sort):
        raise DatastoreInvalid("cursor", "The cursor belongs to another sort order")
    return raw


def _row_id(value) -> bool:
    """A row's `_id` as a cursor may carry it: a whole number an int64 holds (JSON's true is no row)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _typed(values: list, t: pa.DataType, field: str, what: str) -> pa.Array:
    """JSON values as an array of the column's type (text converted by Arrow's own casts)."""
    try:
        if pa.types.is_boolean(t):
            values = [
                v if isinstance(v, bool) or v is None else str(v).lower() in ("true", "1") for v in values
            ]
            return pa.array(values, pa.bool_())
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_dictionary(t):
            return pa.array([None if v is None else str(v) for v in values], pa.string())
        as_text = pa.array([None if v is None else str(v) for v in values], pa.string())
        return as_text.cast(t)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        raise DatastoreInvalid(what, f"invalid value for field {field!r} of type {ckan_type(t)}") from None


def _plain(col):
    return col.dictionary_decode() if pa.types.is_dictionary(col.type) else col


class Table:
    """A published release's file as the datastore reads it."""

    def __init__(self, path: Path):
        self.file = pq.ParquetFile(path)
        self.schema = self.file.schema_arrow
        self.names = list(self.schema.names)
        self.rows = self.file.metadata.num_rows

    def field_list(self, names: list[str]) -> list[dict]:
        return [
            {"id": ID, "type": "int"} if n == ID else {"id": n, "type": ckan_type(self.type(n))}
            for n in names
        ]

    def type(self, name: str) -> pa.DataType:
        t = self.schema.field(name).type
        return t.value_type if pa.types.is_dictionary(t) else t

    def check(self, query: Query) -> list[str]:
        """The output fields, after checking every name the query uses."""
        fields = query.fields or [ID, *self.names]
        for name in fields:
            if name != ID and name not in self.names:
                raise DatastoreInvalid("fields", f"field {name!r} not in table")
        for name in query.filters or {}:
            if name not in self.names and name != ID:
                raise DatastoreInvalid("filters", f"field {name!r} not in table")
        if isinstance(query.q, dict):
            for name in query.q:
                if name not in self.names:
                    raise DatastoreInvalid("q", f"field {name!r} not in table")
        return list(dict.fromkeys(fields))

    def _mask(self, batch: pa.Table, query: Query) -> pa.Array | None:
        masks = []
        for name, values in (query.filters or {}).items():
            col = _plain(batch[name])
            masks.append(pc.is_in(col, value_set=_typed(values, col.type, name, "filters")))
        if isinstance(query.q, dict):
            for name, term in query.q.items():
                masks.append(_contains(batch[name], str(term)))
        elif query.q:
            for term in str(query.q).split():
                any_col = None
                for name in self.names:
                    hit = _contains(batch[name], term)
                    any_col = hit if any_col is None else pc.or_(any_col, hit)
                masks.append(any_col)
        out = None
        for m in masks:
            m = pc.fill_null(m, False)
            out = m if out is None else pc.and_(out, m)
        return out

    def _needed(self, fields: list[str], query: Query) -> list[str]:
        used = set(fields) | set(query.filters or {}) | {n for n, _ in query.sort or []}
        if query.q:
            used |= set(query.q) if isinstance(query.q, dict) else set(self.names)
        return [n for n in self.names if n in used]

    def search(self, query: Query) -> tuple[pa.Table, int | None]:
        """The page of rows (with `_id`) and the total count of matching rows (None unless asked)."""
        fields = self.check(query)
        columns = self._needed(fields, query)
        filtering = bool(query.filters or query.q)
        if query.sort and query.sort != [(ID, False)]:
            page = self._sorted_page(columns, query)
        else:
            page = self._file_order_page(columns, query)
        total = None
        if query.include_total:
            total = self._count(query) if filtering else self.rows
        return page, total

    def _batches(self, columns: list[str], first_row: int = 0):
        """(first _id of the batch, batch) from the row group holding row `first_row` (0-based) on."""
        start = 0
        for g in range(self.file.num_row_groups):
            n = self.file.metadata.row_group(g).num_rows
            if start + n > first_row:
                t = self.file.read_row_group(g, columns=columns)
                yield start + 1, t
            start += n

    def _with_ids(self, t: pa.Table, first_id: int) -> pa.Table:
        return t.append_column(ID, pa.array(range(first_id, first_id + t.num_rows), pa.int64()))

    def _file_order_page(self, columns: list[str], query: Query) -> pa.Table:
        after = query.cursor["i"] if query.cursor else 0
        skip, want, parts = query.offset, query.limit, []
        for first_id, t in self._batches(columns, after):
            t = self._with_ids(t, first_id)
            keep = pc.greater(t[ID], after)
            m = self._mask(t, query)
            t = t.filter(keep if m is None else pc.and_(keep, m))
            if skip:
                dropped = min(skip, t.num_rows)
                t, skip = t.slice(dropped), skip - dropped
            parts.append(t.slice(0, want))
            want -= min(want, t.num_rows)
            if want == 0:
                break
        return _concat(parts, self, columns)

    def _sorted_page(self, columns: list[str], query: Query) -> pa.Table:
        t = self._with_ids(self.file.read(columns=columns), 1)
        t = pa.table({n: _plain(t[n]) for n in t.column_names})
        m = self._mask(t, query)
        if m is not None:
            t = t.filter(m)
        keys = list(query.sort or []) + ([] if any(n == ID for n, _ in query.sort or []) else [(ID, False)])
        if query.cursor:
            t = t.filter(_after(t, keys, query.cursor))
        take = query.offset + query.limit
        order = pc.sort_indices(
            t, sort_keys=[(n, "descending" if d else "ascending", "at_end") for n, d in keys]
        )
        return t.take(order[:take]).slice(query.offset)

    def _count(self, query: Query) -> int:
        columns = self._needed([], query)
        n = 0
        for first_id, t in self._batches(columns):
            m = self._mask(self._with_ids(t, first_id), query)
            n += t.num_rows if m is None else pc.sum(m).as_py() or 0
        return n


def _contains(col, term: str) -> pa.Array:
    try:
        text = pc.cast(_plain(col), pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a column with no text form (a list)
        return pa.array([False] * len(col), pa.bool_())
    return pc.match_substring(text, term, ignore_case=True)


def _concat(parts: list[pa.Table], table: Table, columns: list[str]) -> pa.Table:
    parts = [pa.table({n: _plain(p[n]) for n in p.column_names}) for p in parts]
    if parts:
        return pa.concat_tables(parts)
    return pa.table({n: pa.array([], table.type(n)) for n in columns} | {ID: pa.array([], pa.int64())})


def _after(t: pa.Table, keys: list[tuple[str, bool]], cursor: dict) -> pa.Array:
    """Rows strictly after the cursor in the order `keys`: nulls last in every key, and NaN just
    before them, as Arrow sorts (a NaN equals no number, and is greater or less than none)."""
    values = list(cursor["k"])
    if len(values) < len(keys):
        values.append(cursor["i"])
    result, equal_so_far = None, None
    for (name, descending), value in zip(keys, values, strict=True):
        col = t[name]
        nulls = pc.is_null(col)
        nans = pc.fill_null(pc.is_nan(col), False) if pa.types.is_floating(col.type) else None
        v = None if value is None else _typed([value], col.type, name, "cursor")[0]
        if v is None or not v.is_valid:
            greater = pa.array([False] * t.num_rows)
            equal = nulls
        elif nans is not None and math.isnan(v.as_py()):
            greater, equal = nulls, nans
        else:
            beyond = pc.less(col, v) if descending else pc.greater(col, v)
            greater = pc.or_(pc.fill_null(beyond, False), nulls if nans is None else pc.or_(nulls, nans))
            equal = pc.fill_null(pc.equal(col, v), False)
        step = greater if equal_so_far is None else pc.and_(equal_so_far, greater)
        result = step if result is None else pc.or_(result, step)
        equal_so_far = equal if equal_so_far is None else pc.and_(equal_so_far, equal)
    return result


def _base64(b: bytes) -> str:
    return base64.b64encode(b).decode()


json_value = json_cells(decimal=str, binary=_base64)
"""A cell as JSON as CKAN gives it: decimals as exact text, bytes in base64."""


def records(t: pa.Table, fields: list[str], records_format: str):
    rows = [[json_value(r[n]) for n in fields] for r in t.select(fields).to_pylist()]
    if records_format == "objects":
        return [dict(zip(fields, r, strict=True)) for r in rows]
    if records_format == "lists":
        return rows
    out = io.StringIO()
    writer = csv.writer(out, delimiter="\t" if records_format == "tsv" else ",", lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def last_key(t: pa.Table, sort: list[tuple[str, bool]]) -> tuple[list, int]:
    """The sort values and `_id` of a page's last row, for the next page's cursor (NaN and infinities
    as the text `nan`, `inf`, `-inf`, which Arrow casts back: as JSON's null they read as a null)."""
    row = t.slice(t.num_rows - 1).to_pylist()[0]
    return [_cursor_value(row[n]) for n, _ in sort], row[ID]


def _cursor_value(v):
    return str(v) if isinstance(v, float) and not math.isfinite(v) else json_value(v)
