"""Readers: each source format exposed to DuckDB as a relation and to callers as Arrow record batches.

Text formats (CSV, JSON, JSON Lines) and Parquet are scanned by DuckDB itself, which reads in
parallel and in bounded memory. XLSX (python-calamine) and SQL sources (SQLAlchemy) are streamed
as Arrow record batches that DuckDB consumes batch by batch.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from shuzhi.errors import InvalidInput, ShuzhiError, SourceUnavailable
from shuzhi.i18n import M_, Message
from shuzhi.ingest import codes, databases, text
from shuzhi.ingest.formats import SourceRef
from shuzhi.ingest.network import AddressPolicy

_CSV_LINE = re.compile(r"CSV Error on Line: (\d+)")
_JSON_LINE = re.compile(r"line (\d+)|record/value (\d+)")


def sql_str(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ident(name: str) -> str:
    """A column name as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


_ABSOLUTE_PATH = re.compile(r"""(?<![\w.:/])/(?:[^\s'"/]+/)+[^\s'"]*""")
"""A file system path of two or more levels in an engine's message (what is left once the reader's
own files have been named as the user knows them)."""


def first_line(exc: BaseException, *paths: str | Path, name: str = "") -> str:
    """The first line of an error's text for a message, with the server's paths taken out: each of
    `paths` (where the source sits in staging) shows as `name`, any other absolute path as `…`."""
    text = str(exc).strip()
    line = text.splitlines()[0] if text else exc.__class__.__name__
    for p in sorted({str(p) for p in paths if str(p) not in ("", ".")}, key=len, reverse=True):
        line = line.replace(p, name)
    return _ABSOLUTE_PATH.sub("…", line)


class Reader:
    """A source opened for reading. `relation(con)` names it for SQL; `batches()` streams it as Arrow."""

    fmt: str
    encoding: str | None = None

    def __init__(self, path: Path, name: str):
        self.path, self.name = path, name

    def relation(self, con: duckdb.DuckDBPyConnection) -> str:
        raise NotImplementedError

    def first_line(self, exc: BaseException) -> str:
        """An error's first line for the user: the source by its own name, no server path."""
        return first_line(exc, self.path, getattr(self, "utf8_path", ""), name=self.name)

    def explain(self, exc: duckdb.Error) -> ShuzhiError:
        """A user-facing error for a failure DuckDB reported while reading this source."""
        return InvalidInput(
            M_("cannot read the %(fmt)s file: %(first_line)s", fmt=self.fmt, first_line=self.first_line(exc)),
            where=self.name,
            hint=M_("check the file is complete and well-formed"),
        )

    def check_schema(self, names: list[str]) -> None:
        """Refuse a result whose columns are not what the source declares."""

    def retry(self, exc: duckdb.Error) -> bool:
        """Whether a failed read is worth one more attempt with safer settings."""
        return False

    def batches(self, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        con = duckdb.connect()
        rel = con.sql(f"SELECT * FROM {self.relation(con)}")
        return rel.to_arrow_reader(batch_rows)


class CsvReader(Reader):
    fmt = "csv"

    def __init__(self, path: Path, name: str, layout: text.TextLayout, utf8_path: Path | None = None):
        super().__init__(path, name)
        self.layout, self.encoding = layout, layout.encoding
        self.utf8_path = utf8_path or path
        self.full_sample = False
        self.kinds = codes.scan(self.utf8_path, layout)

    def relation(self, con):
        # The dialect is fixed from our own reading of the header. Left to itself, DuckDB's sniffer
        # reads a ragged file as one column per line, may skip leading rows it finds irregular, and
        # drops rows starting with '#' as comments: all silent data loss instead of an error.
        sample = ", sample_size=-1" if self.full_sample else ""
        # DuckDB takes '\n' reliably but reads nothing with new_line='\r\n'; its own detection
        # handles CRLF files, so the line end is only pinned for LF files (a CR inside a value
        # otherwise confuses the detection).
        newline = "" if self.layout.newline == "\r\n" else ", new_line='\\n'"
        # Codes stay text (a phone number's leading zero is data); YYYYMMDD dates are read as text
        # and then as dates (codes.py decides which).
        as_text = [*self.kinds.text, *sorted(self.kinds.dates)]
        types = ", types={" + ", ".join(f"{sql_str(c)}: 'VARCHAR'" for c in as_text) + "}" if as_text else ""
        source = (
            f"read_csv({sql_str(self.utf8_path)}, header=true, skip=0, comment='', "
            f"delim={sql_str(self.layout.delimiter)}, quote='\"', escape='\"'{newline}, strict_mode=true, "
            f"encoding='utf-8'{sample}{types})"
        )
        if not self.kinds.dates:
            return source
        dates = ", ".join(
            f"strptime({ident(c)}, '%Y%m%d')::DATE AS {ident(c)}" for c in sorted(self.kinds.dates)
        )
        return f"(SELECT * REPLACE ({dates}) FROM {source})"

    def check_schema(self, names: list[str]) -> None:
        if [n.strip() for n in names] != [h.strip() for h in self.layout.header]:
            raise self.explain(
                RuntimeError(f"columns read {names} differ from the header {self.layout.header}")
            )

    def retry(self, exc):
        # A later value that is no YYYYMMDD date: those columns stay text, as they were written.
        if self.kinds.dates and "%Y%m%d" in str(exc):
            self.kinds.text.update(dict.fromkeys(self.kinds.dates, "not every value a date"))
            self.kinds.dates = set()
            return True
        # Types are guessed from a sample of rows; a later value that does not fit (a letter in a
        # column of numbers) means: guess again from every row.
        if isinstance(exc, duckdb.ConversionException) and not self.full_sample:
            self.full_sample = True
            return True
        return False

    def explain(self, exc):
        found = text.locate_bad_row(self.utf8_path, self.name, self.layout.delimiter, len(self.layout.header))
        if found is not None:
            return found
        m = _CSV_LINE.search(str(exc))
        line = int(m.group(1)) if m else None
        if "unicode" in str(exc).lower():
            return text.undecodable(self.name, "utf-8", line)
        return InvalidInput(
            M_("cannot parse CSV: %(first_line)s", first_line=self.first_line(exc)),
            where=f"{self.name}:{line}" if line else self.name,
            line=line,
            hint=M_("check delimiters, quotes and values on that line"),
        )


class JsonReader(Reader):
    fmt = "json"

    def __init__(self, path: Path, name: str, lines: bool, encoding: str = "utf-8"):
        super().__init__(path, name)
        self.lines, self.encoding = lines, encoding
        self.fmt = "jsonl" if lines else "json"

    def relation(self, con):
        form = "newline_delimited" if self.lines else "auto"
        return f"read_json({sql_str(self.path)}, format='{form}', records='auto')"

    def explain(self, exc):
        m = _JSON_LINE.search(str(exc))
        line = next((int(g) for g in m.groups() if g), None) if m else None
        return InvalidInput(
            M_("cannot parse JSON: %(first_line)s", first_line=self.first_line(exc)),
            where=f"{self.name}:{line}" if line else self.name,
            line=line,
            hint=M_("use an array of objects or one object per line"),
        )


class ParquetReader(Reader):
    fmt = "parquet"

    def __init__(self, path: Path, name: str, max_bytes: int | None = None):
        super().__init__(path, name)
        self.max_bytes = max_bytes

    def relation(self, con):
        self._check_size()
        return f"read_parquet({sql_str(self.path)})"

    def _check_size(self) -> None:
        """Refuse a file whose footer declares more uncompressed data than allowed, before reading it."""
        if self.max_bytes is None:
            return
        import pyarrow.parquet as pq

        try:
            meta = pq.ParquetFile(self.path).metadata
        except (OSError, pa.ArrowException):
            return  # DuckDB's reading reports what is wrong with the file
        declared = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
        if declared > self.max_bytes:
            raise limit_exceeded(
                self.name,
                M_("uncompressed %(bytes)s bytes", bytes=format(declared, ",")),
                f"ingest.max_decompressed_bytes = {self.max_bytes:,}",
            )


def limit_exceeded(name: str, found: Message, setting: str) -> InvalidInput:
    return InvalidInput(
        M_(
            "the file exceeds an ingest limit: %(found)s; the limit is %(setting)s",
            found=found,
            setting=setting,
        ),
        where=name,
        limit=setting.split(" = ")[0],
        hint=M_("split the file, or ask an administrator to raise the setting"),
    )


class ArrowReader(Reader):
    """Sources Python streams to DuckDB as Arrow batches."""

    def stream(self) -> pa.RecordBatchReader:
        raise NotImplementedError

    def relation(self, con):
        view = f"src_{id(self):x}"
        con.register(view, self.stream())
        return view

    def batches(self, batch_rows: int = 65_536) -> pa.RecordBatchReader:
        return self.stream()


# -- Excel -------------------------------------------------------------------

_KIND_RANK = {"bool": 0, "int": 1, "float": 2}
_ARROW_OF = {
    "bool": pa.bool_(),
    "int": pa.int64(),
    "float": pa.float64(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us"),
    "time": pa.time64("us"),
    "duration": pa.duration("us"),
    "str": pa.string(),
    None: pa.string(),
}


def _kind(v) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "int" if v.is_integer() and abs(v) < 2**53 else "float"
    if isinstance(v, dt.datetime):
        return "datetime"
    if isinstance(v, dt.date):
        return "date"
    if isinstance(v, dt.time):
        return "time"
    if isinstance(v, dt.timedelta):
        return "duration"
    return "str"


def _merge(a: str | None, b: str | None) -> str | None:
    if a is None or a == b:
        return b
    if b is None:
        return a
    if a in _KIND_RANK and b in _KIND_RANK and "bool" not in (a, b):
        return "float"
    if {a, b} == {"date", "datetime"}:
        return "datetime"
    return "str"


def _cell(v, kind: str | None):
    if v is None or v == "":
        return None
    if kind == "str":
        return (
            v if isinstance(v, str) else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
        )
    if kind == "int":
        return int(v)
    if kind == "datetime" and type(v) is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


@dataclass(frozen=True)
class WorkbookLimits:
    """How much of a workbook is read: its sheets' XML once inflated, the cells and rows of a sheet."""

    xml_bytes: int
    cells: int
    rows: int


_WORKBOOK_PARTS = re.compile(r"xl/(worksheets/[^/]+\.xml|sharedStrings\.xml)", re.IGNORECASE)
"""The parts of an .xlsx the parser holds in memory: worksheets and the shared strings table."""


class XlsxReader(ArrowReader):
    """One worksheet (the first, or the one named) with its header on the first row."""

    fmt = "xlsx"

    def __init__(
        self,
        path: Path,
        name: str,
        sheet: str | None = None,
        batch_rows: int = 65_536,
        limits: WorkbookLimits | None = None,
    ):
        super().__init__(path, name)
        self.sheet, self.batch_rows, self.limits = sheet, batch_rows, limits
        self._inflated_checked = False

    def _check_inflated(self) -> None:
        """Refuse a workbook whose sheets expand past the limit, from the sizes its zip declares,
        then by inflating those parts (unparsed, counted) to make sure the declaration holds — all
        before the parser, which keeps a whole sheet in memory, sees it."""
        import zipfile

        if self.limits is None or self._inflated_checked:
            return
        if not zipfile.is_zipfile(self.path):
            self._inflated_checked = True
            return  # the older binary .xls: not compressed, bounded by the upload limit
        setting = f"ingest.workbook_max_xml_bytes = {self.limits.xml_bytes:,}"
        try:
            with zipfile.ZipFile(self.path) as z:
                parts = [i for i in z.infolist() if _WORKBOOK_PARTS.fullmatch(i.filename)]
                declared = sum(i.file_size for i in parts)
                if declared > self.limits.xml_bytes:
                    raise limit_exceeded(
                        self.name,
                        M_("sheets inflate to %(bytes)s bytes", bytes=format(declared, ",")),
                        setting,
                    )
                for info in parts:  # zipfile stops at the declared size and checks the CRC
                    with z.open(info) as f:
                        while f.read(1 << 20):
                            pass
        except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError) as exc:
            raise InvalidInput(
                M_(
                    "the workbook is damaged or its parts do not match their declared sizes: %(first_line)s",
                    first_line=self.first_line(exc),
                ),
                where=self.name,
                hint=M_("re-save it as .xlsx and try again"),
            ) from None
        self._inflated_checked = True

    def _check_size(self, ws) -> None:
        if self.limits is None:
            return
        # Rows are read from the first one to the used range's end (its 0-based last cell).
        end = ws.end
        rows, cols = (end[0] + 1, end[1] + 1) if end else (0, 0)
        where = self.name + (f"[{self.sheet}]" if self.sheet else "")
        if rows > self.limits.rows:
            raise limit_exceeded(
                where,
                M_("%(rows)s rows", rows=format(rows, ",")),
                f"ingest.workbook_max_rows = {self.limits.rows:,}",
            )
        if rows * cols > self.limits.cells:
            raise limit_exceeded(
                where,
                M_(
                    "%(rows)s rows × %(cols)s columns = %(cells)s cells",
                    rows=format(rows, ","),
                    cols=format(cols, ","),
                    cells=format(rows * cols, ","),
                ),
                f"ingest.workbook_max_cells = {self.limits.cells:,}",
            )

    def _rows(self) -> Iterator[list]:
        from python_calamine import CalamineWorkbook

        self._check_inflated()
        try:
            wb = CalamineWorkbook.from_path(str(self.path))
            ws = wb.get_sheet_by_name(self.sheet) if self.sheet else wb.get_sheet_by_index(0)
            self._check_size(ws)
            yield from ws.iter_rows()
        except ShuzhiError:
            raise
        except Exception as exc:  # calamine raises its own types for corrupt or missing sheets
            raise InvalidInput(
                M_("cannot read the workbook: %(first_line)s", first_line=self.first_line(exc)),
                where=self.name + (f"[{self.sheet}]" if self.sheet else ""),
                hint=M_("re-save as .xlsx or check the sheet name"),
            ) from exc

    def _header(self, rows: Iterator[list]) -> list[str]:
        header = next(rows, None)
        if header is None or not any(c not in (None, "") for c in header):
            raise text.empty_file(self.name)
        while header and header[-1] in (None, ""):
            header = header[:-1]  # trailing empty cells are formatting, not columns
        names = [_cell(c, "str") for c in header]
        text.check_header(names, self.name, line=1)
        return names

    def stream(self) -> pa.RecordBatchReader:
        rows = self._rows()
        names = self._header(rows)
        kinds: list[str | None] = [None] * len(names)
        for lineno, row in enumerate(rows, start=2):
            for i, v in enumerate(row):
                if i >= len(names):
                    if v not in (None, ""):
                        raise InvalidInput(
                            M_(
                                "line %(lineno)s, column %(value)s has a value but no header",
                                lineno=lineno,
                                value=i + 1,
                            ),
                            where=f"{self.name}:{lineno}:{i + 1}",
                            line=lineno,
                            column=i + 1,
                            hint=M_("add a header or remove the stray value"),
                        )
                    continue
                kinds[i] = _merge(kinds[i], _kind(v))
        schema = pa.schema([(n, _ARROW_OF[k]) for n, k in zip(names, kinds, strict=True)])
        return pa.RecordBatchReader.from_batches(schema, self._batches(schema, kinds))

    def _batches(self, schema: pa.Schema, kinds: list) -> Iterator[pa.RecordBatch]:
        rows = self._rows()
        next(rows)
        width = len(kinds)
        buf: list[list] = []
        for row in rows:
            buf.append(row)
            if len(buf) >= self.batch_rows:
                yield self._batch(buf, schema, kinds, width)
                buf = []
        if buf:
            yield self._batch(buf, schema, kinds, width)

    @staticmethod
    def _batch(rows: list[list], schema: pa.Schema, kinds: list, width: int) -> pa.RecordBatch:
        cols = [[_cell(r[i] if i < len(r) else None, kinds[i]) for r in rows] for i in range(width)]
        return pa.RecordBatch.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)], schema=schema
        )


# -- SQL databases -------------------------------------------------------------


def _arrow_value(v):
    if isinstance(v, Decimal):
        return float(v)  # exact decimals need one scale per column; a float keeps the profile usable
    if isinstance(v, memoryview | bytearray):
        return bytes(v)
    return v


class SqlReader(ArrowReader):
    """A table or query of a department's front-end database, read with SQLAlchemy in batches.

    The connection is read-only and made to an address the policy allows (see `databases`); a
    query must be one SELECT.
    """

    fmt = "sql"

    def __init__(
        self,
        ref: SourceRef,
        *,
        table: str | None,
        query: str | None,
        timeout_s: int,
        batch_rows: int = 65_536,
        policy: AddressPolicy | None = None,
        store_url: str | None = None,
    ):
        if bool(table) == bool(query):
            raise InvalidInput(
                M_("give exactly one of --table or --query"),
                where=ref.text,
                hint=M_("e.g. --table enterprises"),
            )
        super().__init__(Path("."), f"{ref.text} [{table or 'query'}]")
        self.ref, self.table = ref, table
        # Checked before anything connects: a refused query never reaches the database.
        self.query = databases.check_query(query, ref.driver.dialect, where=self.name) if query else None
        self.timeout_s, self.batch_rows = timeout_s, batch_rows
        self.policy, self.store_url = policy or AddressPolicy(), store_url

    def _engine(self):
        return databases.open_engine(
            self.ref.url,
            self.ref.driver,
            policy=self.policy,
            timeout_s=self.timeout_s,
            store_url=self.store_url,
            where=self.ref.text,
        )

    def _table(self, conn):
        from sqlalchemy import MetaData, Table, select

        schema, _, name = self.table.rpartition(".")
        try:
            table = Table(name, MetaData(), schema=schema or None, autoload_with=conn)
        except Exception as exc:
            raise InvalidInput(
                M_("no such table %(table)r", table=self.table),
                where=self.ref.text,
                hint=M_("check the table name"),
            ) from exc
        return select(table)

    def _execute(self, conn):
        streaming = conn.execution_options(stream_results=True, yield_per=self.batch_rows)
        if self.query:
            # Run verbatim: no bind-parameter or percent parsing of the checked statement.
            return streaming.execution_options(no_parameters=True).exec_driver_sql(self.query)
        return streaming.execute(self._table(conn))

    def stream(self) -> pa.RecordBatchReader:
        from sqlalchemy.exc import DBAPIError

        engine = self._engine()
        try:
            conn = engine.connect()
        except DBAPIError as exc:
            engine.dispose()
            raise SourceUnavailable(
                M_("database does not answer: %(first_line)s", first_line=first_line(exc.orig or exc)),
                where=self.ref.text,
                hint=M_("check the database is up and the URL, then retry"),
            ) from exc
        try:
            result = self._execute(conn)
            parts = result.partitions(self.batch_rows)
            first = next(parts, [])
            names = list(result.keys())
            text.check_header(names, self.name)
            head = self._to_batch(first, names, None)
        except ShuzhiError:
            conn.close()
            engine.dispose()
            raise
        except DBAPIError as exc:
            conn.close()
            engine.dispose()
            raise InvalidInput(
                M_("the query failed: %(first_line)s", first_line=first_line(exc.orig or exc)),
                where=self.name,
                hint=M_("check the SQL"),
            ) from exc

        def gen() -> Iterator[pa.RecordBatch]:
            try:
                if head.num_rows:
                    yield head
                for part in parts:
                    yield self._to_batch(part, names, head.schema)
            finally:
                conn.close()
                engine.dispose()

        return pa.RecordBatchReader.from_batches(head.schema, gen())

    def _to_batch(self, rows, names: list[str], schema: pa.Schema | None) -> pa.RecordBatch:
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in names]
        arrays = []
        for i, name in enumerate(names):
            values = [_arrow_value(v) for v in cols[i]]
            want = schema.field(i).type if schema is not None else None
            if want == pa.string():
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            try:
                arr = pa.array(values, type=want) if want is not None else pa.array(values)
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise InvalidInput(
                    M_("column %(name)r mixes types: %(exc)s", name=name, exc=exc),
                    where=self.name,
                    column=i + 1,
                    hint=M_("CAST the column in --query"),
                ) from exc
            if pa.types.is_null(arr.type):
                arr = pa.array([None if v is None else str(v) for v in values], type=pa.string())
            arrays.append(arr)
        return pa.RecordBatch.from_arrays(arrays, names=names)
