"""Bad input: each case is refused with a message naming the file (and line/column where known); nothing is written."""

from __future__ import annotations

import pytest

from shuzhi.errors import InvalidInput, ShuzhiError, SourceUnavailable, TooLarge

from .conftest import load, version_count, visible_files

# name, file name, content, expected error, expected line, expected column, words the message must contain
CASES = [
    ("ragged_short", "ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n", InvalidInput, 3, 3, "2 个字段"),
    ("ragged_long", "ragged.csv", "a,b,c\n1,2,3\n4,5,6,7\n", InvalidInput, 3, 4, "4 fields"),
    ("ragged_late", "late.csv", "a,b\n" + "1,2\n" * 30_000 + "3\n", InvalidInput, 30_002, 2, "1 fields"),
    ("bad_quote", "quote.csv", 'a,b,c\n1,2,3\n4,"x,5\n6,7,8\n', InvalidInput, 3, None, "引号"),
    ("undecodable", "bin.csv", b"a,b\n" + bytes(range(128, 256)) * 4, InvalidInput, None, None, "编码"),
    ("damaged_utf8", "d.csv", "名称,值\n张三,1\n".encode() + b"\xff\xfe,2\n", InvalidInput, 3, None, "utf-8"),
    ("zero_bytes", "empty.csv", b"", InvalidInput, None, None, "文件为空"),
    ("blank_lines_only", "blank.csv", "\n\n  \n", InvalidInput, None, None, "empty"),
    ("header_only", "header.csv", "a,b,c\n", InvalidInput, None, None, "只有表头"),
    ("duplicate_header", "dup.csv", "id,名称,ID\n1,x,2\n", InvalidInput, 1, 3, "重复"),
    ("blank_header", "blank-h.csv", "id,,名称\n1,2,3\n", InvalidInput, 1, 2, "column 2"),
    ("unknown_format", "data.bin", "just some words\n", InvalidInput, None, None, "unknown file format"),
    ("empty_json", "e.json", "[]", InvalidInput, None, None, "no data rows"),
    ("bad_jsonl", "b.jsonl", '{"a": 1}\n{"a": \n', InvalidInput, None, None, "JSON"),
    ("corrupt_xlsx", "c.xlsx", b"PK\x03\x04 not really a workbook", InvalidInput, None, None, "Excel"),
]


def _check(err: ShuzhiError, fname, kind, line, column, words):
    assert isinstance(err, kind)
    text = str(err)
    assert fname in (err.where or ""), text
    assert words in text, text
    assert err.hint, "every refusal says what to do"
    if line is not None:
        assert err.detail.get("line") == line, text
    if column is not None:
        assert err.detail.get("column") == column, text


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_service_refuses_and_writes_nothing(db, settings, dataset, write, case):
    _, fname, content, kind, line, column, words = case
    with pytest.raises(ShuzhiError) as info:
        load(db, settings, dataset, write(fname, content))
    _check(info.value, fname, kind, line, column, words)
    assert version_count(db) == 0
    assert visible_files(settings) == []


def test_over_the_size_limit(db, settings, dataset, write):
    settings.ingest.max_upload_bytes = 100
    with pytest.raises(TooLarge) as info:
        load(db, settings, dataset, write("big.csv", "a,b\n" + "1,2\n" * 100))
    assert "big.csv" in info.value.where and "100" in info.value.message
    assert version_count(db) == 0 and visible_files(settings) == []


def test_sql_source_that_does_not_answer(db, settings, dataset):
    settings.ingest.sql_connect_timeout_s = 2
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    with pytest.raises(SourceUnavailable) as info:
        load(db, settings, dataset, "postgresql+psycopg://reader:secret@127.0.0.1:1/front", table="t")
    assert "127.0.0.1:1" in info.value.where and "secret" not in str(info.value)
    with pytest.raises(SourceUnavailable):
        load(db, settings, dataset, f"sqlite:///{settings.data_dir}/missing.db", table="t")
    with pytest.raises(InvalidInput, match="--table"):
        load(db, settings, dataset, f"sqlite:///{settings.data_dir}/missing.db")
    assert version_count(db) == 0 and visible_files(settings) == []


def test_sql_table_that_does_not_exist(db, settings, dataset, tmp_path):
    import sqlite3

    sqlite3.connect(tmp_path / "f.db").execute("CREATE TABLE t (a int)").connection.commit()
    with pytest.raises(InvalidInput, match="no such table"):
        load(db, settings, dataset, f"sqlite:///{tmp_path / 'f.db'}", table="nope")
    with pytest.raises(InvalidInput, match="only a SELECT"):
        load(db, settings, dataset, f"sqlite:///{tmp_path / 'f.db'}", query="SELEC nonsense")
    with pytest.raises(InvalidInput, match="query failed"):
        load(db, settings, dataset, f"sqlite:///{tmp_path / 'f.db'}", query="SELECT nope FROM t")


# -- the same refusals through the CLI -----------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cli_refuses_with_a_clear_message(db, settings, dataset, write, cli, case):
    _, fname, content, _, line, _, words = case
    result = cli(str(write(fname, content)), "--dataset", dataset)
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert fname in out and "建议 (hint)" in out
    if line is not None:
        assert f"{fname}:{line}" in out
    assert version_count(db) == 0 and visible_files(settings) == []


def test_cli_size_limit_and_dead_source(db, settings, dataset, write, cli):
    r = cli(
        str(write("big.csv", "a,b\n" + "1,2\n" * 100)),
        "--dataset",
        dataset,
        SHUZHI_INGEST__MAX_UPLOAD_BYTES="100",
    )
    assert r.exit_code == 2 and "size limit" in r.output
    r = cli(
        "postgresql+psycopg://reader@127.0.0.1:1/front",
        "--table",
        "t",
        "--dataset",
        dataset,
        SHUZHI_INGEST__SQL_CONNECT_TIMEOUT_S="2",
        SHUZHI_INGEST__ALLOWED_SOURCE_HOSTS='["127.0.0.1"]',
    )
    assert r.exit_code == 2 and "does not answer" in r.output
    assert version_count(db) == 0 and visible_files(settings) == []


# -- and through the API ---------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_api_refuses_with_a_clear_message(db, settings, dataset, client, token_for, case):
    _, fname, content, kind, line, column, words = case
    body = content if isinstance(content, bytes) else content.encode()
    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        headers=token_for("scjg.steward"),
        files={"file": (fname, body)},
    )
    assert r.status_code == kind.status, r.text
    err = r.json()
    assert fname in err["where"] and err["hint"] and words in err["message"] + err["where"]
    if line is not None:
        assert err["line"] == line
    if column is not None:
        assert err["column"] == column
    assert version_count(db) == 0 and visible_files(settings) == []


def test_api_size_limit_is_enforced_while_streaming(db, settings, dataset, client, token_for):
    settings.ingest.max_upload_bytes = 1000

    def body():
        # No Content-Length: the server can only stop by counting what arrives.
        yield b'--B\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\na,b\n'
        for _ in range(100):
            yield b"1,2\n" * 100
        yield b"\r\n--B--\r\n"

    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        content=body(),
        headers={**token_for("scjg.steward"), "content-type": "multipart/form-data; boundary=B"},
    )
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    assert version_count(db) == 0 and visible_files(settings) == []


def test_api_dead_sql_source(db, settings, dataset, client, token_for):
    settings.ingest.sql_connect_timeout_s = 2
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        headers=token_for("scjg.steward"),
        json={"source": "postgresql+psycopg://reader:pw@127.0.0.1:1/front", "table": "t"},
    )
    assert r.status_code == 502 and r.json()["error"] == "source_unavailable"
    assert "pw" not in r.text
    assert version_count(db) == 0 and visible_files(settings) == []
