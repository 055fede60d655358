"""Check digits and python-stdnum's edges: where the library is wrong we decide ourselves."""

import pytest
from stdnum.cn import ric, uscc

from shuzhi.classify.checksums import gb11643_check_char, is_org_code, is_resident_id, is_uscc, luhn_ok
from shuzhi.classify.sqlfuncs import connect


def test_stdnum_rejects_letter_authority_credit_code_we_accept_it():
    code = "Y1110000600037341Y"  # farmers' co-operative: registration authority Y
    assert uscc.is_valid(code) is False  # python-stdnum 2.2 wants digits in the first 8 places
    assert is_uscc(code)
    assert not is_uscc("Y1110000600037341X")
    assert connect().execute("SELECT sz_gb32100(?)", [code]).fetchall()[0][0] is True


def test_stdnum_rejects_15_digit_legacy_ids_we_accept_them():
    legacy = "110101900307447"
    assert ric.is_valid(legacy) is False
    assert is_resident_id(legacy)


def test_stdnum_raises_on_unknown_county_we_answer_false():
    body = "11990019900307447"
    number = body + gb11643_check_char(body)
    with pytest.raises(KeyError):
        ric.is_valid(number)
    assert is_resident_id(number) is False


def test_old_region_codes_stay_valid_and_dates_must_be_real():
    崇文区 = "110103"  # abolished 2010: a person born there keeps the number
    assert is_resident_id(崇文区 + "19800101001" + gb11643_check_char(崇文区 + "19800101001"))
    assert not is_resident_id("110101" + "19801301001" + gb11643_check_char("110101" + "19801301001"))


@pytest.mark.parametrize(
    "value", ["110101199003074477", "11010119900307447X", "110101900307447", "4111111111111111"]
)
def test_sql_checks_agree_with_python(value):
    con = connect()
    if len(value) in (15, 18) and value[:6] == "110101":
        sql_ok = con.execute("SELECT sz_gb11643(?)", [value]).fetchall()[0][0]
        assert sql_ok == is_resident_id(value)
    else:
        assert con.execute("SELECT sz_luhn(?)", [value]).fetchall()[0][0] == luhn_ok(value)


def test_org_code():
    assert is_org_code("60003734-1") and not is_org_code("60003734-2")
