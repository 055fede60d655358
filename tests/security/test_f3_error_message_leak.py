"""Finding 3: records left through engine error messages, outside the row quota and into the ledger.

Under a ``rows_per_day=5`` grant, a query made to fail on each record (``CAST(a||'|'||b AS INT)``,
``error(…)``, an overflow) returned the record in the error text — "Could not convert string
'GA…|男|…' to INT32" — audited as ``failed, rows: 0`` with the record stored in the ledger entry.
Now an engine error is one class of a closed set with a fixed message: no value of the data in
the API's answer, the CLI's output or any ledger entry; the class is in all three.
"""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from tests.exchange.conftest import add_dataset
from typer.testing import CliRunner

from shuzhi.engine.failures import ERROR_CLASSES, QueryFailed, classify, failure
from shuzhi.exchange import channels, formats, share_requests
from shuzhi.i18n import M_
from shuzhi.ledger.models import LedgerEntry

DATASET = "hz-psb-population"
ROWS = 40
FIELDS = ["人员编号", "姓名", "性别", "公民身份号码", "登记序号"]


def psb_table(n: int = ROWS) -> pa.Table:
    return pa.table(
        {
            "人员编号": [f"GA3301{i:06d}" for i in range(n)],
            "姓名": [f"测试人员{i:03d}号" for i in range(n)],
            "性别": ["男" if i % 2 else "女" for i in range(n)],
            "公民身份号码": [f"33010219800101{i:04d}" for i in range(n)],
            "登记序号": pa.array([91_000_000 + 7 * i for i in range(n)], pa.int64()),
        }
    )


def secrets_of(table: pa.Table) -> list[str]:
    """Every value that must not leave except as a counted row (性别's 男/女 are too short to scan)."""
    cols = ["人员编号", "姓名", "公民身份号码", "登记序号"]
    return [str(v) for c in cols for v in table.column(c).to_pylist()]


SECRETS = secrets_of(psb_table())


def assert_no_value(text: str) -> None:
    leaked = [v for v in SECRETS if v in text]
    assert not leaked, f"data values in the output: {leaked[:5]}"


def grant(world, *, row_filter: str | None = None, rows_per_day: int | None = 5) -> int:
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.analyst,
            share_requests.RequestIn(dataset=DATASET, fields=FIELDS, purpose="人口信息核查"),
            submit=True,
        )
        g = share_requests.approve_request(
            s,
            world.settings,
            world.steward,
            req,
            share_requests.Approval(
                fields=FIELDS,
                masks={f: "clear" for f in FIELDS},
                row_filter=row_filter,
                rows_per_day=rows_per_day,
            ),
        )
        return g.id


class World:
    pass


@pytest.fixture
def world(db, settings, make_user):
    w = World()
    w.db, w.settings = db, settings
    w.steward = make_user("ga_steward", "GA", ("steward",))
    w.analyst = make_user("rs_analyst", "RS", ("analyst",))
    add_dataset(db, settings, w.steward, DATASET, psb_table(), "conditional", "GA")
    w.grant_id = grant(w)
    return w


@pytest.fixture
def api(world, app, token_for):
    with TestClient(app) as c:
        c.headers.update(token_for("rs_analyst"))
        yield c


def ledger_texts(world) -> list[tuple[str, dict]]:
    """(event, detail) of every ledger entry, with the detail as text for scanning."""
    with world.db.session() as s:
        entries = [json.loads(e.entry) for e in s.scalars(select(LedgerEntry).order_by(LedgerEntry.seq))]
    return [(e["event"], e.get("detail") or {}) for e in entries]


def assert_ledger_clean(world, expected_class: str, rows: int = 0, sent: str | None = None) -> None:
    """No record value in any entry. The `query` field is the consumer's own text (auditors read it),
    which may quote a value the consumer typed: it must be exactly what was sent, nothing added."""
    entries = ledger_texts(world)
    for _event, detail in entries:
        assert_no_value(json.dumps({k: v for k, v in detail.items() if k != "query"}, ensure_ascii=False))
        if "query" in detail:
            if sent is not None:
                assert detail["query"] == sent
            else:
                assert_no_value(detail["query"])
    failed = [d for ev, d in entries if ev == "data.read" and d.get("ended") == "failed"]
    assert failed, "the failed read has its data.read entry"
    assert failed[-1]["error"] == expected_class
    assert failed[-1]["rows"] == rows


RECORD = "人员编号||'|'||姓名||'|'||公民身份号码"

SQL_ATTACKS = [
    pytest.param(
        f'SELECT 人员编号 FROM "{DATASET}" WHERE CAST({RECORD} AS INT) IS NULL '
        "AND 人员编号 NOT IN ('GA3301000000')",
        "conversion_error",
        "人员编号",
        id="cast",
    ),
    pytest.param(
        f'SELECT 人员编号 FROM "{DATASET}" WHERE 登记序号 // (登记序号 - 登记序号) > 0',
        "division_by_zero",
        "登记序号",
        id="division-by-zero",
    ),
    pytest.param(
        f'SELECT 登记序号 * 9223372036854775 AS x FROM "{DATASET}"',
        "out_of_range",
        "登记序号",
        id="out-of-range",
    ),
]


@pytest.mark.parametrize(("sql", "expected", "column"), SQL_ATTACKS)
def test_sql_api_errors_carry_the_class_not_the_record(world, api, sql, expected, column):
    for _ in range(8):  # more calls than the 5-row quota: each one used to give a record
        r = api.post("/api/v1/exchange/sql", json={"sql": sql})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["error"] == "query_failed" and body["error_class"] == expected
        assert body["message"] == M_(ERROR_CLASSES[expected][1])  # the fixed text, in both languages
        assert column in body["where"]  # the construct and its columns, from the consumer's own query
        assert_no_value(r.text)
    assert_ledger_clean(world, expected, sent=sql)


def test_error_function_leaks_nothing_even_when_allowed(world, api):
    sql = f'SELECT 人员编号 FROM "{DATASET}" WHERE error({RECORD}) IS NULL'
    r = api.post("/api/v1/exchange/sql", json={"sql": sql})
    assert_no_value(r.text)
    if r.status_code == 400:  # allowed by the function list: the engine's error is classed
        assert r.json()["error_class"] == "invalid_input"
        assert_ledger_clean(world, "invalid_input")
    else:  # refused by the function list before it runs
        assert r.status_code == 403
    for _event, detail in ledger_texts(world):
        assert_no_value(json.dumps(detail, ensure_ascii=False))


@pytest.mark.parametrize(
    ("row_filter", "expected"),
    [
        ("CAST(人员编号 || 姓名 AS INTEGER) > 0", "conversion_error"),
        ("登记序号 // (登记序号 - 登记序号) > 0", "division_by_zero"),
        ("登记序号 * 登记序号 * 登记序号 > 0", "out_of_range"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_rows_channel_errors_carry_the_class_not_the_record(world, api, row_filter, expected, fmt):
    # A row filter that fails on the data would name records the filter exists to keep out.
    gid = grant(world, row_filter=row_filter)
    r = api.get(f"/api/v1/exchange/datasets/{DATASET}/rows", params={"grant_id": gid, "format": fmt})
    assert_no_value(r.text)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["error_class"] == expected
    assert f"grant {gid}" in body["where"]  # the consumer wrote no such construct: the grant's filter did
    assert_ledger_clean(world, expected)


@pytest.fixture
def cli(world, cli_env, monkeypatch):
    from shuzhi.cli import app

    monkeypatch.setenv("COLUMNS", "400")
    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(app, ["exchange", *args])
        return result.exit_code, result.output

    return run


@pytest.mark.parametrize(("sql", "expected", "column"), SQL_ATTACKS)
def test_cli_errors_carry_the_class_not_the_record(world, cli, sql, expected, column):
    code, out = cli("sql", sql, "--as", "rs_analyst")
    assert code == 2, out
    assert_no_value(out)
    assert f"类别 (class): {expected}" in out and column in out
    assert_ledger_clean(world, expected, sent=sql)


# -- an error after the first rows went out ---------------------------------------------------

BIG = 140_000


@pytest.fixture
def late_failure(world):
    """A dataset whose last records fail a cast: the error comes after rows were streamed. One row
    group, so the engine reaches the bad records last."""
    from shuzhi.catalog.models import DatasetVersion

    ids = [str(10_000_000 + i) for i in range(BIG)]
    ids[-3:] = [SECRETS[0], SECRETS[1], SECRETS[2]]
    table = pa.table({"编号": ids})
    ds_id = add_dataset(world.db, world.settings, world.steward, "hz-late", table, "conditional", "GA")
    with world.db.transaction() as s:
        v = s.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == ds_id))
        pq.write_table(table, world.settings.data_dir / v.path, row_group_size=BIG)
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.analyst,
            share_requests.RequestIn(dataset="hz-late", fields=["编号"], purpose="核查"),
            submit=True,
        )
        g = share_requests.approve_request(
            s,
            world.settings,
            world.steward,
            req,
            share_requests.Approval(
                fields=["编号"], masks={"编号": "clear"}, row_filter="CAST(编号 AS BIGINT) > 0"
            ),
        )
        return g.id


@pytest.mark.slow
def test_a_failure_mid_stream_ends_the_stream_with_the_class(world, api, late_failure):
    world.settings.exchange.page_max_rows = BIG
    world.settings.exchange.query_timeout_s = 600  # the time limit is not what this test is about
    with api.stream(
        "GET",
        "/api/v1/exchange/datasets/hz-late/rows",
        params={"grant_id": late_failure, "limit": BIG, "format": "json"},
    ) as r:
        text = r.read().decode()
    assert_no_value(text)
    if r.status_code == 200:  # failed after the status line: the object ends with the class
        body = json.loads(text)
        assert body["error"]["error_class"] == "conversion_error"
        assert body["rows"] and len(body["rows"]) < BIG
        sent = len(body["rows"])
    else:  # the engine met the bad records before the first batch
        assert r.status_code == 400 and json.loads(text)["error_class"] == "conversion_error"
        sent = 0
    assert_ledger_clean(world, "conversion_error", rows=sent)


def test_json_stream_ends_with_the_error_and_files_do_not_complete(tmp_path):
    schema = pa.schema([("a", pa.string())])

    def batches():
        yield pa.record_batch([pa.array(["x"])], schema=schema)
        raise failure("conversion_error")

    text = b"".join(formats.encode_json(schema, batches(), meta={}, errors_inline=True)).decode()
    body = json.loads(text)
    assert body["rows"] == [{"a": "x"}] and body["error"]["error_class"] == "conversion_error"
    out = tmp_path / "x.json"
    with pytest.raises(QueryFailed):
        channels.write_file(out, "json", schema, batches())
    assert not out.exists()


def test_classes_come_from_the_exception_type_never_its_text():
    import duckdb

    con = duckdb.connect()
    cases = {
        "SELECT CAST('GA3301000001|测试人员001号' AS INT)": "conversion_error",
        "SELECT 91000007::INT * 2147483647": "out_of_range",
        "SELECT 91000007 // 0": "division_by_zero",
        "SELECT error('GA3301000001')": "invalid_input",
        "SELECT lower(91000007)": "invalid_query",
    }
    for sql, expected in cases.items():
        with pytest.raises(duckdb.Error) as e:
            con.sql(sql).fetchall()
        assert classify(e.value) == expected
        error = failure(classify(e.value))
        assert_no_value(json.dumps(error.to_dict(), ensure_ascii=False))
    assert classify(RuntimeError("GA3301000001")) == "internal"
    assert classify(OSError("Conversion Error: Could not convert 'GA3301000001'")) == "conversion_error"
    assert failure("anything a worker says").detail["error_class"] == "internal"
