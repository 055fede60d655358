"""normalise_people / normalise_enterprises: the contract's derived columns on Arrow tables."""

import datetime as dt

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.classify.checksums import gb11643_check_char
from shuzhi.errors import InvalidInput
from shuzhi.registry.normalise import (
    ENTERPRISES,
    PEOPLE,
    normalise_address,
    normalise_enterprises,
    normalise_firm_name,
    normalise_name,
    normalise_people,
    normalise_phone,
    normalise_ric,
    normalise_sex,
    normalise_uscc,
    parse_date,
    split_firm_name,
)

RIC = "33010619900101123" + gb11643_check_char("33010619900101123")
PEOPLE_COLUMNS = [name for d in PEOPLE for name, _ in d.columns]
FIRM_COLUMNS = [name for d in ENTERPRISES for name, _ in d.columns]


def _people():
    names = ["張　偉", "张伟", None, "李峯", "张伟"]
    rics = [RIC, RIC[:6] + RIC[8:17], "123", None, RIC]
    return pa.table(
        {
            "record_key": [f"psb#{i}" for i in range(5)],
            "name": names,
            "ric": rics,
            "birth_date": ["1990/1/1", "19900101", "1990-02-30", None, "1990年1月1日"],
            "sex": ["男", "1", "F", None, "女"],
            "phone": ["+86 138 0013 8000", None, "12", "0571-88886666", "13800138000"],
            "address": [
                "杭州市西湖区文三路8号",
                "浙江杭州西湖文三路8号",
                None,
                "北京市朝阳区建国路88号",
                "x",
            ],
        }
    )


def test_people_get_every_contract_column():
    out = normalise_people(_people())
    assert out.column_names[:7] == _people().column_names
    assert set(PEOPLE_COLUMNS) <= set(out.column_names)
    assert set(PEOPLE_COLUMNS) >= {
        "name_norm",
        "name_pinyin",
        "ric18",
        "ric_valid",
        "birth_date_norm",
        "sex_norm",
        "phone_norm",
        "addr_province",
        "addr_city",
        "addr_district",
        "addr_street",
        "addr_number",
        "addr_region_code",
    }
    rows = out.to_pylist()
    assert [r["name_norm"] for r in rows] == ["张伟", "张伟", None, "李峰", "张伟"]
    assert [r["ric18"] for r in rows] == [RIC, RIC, None, None, RIC]
    assert [r["ric_valid"] for r in rows] == [True, True, False, False, True]
    assert [r["birth_date_norm"] for r in rows] == ["1990-01-01", "1990-01-01", None, None, "1990-01-01"]
    assert [r["sex_norm"] for r in rows] == ["M", "M", "F", None, "F"]
    assert [r["phone_norm"] for r in rows] == ["13800138000", None, None, "057188886666", "13800138000"]
    assert [r["addr_region_code"] for r in rows] == ["330106", "330106", None, "110105", None]


def test_table_values_equal_the_per_value_functions():
    table = _people()
    out = normalise_people(table).to_pylist()
    for row, ric, address in zip(out, table["ric"].to_pylist(), table["address"].to_pylist(), strict=True):
        r = normalise_ric(ric)
        assert (row["ric18"], row["ric_birth_date"], row["ric_sex"]) == (r.ric18, r.birth_date, r.sex)
        a = normalise_address(address)
        assert (row["addr_street"], row["addr_number"]) == (a.street, a.number)


def test_birth_date_and_sex_are_not_taken_from_the_id():
    table = pa.table({"record_key": ["a"], "ric": [RIC]})
    row = normalise_people(table).to_pylist()[0]
    assert row["birth_date_norm"] is None and row["sex_norm"] is None
    assert (row["ric_birth_date"], row["ric_sex"]) == ("1990-01-01", "M")


def test_missing_raw_columns_give_null_derived_columns():
    out = normalise_people(pa.table({"record_key": ["a", "b"]}))
    for name in PEOPLE_COLUMNS:
        assert out[name].null_count == 2, name


def test_typed_columns_are_read_too():
    table = pa.table(
        {
            "record_key": ["a", "b"],
            "birth_date": pa.array([dt.date(1990, 1, 1), None], pa.date32()),
            "sex": pa.array([1, 2], pa.int64()),
            "phone": pa.array([13800138000, None], pa.int64()),
        }
    )
    rows = normalise_people(table).to_pylist()
    assert [r["birth_date_norm"] for r in rows] == ["1990-01-01", None]
    assert [r["sex_norm"] for r in rows] == ["M", "F"]
    assert [r["phone_norm"] for r in rows] == ["13800138000", None]


def test_normalising_twice_replaces_rather_than_adds():
    once = normalise_people(_people())
    twice = normalise_people(once)
    assert twice.column_names == once.column_names
    assert twice.equals(once)


def test_empty_table():
    out = normalise_people(_people().slice(0, 0))
    assert out.num_rows == 0 and set(PEOPLE_COLUMNS) <= set(out.column_names)


@pytest.mark.parametrize("normalise", [normalise_people, normalise_enterprises])
def test_records_without_record_key_are_refused(normalise):
    with pytest.raises(InvalidInput) as err:
        normalise(pa.table({"name": ["张伟"]}))
    assert "record_key" in str(err.value) and err.value.where == "record_key"


def test_enterprises_get_every_contract_column():
    names = ["杭州恒达科技有限公司", "恒达科技(杭州)有限责任公司", "招商银行股份有限公司杭州分行", None]
    table = pa.table(
        {
            "record_key": [f"samr#{i}" for i in range(4)],
            "name": names,
            "uscc": ["91330106MA2XXXXX0", "91110000600037341L", None, "91110000600037341l"],
            "legal_rep": ["張偉", "张伟", None, "李峯"],
            "registered_capital": pa.array([100.0, None, 1e6, 5.0]),
            "address": ["杭州市西湖区文三路8号", None, None, "西湖区文一路1号"],
            "established": ["2015/3/1", "20150301", None, "2015-02-29"],
        }
    )
    out = normalise_enterprises(table)
    assert set(FIRM_COLUMNS) <= set(out.column_names)
    rows = out.to_pylist()
    assert [r["firm_core"] for r in rows] == [split_firm_name(n).core for n in names]
    assert [r["firm_branch"] for r in rows] == [False, False, True, None]
    assert [r["uscc_valid"] for r in rows] == [False, True, False, True]
    assert [r["uscc_norm"] for r in rows] == [None, "91110000600037341L", None, "91110000600037341L"]
    assert [r["legal_rep_norm"] for r in rows] == ["张伟", "张伟", None, "李峰"]
    assert [r["legal_rep_pinyin"] for r in rows] == ["zhang wei", "zhang wei", None, "li feng"]
    assert [r["established_norm"] for r in rows] == ["2015-03-01", "2015-03-01", None, None]
    assert out["phone_norm"].null_count == 4  # no phone mapped
    assert [r["addr_region_code"] for r in rows] == ["330106", None, None, None]


def test_all_null_and_chunked_columns():
    table = pa.table({"record_key": ["a", "b"], "name": pa.nulls(2), "ric": pa.nulls(2)})
    out = normalise_people(pa.Table.from_batches(table.to_batches() * 2))
    assert out.num_rows == 4 and out["name_norm"].null_count == 4
    assert out["ric_valid"].to_pylist() == [False] * 4


raw_values = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
)


@given(raw_values)
@settings(max_examples=500, deadline=None)
def test_no_value_makes_a_field_function_raise(value):
    # Every field function answers None / False for what it cannot read; none raises.
    for fn in (
        normalise_name,
        normalise_ric,
        normalise_uscc,
        parse_date,
        normalise_sex,
        normalise_phone,
        normalise_firm_name,
        split_firm_name,
        normalise_address,
    ):
        fn(value)
    assert normalise_ric(value).valid in (True, False)
