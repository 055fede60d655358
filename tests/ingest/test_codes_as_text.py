"""Codes stay text through ingest — values quoted in the source, columns named like a phone, ID, code
or postcode, integers written with a leading zero, columns of mobile or ID numbers — and integers of
YYYYMMDD in a column named like a date become dates. Quantities stay numbers."""

from __future__ import annotations

import datetime as dt

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.ingest.conftest import load

from shuzhi.catalog.service import get_dataset


def _read(db, settings, dataset, path) -> tuple[dict[str, str], dict[str, list]]:
    load(db, settings, dataset, path)
    with db.read() as s:
        ds = get_dataset(s, dataset)
        types = {f.name: f.type for f in ds.fields}
        version = ds.versions[-1]
    return types, pq.read_table(settings.data_dir / version.path).to_pydict()


def test_quoted_and_leading_zero_values_keep_their_zeros(db, settings, dataset, write):
    body = 'x,区号,人数,金额\n"0123",0571,3,12.5\n"0456",010,4,7\n'
    types, data = _read(db, settings, dataset, write("a.csv", body))
    assert types == {"x": "VARCHAR", "区号": "VARCHAR", "人数": "BIGINT", "金额": "DOUBLE"}
    assert data["x"] == ["0123", "0456"] and data["区号"] == ["0571", "010"]
    assert data["人数"] == [3, 4]


@pytest.mark.parametrize(
    "name",
    ["联系电话", "手机号码", "公民身份号码", "统一社会信用代码", "邮政编码", "phone", "zip_code", "id_no"],
)
def test_a_column_named_like_a_code_is_text(db, settings, dataset, write, name):
    types, data = _read(db, settings, dataset, write("a.csv", f"{name},n\n13812345678,1\n310000,2\n"))
    assert types[name] == "VARCHAR" and data[name] == ["13812345678", "310000"] and types["n"] == "BIGINT"


def test_columns_of_mobile_or_id_numbers_are_text_whatever_their_name(db, settings, dataset, write):
    body = "c1,c2,c3\n13812345678,110101199003074258,5\n15900001111,440304198512311234,6\n"
    types, data = _read(db, settings, dataset, write("a.csv", body))
    assert (types["c1"], types["c2"], types["c3"]) == ("VARCHAR", "VARCHAR", "BIGINT")
    assert data["c2"][0] == "110101199003074258"


def test_a_file_that_quotes_everything_keeps_numbers_numbers(db, settings, dataset, write):
    body = '"联系电话","金额","人数"\n"057187600703","12.5","3"\n"13812345678","7","4"\n'
    types, data = _read(db, settings, dataset, write("a.csv", body))
    assert types == {"联系电话": "VARCHAR", "金额": "DOUBLE", "人数": "BIGINT"}
    assert data["联系电话"][0] == "057187600703"


def test_yyyymmdd_integers_named_like_a_date_become_dates(db, settings, dataset, write):
    body = "出生日期,birth_date,流水号,日期备注\n19900307,20011231,20240101,20230230\n20050101,19851231,20240102,20230101\n"
    types, data = _read(db, settings, dataset, write("a.csv", body))
    assert types["出生日期"] == "DATE" and types["birth_date"] == "DATE"
    assert data["出生日期"] == [dt.date(1990, 3, 7), dt.date(2005, 1, 1)]
    assert types["流水号"] == "BIGINT"  # not named like a date: a number like any other
    assert types["日期备注"] == "BIGINT"  # 2023-02-30 is no date: left as it was read


def test_a_bad_date_past_the_sample_leaves_the_column_as_text_not_a_failure(db, settings, dataset, write):
    rows = ["19900307"] * 30_000 + ["19901399"]
    types, data = _read(db, settings, dataset, write("a.csv", "出生日期\n" + "\n".join(rows) + "\n"))
    assert types["出生日期"] == "VARCHAR" and data["出生日期"][-1] == "19901399"
    assert len(data["出生日期"]) == 30_001


def test_a_row_key_named_id_stays_a_number(db, settings, dataset, write):
    types, _ = _read(db, settings, dataset, write("a.csv", "id,user_id,amount\n1,7,2.5\n2,8,3\n"))
    assert (types["id"], types["user_id"]) == ("BIGINT", "BIGINT")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet='ab,"\n 0129号', max_size=8), min_size=3, max_size=3),
        min_size=1,
        max_size=12,
    ),
    st.sampled_from(["all", "minimal", "none-needed"]),
)
def test_the_scanner_reads_the_values_python_csv_reads(rows, quoting):
    """Whatever the quoting (fields with delimiters, quotes and line breaks inside), the sample's
    values are the ones Python's csv module reads; a field is marked quoted exactly when it was."""
    import csv
    import io

    from shuzhi.ingest.codes import _rows

    mode = {"all": csv.QUOTE_ALL, "minimal": csv.QUOTE_MINIMAL, "none-needed": csv.QUOTE_MINIMAL}[quoting]
    buf = io.StringIO()
    csv.writer(buf, quoting=mode, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    expected = [[v.strip() for v in r] for r in csv.reader(io.StringIO(text))]
    got = _rows(text, ",", 10_000, complete=True)
    assert [[v for v, _ in r] for r in got] == expected
    if quoting == "all":
        assert all(q for r in got for _, q in r)
