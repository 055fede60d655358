"""Person attributes normalised for linkage: names, resident IDs, dates, sex, phones."""

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC

from shuzhi.classify.checksums import gb11643_check_char
from shuzhi.registry.normalise import (
    name_pinyin,
    normalise_name,
    normalise_phone,
    normalise_ric,
    normalise_sex,
    parse_date,
)

S2T = OpenCC("s2t")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉玲峰建国文志海波宁涛龙飞云凤凯欢晓颖东亮婷雪琳丹浩宇鑫晨诚嘉俊贤骏蕾"


def _ric(body17: str) -> str:
    return body17 + gb11643_check_char(body17)


@pytest.mark.parametrize(
    ("written", "norm"),
    [
        ("张　三", "张三"),  # padded to three cells with a full-width space
        (" 王 伟 ", "王伟"),
        ("張偉", "张伟"),
        ("陳麗華", "陈丽华"),
        ("阿依古丽·买买提", "阿依古丽买买提"),
        ("阿依古丽・买买提", "阿依古丽买买提"),
        ("李峯", "李峰"),
        ("王冨贵", "王富贵"),
        ("张喆", "张喆"),  # 喆 is a standard name character again since 2013: not folded to 哲
        ("Ｊｏｈｎ Smith", "JOHNSMITH"),
        ("   ", None),
        ("不详", None),
        ("null", None),
        (None, None),
    ],
)
def test_names_fold_to_one_spelling(written, norm):
    assert normalise_name(written) == norm


def test_variant_and_restored_characters_differ_as_documented():
    assert normalise_name("李峯") == normalise_name("李峰")
    assert normalise_name("张喆") != normalise_name("张哲")


@pytest.mark.parametrize(
    ("name", "reading"),
    [
        ("单田芳", "shan tian fang"),
        ("曾国藩", "zeng guo fan"),
        ("解缙", "xie jin"),
        ("仇英", "qiu ying"),
        ("区家明", "ou jia ming"),
        ("朴树", "piao shu"),
        ("查良镛", "zha liang yong"),
        ("乐嘉", "yue jia"),
        ("尉迟恭", "yu chi gong"),
        ("张伟", "zhang wei"),
        ("王单", "wang dan"),  # a surname reading only at the head of the name
    ],
)
def test_pinyin_reads_surnames_as_surnames(name, reading):
    assert name_pinyin(normalise_name(name)) == reading


def test_a_character_without_a_reading_gives_no_syllable():
    assert normalise_name("𠮷田") == "𠮷田"
    assert name_pinyin("𠮷田") == "tian"


def test_homophone_typo_keeps_the_pinyin():
    assert normalise_name("王玮") != normalise_name("王伟")
    assert name_pinyin(normalise_name("王玮")) == name_pinyin(normalise_name("王伟"))


names = st.builds(
    lambda s, g: s + g,
    st.sampled_from(SURNAMES),
    st.text(alphabet=GIVEN, min_size=1, max_size=2),
)


@given(names)
@settings(max_examples=200, deadline=None)
def test_traditional_and_simplified_spellings_normalise_equal(name):
    assert normalise_name(S2T.convert(name)) == normalise_name(name) == name
    assert name_pinyin(normalise_name(S2T.convert(name))) == name_pinyin(name)


@given(st.text(alphabet=st.sampled_from(list(SURNAMES + GIVEN + "峯冨喆 ·・\u3000abcＡＢ12")), max_size=8))
@settings(max_examples=300, deadline=None)
def test_normalising_a_name_twice_changes_nothing(text):
    once = normalise_name(text)
    assert normalise_name(once) == once


@given(st.text(max_size=12))
@settings(max_examples=500, deadline=None)
def test_no_text_makes_a_name_function_raise(text):
    norm = normalise_name(text)
    assert norm is None or (normalise_name(norm) == norm and isinstance(name_pinyin(norm), str | None))


# --- resident IDs -------------------------------------------------------------------------------


def test_valid_18_digit_id_gives_birth_date_and_sex_apart():
    number = _ric("33010619900101123")
    out = normalise_ric(number)
    assert (out.ric18, out.valid, out.birth_date, out.sex) == (number, True, "1990-01-01", "M")
    assert normalise_ric(" " + number[:6] + " " + number[6:] + " ").ric18 == number


def test_lower_case_x_is_read_as_the_check_character():
    body = next(
        f"11010119800101{n:03d}" for n in range(1000) if gb11643_check_char(f"11010119800101{n:03d}") == "X"
    )
    out = normalise_ric(body + "x")
    assert out.valid and out.ric18 == body + "X" and out.sex == ("M" if int(body[16]) % 2 else "F")


def test_15_digit_id_is_upgraded():
    out = normalise_ric("330106900101124")
    assert out.ric18 == _ric("33010619900101124")
    assert (out.valid, out.birth_date, out.sex) == (True, "1990-01-01", "F")


@pytest.mark.parametrize(
    "bad",
    [
        "330106199001011230",  # a wrong check character (the right one is computed below, never 0 here)
        _ric("33010619901301123"),  # month 13
        _ric("99999919900101123"),  # no such region
        "33010619900101",
        "3.30106199001011E+17",  # what a spreadsheet made of it
        "",
        None,
    ],
)
def test_invalid_ids_are_flagged_not_kept(bad):
    if bad == "330106199001011230":
        assert gb11643_check_char("33010619900101123") != "0"
    out = normalise_ric(bad)
    assert (out.ric18, out.valid, out.birth_date, out.sex) == (None, False, None, None)


@given(
    st.sampled_from(["110101", "330106", "330103", "440305", "510104"]),
    st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)),
    st.integers(0, 999),
)
def test_a_15_digit_id_and_its_18_digit_form_give_the_same_ric18(region, born, seq):
    old = f"{region}{born:%y%m%d}{seq:03d}"
    new = _ric(f"{region}{born:%Y%m%d}{seq:03d}")
    assert normalise_ric(old).ric18 == normalise_ric(new).ric18 == new
    assert normalise_ric(old).birth_date == born.isoformat()


# --- dates and sex ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "19900101",
        "1990-01-01",
        "1990/1/1",
        "1990.01.01",
        "1990年1月1日",
        "1990年01月01日",
        "1990-01-01 00:00:00",
        "１９９０－０１－０１",
        19900101,
        32874,  # Excel's serial day number of 1990-01-01
        32874.0,
        "32874",
        dt.date(1990, 1, 1),
        dt.datetime(1990, 1, 1, 8, 30),
    ],
)
def test_registry_date_forms_parse_to_iso(written):
    assert parse_date(written) == "1990-01-01"


@pytest.mark.parametrize(
    "bad",
    ["19900230", "1990-13-01", "1990/2/30", "0000-00-00", "18000101", "abc", "", None, True, "900101", 1990],
)
def test_impossible_dates_are_null(bad):
    assert parse_date(bad) is None


@pytest.mark.parametrize(
    ("written", "sex"),
    [("男", "M"), ("女", "F"), ("M", "M"), ("f", "F"), ("Male", "M"), ("FEMALE", "F"), ("1", "M"), (2, "F")],
)
def test_sex_codes(written, sex):
    assert normalise_sex(written) == sex


@pytest.mark.parametrize("bad", ["0", "9", "未知", "", None, 3])
def test_unknown_sex_is_null(bad):
    assert normalise_sex(bad) is None


# --- phones -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "digits"),
    [
        ("13800138000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        (13800138000, "13800138000"),
        ("0571-88886666", "057188886666"),
        ("(0571)88886666", "057188886666"),
        ("0571-88886666-123", "057188886666"),
        ("0571-88886666转123", "057188886666"),
        ("+86-571-88886666", "057188886666"),
        ("010-6552 9988", "01065529988"),
        ("13800138000；13900139000", "13800138000"),
        ("88886666", "88886666"),
        ("400-820-8820", "4008208820"),
        ("无/13800138000", "13800138000"),  # the first plausible number of several
    ],
)
def test_phones_keep_their_digits(written, digits):
    assert normalise_phone(written) == digits


@pytest.mark.parametrize("bad", ["12345", "138001380001", "11111111111", "无", "", None, "00000000"])
def test_implausible_phones_are_null(bad):
    assert normalise_phone(bad) is None


def test_characters_opencc_would_confuse_in_names():
    assert normalise_name("乾隆") == "乾隆"
    assert normalise_name(S2T.convert("于东")) == "于东"  # s2t writes the surname 于 as 於
