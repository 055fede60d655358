"""Readers: every format and encoding arrives as the same typed columns, streamed as Arrow batches."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from shuzhi.config import Settings
from shuzhi.ingest import stage_source
from shuzhi.ingest.formats import classify_source
from shuzhi.ingest.readers import CsvReader, SqlReader, XlsxReader
from shuzhi.ingest.text import detect_encoding, read_layout

ROWS = [("张三", 35, "2024-01-02"), ("李四", None, "2024-02-03"), ("王五", 41, "2024-03-04")]
CSV_TEXT = "姓名,年龄,登记日期\n" + "".join(f"{n},{'' if a is None else a},{d}\n" for n, a, d in ROWS)


@pytest.fixture
def cfg(tmp_path) -> Settings:
    s = Settings(data_dir=tmp_path / "data")
    s.ensure_dirs()
    return s


def staged_rows(cfg, source, **kw):
    staged = stage_source(cfg, source, **kw)
    try:
        table = pq.read_table(staged.parquet)
        return staged, table
    finally:
        staged.close()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings_read_alike(cfg, write, encoding):
    staged, table = staged_rows(cfg, write(f"people-{encoding}.csv", CSV_TEXT, encoding))
    assert table.column_names == ["姓名", "年龄", "登记日期"]
    assert table.column("姓名").to_pylist() == ["张三", "李四", "王五"]
    assert table.column("年龄").to_pylist() == [35, None, 41]
    assert pa.types.is_date32(table.schema.field("登记日期").type)
    assert staged.encoding == ("gb18030" if encoding.startswith("gb") else "utf-8")


def test_gbk_is_detected_on_a_realistic_sample():
    text = (
        "企业名称,统一社会信用代码,注册地址\n"
        + "深圳市某某科技有限公司,91440300MA5XXXXX0X,南山区科技园\n" * 50
    )
    assert detect_encoding(text.encode("gbk"), "x.csv") == "gb18030"
    assert detect_encoding(text.encode("utf-8"), "x.csv") == "utf-8"


def test_gbk_transcoding_streams_across_chunk_boundaries(cfg, write):
    # Two-byte characters straddle the 1 MiB read boundary many times over.
    body = "".join(f"{i},记录{i}号，含中文标点\n" for i in range(120_000))
    staged, table = staged_rows(cfg, write("big-gbk.csv", "编号,说明\n" + body, "gbk"))
    assert staged.rows == 120_000
    assert table.column("说明")[119_999].as_py() == "记录119999号，含中文标点"


def test_tab_and_semicolon_delimiters(cfg, write):
    for name, sep in [("t.tsv", "\t"), ("s.csv", ";")]:
        _, table = staged_rows(cfg, write(name, f"a{sep}b\n1{sep}x\n2{sep}y\n"))
        assert table.column("b").to_pylist() == ["x", "y"]


def test_late_type_change_is_read_as_text_not_rejected(cfg, write):
    # DuckDB guesses types from a sample; a letter far below must widen the column, not fail the load.
    staged, table = staged_rows(cfg, write("late.csv", "code,n\n" + "1,2\n" * 40_000 + "A1,3\n"))
    assert staged.rows == 40_001
    assert table.schema.field("code").type == pa.string()
    assert table.column("code")[-1].as_py() == "A1"


def test_leading_zeros_survive(cfg, write):
    _, table = staged_rows(cfg, write("codes.csv", "region,n\n440300,1\n010101,2\n"))
    assert table.column("region").to_pylist() == ["440300", "010101"]


def test_xlsx(cfg, tmp_path):
    import xlsxwriter

    path = tmp_path / "参保人员.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("人员")
    ws.write_row(0, 0, ["姓名", "年龄", "工资", "在职"])
    ws.write_row(1, 0, ["张三", 30, 5000.5, True])
    ws.write_row(2, 0, ["李四", 41, 6000, False])
    other = wb.add_worksheet("说明")
    other.write_row(0, 0, ["k", "v"])
    other.write_row(1, 0, ["a", "b"])
    wb.close()
    staged, table = staged_rows(cfg, path)
    assert staged.source_format == "xlsx"
    assert table.to_pylist() == [
        {"姓名": "张三", "年龄": 30, "工资": 5000.5, "在职": True},
        {"姓名": "李四", "年龄": 41, "工资": 6000.0, "在职": False},
    ]
    _, sheet = staged_rows(cfg, path, table="说明")
    assert sheet.to_pylist() == [{"k": "a", "v": "b"}]
    batches = XlsxReader(path, path.name, batch_rows=1).batches()
    assert [b.num_rows for b in batches] == [1, 1]


def test_json_array_and_lines(cfg, write):
    _, arr = staged_rows(cfg, write("a.json", '[{"id": 1, "名称": "甲"}, {"id": 2, "名称": "乙"}]'))
    _, lines = staged_rows(cfg, write("a.jsonl", '{"id": 1, "名称": "甲"}\n{"id": 2, "名称": "乙"}\n'))
    assert arr.to_pylist() == lines.to_pylist() == [{"id": 1, "名称": "甲"}, {"id": 2, "名称": "乙"}]


def test_parquet(cfg, tmp_path):
    path = tmp_path / "in.parquet"
    pq.write_table(pa.table({"x": [1, 2, 3], "y": ["a", None, "c"]}), path)
    staged, table = staged_rows(cfg, path)
    assert staged.source_format == "parquet"
    assert table.column("y").to_pylist() == ["a", None, "c"]


def test_format_from_bytes_when_the_name_says_nothing(cfg, tmp_path):
    path = tmp_path / "export.dat"
    pq.write_table(pa.table({"x": [1]}), path)
    staged, _ = staged_rows(cfg, path)
    assert staged.source_format == "parquet"


def _front_db(path: Path) -> str:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE enterprises (id INTEGER, name TEXT, capital REAL, note TEXT)")
    con.executemany(
        "INSERT INTO enterprises VALUES (?, ?, ?, ?)",
        [(i, f"企业{i}", i * 1.5, None if i < 3 else "x") for i in range(10)],
    )
    con.commit()
    con.close()
    return f"sqlite:///{path}"


def test_sql_table_and_query(cfg, tmp_path):
    url = _front_db(tmp_path / "front.db")
    staged, table = staged_rows(cfg, url, table="enterprises")
    assert staged.source_format == "sql" and staged.rows == 10
    assert table.column("name")[9].as_py() == "企业9"
    # A column all NULL in the first batch becomes text, and later batches still fit.
    batches = SqlReader(
        classify_source(url, local=True), table="enterprises", query=None, timeout_s=5, batch_rows=2
    ).batches()
    assert batches.schema.field("note").type == pa.string()
    assert sum(b.num_rows for b in batches) == 10
    _, q = staged_rows(cfg, url, query="SELECT name, capital FROM enterprises WHERE id >= 8 ORDER BY id")
    assert q.to_pylist() == [{"name": "企业8", "capital": 12.0}, {"name": "企业9", "capital": 13.5}]


@pytest.mark.pg
def test_sql_source_postgresql(cfg):
    import os

    from sqlalchemy import create_engine, text

    url = os.environ.get("SHUZHI_TEST_PG_URL")
    if not url:
        pytest.skip("SHUZHI_TEST_PG_URL is not set")
    cfg.ingest.allowed_source_hosts = ["127.0.0.1"]  # the test server is local
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("DROP TABLE IF EXISTS ingest_front_t"))
        c.execute(text("CREATE TABLE ingest_front_t (id int, name text, amount numeric(10,2))"))
        c.execute(
            text("INSERT INTO ingest_front_t SELECT g, '企业' || g, g * 1.25 FROM generate_series(1, 1000) g")
        )
    try:
        staged, table = staged_rows(cfg, url, table="ingest_front_t")
        assert staged.rows == 1000 and table.column("name")[0].as_py() == "企业1"
        assert "postgres" in staged.source and "@" in staged.source
    finally:
        with eng.begin() as c:
            c.execute(text("DROP TABLE ingest_front_t"))
        eng.dispose()


def test_csv_reader_batches_are_bounded(cfg, write):
    path = write("n.csv", "a,b\n" + "".join(f"{i},x{i}\n" for i in range(50_000)))
    layout = read_layout(path.read_bytes()[:4096], path.name)
    sizes = [b.num_rows for b in CsvReader(path, path.name, layout).batches(batch_rows=8192)]
    assert sum(sizes) == 50_000 and max(sizes) <= 8192


CELL = st.text(alphabet=st.sampled_from(list('ab,"\n\r;\t 中文，“”、') + ["\u00e9", "😀"]), max_size=12)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(CELL, CELL), min_size=1, max_size=20))
def test_any_properly_quoted_csv_round_trips(cfg, tmp_path, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")  # so that a lone CR or LF in a value is quoted
    w.writerow(["k", "v"])
    # The "x" prefix keeps cells textual, so what comes back must be exactly what went in.
    w.writerows([("x" + a, "x" + b) for a, b in rows])
    path = tmp_path / "rt.csv"
    path.write_bytes(buf.getvalue().encode("utf-8"))
    _, table = staged_rows(cfg, path)
    assert [(r["k"], r["v"]) for r in table.to_pylist()] == [("x" + a, "x" + b) for a, b in rows]


def test_profile(cfg, write):
    staged, _ = staged_rows(cfg, write("p.csv", "city,n\n" + "深圳,1\n" * 6 + "广州,2\n" * 3 + ",3\n"))
    cols = {c["name"]: c for c in staged.profile["columns"]}
    assert cols["city"]["nulls"] == 1 and cols["city"]["null_share"] == 0.1
    assert cols["city"]["distinct_estimate"] == 2
    assert cols["n"]["min"] == "1" and cols["n"]["max"] == "3"
    assert [t["value"] for t in cols["city"]["top"]] == ["深圳", "广州"]
    assert cols["city"]["top"][0]["count"] == 6
    assert staged.profile["rows"] == 10


def test_same_content_same_hash_whatever_the_encoding(cfg, write):
    a = stage_source(cfg, write("u.csv", CSV_TEXT))
    b = stage_source(cfg, write("g.csv", CSV_TEXT, "gbk"))
    try:
        assert a.sha256 == b.sha256
        con = duckdb.connect()
        assert con.execute(f"SELECT count(*) FROM '{a.parquet}'").fetchall() == [(3,)]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("path", ["streamed", "copied by DuckDB"])
def test_a_version_keeps_no_minimum_or_maximum_of_floating_point_columns(cfg, write, monkeypatch, path):
    """Parquet's statistics leave NaN out, and DuckDB answered comparisons from them (`engine.parquet`)."""
    from shuzhi.engine.parquet import float_statistics
    from shuzhi.ingest import writer

    if path == "copied by DuckDB":
        monkeypatch.setattr(writer, "_stream_with_checksums", lambda *a: (_ for _ in ()).throw(OSError("no")))
    staged = stage_source(cfg, write("f.csv", "n,x,name\n1,1.5,a\n2,NaN,b\n3,2.5,c\n"))
    try:
        meta = pq.read_metadata(staged.parquet)
        stats = {meta.schema.column(i).name: meta.row_group(0).column(i).is_stats_set for i in range(3)}
        assert stats == {"n": True, "x": False, "name": True}
        assert not float_statistics(staged.parquet)
        con = duckdb.connect()
        assert con.execute(f"SELECT count(*) FROM '{staged.parquet}' WHERE x < 1000").fetchall() == [(2,)]
        cols = {c["name"]: c for c in staged.profile["columns"]}
        assert (cols["x"]["min"], cols["n"]["max"]) == ("1.5", "3")
    finally:
        staged.close()
