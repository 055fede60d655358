"""One read path out: every registered format round-trips through the governed read API, JSON
streams like the others, and a first page reads no further than the page."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shuzhi.errors import InvalidInput
from shuzhi.exchange import formats
from shuzhi.exchange.results import first_page
from shuzhi.exchange.service import run_sql
from shuzhi.ledger.models import LedgerEntry

from .conftest import enterprise_table

SQL = "SELECT uscc, ent_name, capital FROM enterprise ORDER BY capital"


def _reads(world) -> list[dict]:
    with world.db.session() as s:
        rows = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "data.read").order_by(LedgerEntry.seq)
        )
        return [json.loads(e.entry)["detail"] for e in rows]


def _decode(name: str, body: bytes) -> pa.Table:
    if name == "json":
        return pa.Table.from_pylist(json.loads(body)["rows"])
    if name == "csv":
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        return pa.Table.from_pylist([{**r, "capital": float(r["capital"])} for r in rows])
    if name == "parquet":
        return pq.read_table(io.BytesIO(body))
    if name == "xlsx":
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(body), read_only=True).worksheets[0]
        header, *rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        return pa.Table.from_pylist([dict(zip(header, r, strict=True)) for r in rows])
    return ipc.open_stream(body).read_all()


@pytest.mark.parametrize("name", list(formats.FORMATS))
def test_every_format_round_trips_through_the_governed_read_api(world, client, token_for, name):
    form = formats.FORMATS[name]
    r = client.post(
        "/api/v1/exchange/sql", headers=token_for("rs_analyst"), json={"sql": SQL, "format": name}
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(form.media_type.split(";")[0])
    if form.attachment:  # named after the dataset read and the day
        saved = f"enterprise_{date.today().isoformat()}.{form.extension}"
        assert (
            r.headers["content-disposition"] == f"attachment; filename=\"{saved}\"; filename*=UTF-8''{saved}"
        )
    else:
        assert "content-disposition" not in r.headers
    got = _decode(name, r.content)
    want = enterprise_table().select(["uscc", "ent_name", "capital"])
    assert got.column_names == want.column_names
    assert got.to_pylist() == want.to_pylist()
    last = _reads(world)[-1]  # audited like every read
    assert (last["channel"], last["rows"], last["ended"]) == ("sql", want.num_rows, "completed")


def test_every_entry_is_complete_and_an_unknown_format_is_refused():
    for name, form in formats.FORMATS.items():
        assert form.name == name and "/" in form.media_type and form.extension and callable(form.encode)
    assert (
        formats.by_extension(".arrows").name == "arrow"
        and formats.by_extension(".xlsx").name == "xlsx"
        and formats.by_extension(".xls") is None
    )
    with pytest.raises(InvalidInput) as e:
        formats.get("xml")
    assert e.value.hint == "json, csv, parquet, arrow, xlsx"


def test_media_types_are_documented_in_openapi(app):
    spec = app.openapi()
    media = {f.media_type for f in formats.FORMATS.values()}
    for path, method in (
        ("/api/v1/exchange/sql", "post"),
        ("/api/v1/exchange/datasets/{dataset}/rows", "get"),
    ):
        assert media <= set(spec["paths"][path][method]["responses"]["200"]["content"]), path


@pytest.mark.parametrize("name", list(formats.FORMATS))
def test_each_encoder_streams_a_batch_at_a_time(name):
    """No encoder waits for the result: each has yielded the rows of a batch before it asks for
    the next, so a large result is never held whole."""
    schema = pa.schema([("n", pa.int64()), ("s", pa.string())])
    asked = []

    def batches():
        for i in range(5):
            asked.append(i)
            yield pa.record_batch([pa.array(range(i * 1000, (i + 1) * 1000)), pa.array(["x"] * 1000)], schema)

    chunks = formats.get(name).encode(schema, batches(), meta={}, truncated=lambda: False)
    seen = []
    for chunk in chunks:
        seen.append((len(asked), len(chunk)))
    if name == "xlsx":
        # A workbook is a zip written at its end: it is built in a spooled file, not held in
        # memory as rows, and sent once the last batch is in.
        assert {n for n, size in seen if size} == {5}
    else:
        # Bytes went out after each batch, before the next was asked for.
        assert {1, 2, 3, 4, 5} <= {n for n, size in seen if size}
    body = b"".join(chunk for chunk in formats.get(name).encode(schema, iter(()), meta={}))
    assert body  # an empty result is still a valid answer


def test_json_answer_is_framed_and_its_byte_cap_cuts_between_rows():
    schema = pa.schema([("n", pa.int64())])
    cut_at = []
    batch = pa.record_batch([pa.array(range(10_000))], schema)
    body = b"".join(
        formats.encode_json(
            schema, iter([batch]), meta={"q": 1}, truncated=lambda: False, max_bytes=1000, cut=cut_at.append
        )
    )
    answer = json.loads(body)
    assert answer["q"] == 1 and answer["truncated"] is True and len(body) <= 1000
    assert cut_at == [len(answer["rows"])] and answer["rows"][:3] == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_a_first_page_of_an_uncapped_read_stops_at_the_page(world):
    """Opened without a page cap, the read still ends at the batch that fills the page and is
    audited with the rows shown, as cut short."""
    read = run_sql(world.db, world.settings, world.ga_analyst, "SELECT gender, name FROM population")
    page = first_page(read, 7)
    assert page.columns == ["gender", "name"] and page.shown == 7 and page.truncated
    assert all(len(row) == 2 for row in page.rows)
    last = _reads(world)[-1]
    assert (last["rows"], last["ended"]) == (7, "truncated")


def test_a_first_page_keeps_columns_of_the_same_name_apart(world):
    read = run_sql(
        world.db, world.settings, world.ga_analyst, "SELECT 1 AS a, 2 AS a FROM population", max_rows=3
    )
    page = first_page(read, 3)
    assert page.columns == ["a", "a"] and page.rows == [[1, 2]] * 3
    last = _reads(world)[-1]
    assert (last["rows"], last["ended"]) == (3, "truncated")


def test_xlsx_keeps_values_as_data_never_formulas():
    import openpyxl

    table = pa.table(
        {
            "text": ['=HYPERLINK("http://x","click")', "+1+1", "@SUM(A1)", "普通文本"],
            "id": [110101199003074258, 1, 2, 3],  # 18 digits: Excel would round a number
            "amount": [Decimal("12.50"), None, Decimal("0.1"), Decimal("3")],
            "day": [date(2026, 12, 5), None, date(2000, 1, 1), date(1990, 3, 7)],
        }
    )
    body = b"".join(formats.encode_xlsx(table.schema, iter(table.to_batches())))
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["text", "id", "amount", "day"]
    assert [r[0] for r in rows[1:]] == ['=HYPERLINK("http://x","click")', "+1+1", "@SUM(A1)", "普通文本"]
    assert all(
        c.data_type == "s" for c in next(sheet.iter_cols(min_row=2, max_col=1))
    )  # strings, not formulas
    assert rows[1][1] == "110101199003074258" and rows[2][1] == 1
    assert rows[1][2] == 12.5 and rows[2][2] is None and rows[4][3].date() == date(1990, 3, 7)


def test_nan_and_infinities_are_null_in_json_at_any_depth_and_text_in_xlsx():
    import openpyxl

    nan, inf = float("nan"), float("inf")
    table = pa.table({"x": [1.5, nan, inf, -inf], "l": [[1.0], [nan], [inf, 2.0], []]})
    body = b"".join(formats.encode_json(table.schema, iter(table.to_batches())))
    strict = json.loads(body, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert strict["rows"] == [
        {"x": 1.5, "l": [1.0]},
        {"x": None, "l": [None]},
        {"x": None, "l": [None, 2.0]},
        {"x": None, "l": []},
    ]
    body = b"".join(formats.encode_xlsx(table.schema, iter(table.to_batches())))
    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    cells = [c for c in next(sheet.iter_cols(min_row=2, max_col=1))]
    assert [c.value for c in cells] == [1.5, "nan", "inf", "-inf"]
    assert [c.data_type for c in cells] == ["n", "s", "s", "s"]  # no formula (Excel's errors are =1/0)


def test_json_answers_every_arrow_type_a_query_can_give():
    """A TIME, an interval or a duration column failed a JSON answer midway (TypeError) before."""
    from datetime import datetime, time, timedelta

    table = pa.table(
        {
            "t": pa.array([time(12, 34, 56)], pa.time64("us")),
            "i": pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval()),
            "d": pa.array([timedelta(seconds=5)], pa.duration("us")),
            "ts": pa.array([datetime(2026, 1, 2, 3, 4, 5)], pa.timestamp("us")),
            "n": pa.array([Decimal("1234.25")], pa.decimal128(20, 2)),
            "b": pa.array([b"\x00\xff"], pa.binary()),
            "s": pa.array([{"when": time(1, 2), "blob": b"\x01"}]),
        }
    )
    body = b"".join(formats.encode_json(table.schema, iter(table.to_batches())))
    assert json.loads(body)["rows"] == [
        {
            "t": "12:34:56",
            "i": {"months": 1, "days": 2, "nanoseconds": 3},
            "d": "0:00:05",
            "ts": "2026-01-02T03:04:05",
            "n": 1234.25,
            "b": "00ff",
            "s": {"when": "01:02:00", "blob": "01"},
        }
    ]


def test_xlsx_stops_at_the_byte_cap_and_says_how_many_rows_went_out():
    import openpyxl

    table = pa.table({"s": ["x" * 100] * 1000})
    told = []
    body = b"".join(
        formats.encode_xlsx(
            table.schema, iter(table.to_batches(max_chunksize=100)), max_bytes=5_000, cut=told.append
        )
    )
    rows = list(openpyxl.load_workbook(io.BytesIO(body)).worksheets[0].iter_rows(values_only=True))
    assert told == [len(rows) - 1] and 40 <= told[0] <= 60
