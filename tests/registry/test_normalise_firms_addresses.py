"""Firm names split into core, form, region and branch; addresses parsed against GB/T 2260."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opencc import OpenCC

from shuzhi.registry.addresses import short_name, street_of
from shuzhi.registry.normalise import normalise_address, normalise_firm_name, split_firm_name

S2T = OpenCC("s2t")
TRADE = "恒达永兴华宇新鑫盛泰和瑞丰源通金利广德安康宏博信汇"
INDUSTRY = ("科技", "贸易", "建筑工程", "餐饮管理", "电子商务", "物流", "信息技术", "食品")
FORMS = ("有限公司", "有限责任公司", "股份有限公司", "合伙企业(有限合伙)", "个人独资企业")
REGIONS = ("", "杭州", "杭州市", "浙江", "浙江省", "宁波市", "温州")
BRANCHES = ("分公司", "分店", "营业部", "分厂", "办事处", "分行", "支行")


@pytest.mark.parametrize(
    "written",
    [
        "杭州恒达科技有限公司",
        "杭州市恒达科技有限公司",
        "恒达科技(杭州)有限公司",
        "恒达科技（杭州）有限公司",
        "恒达科技有限责任公司",
        "杭州恒達科技有限責任公司",
        "浙江省杭州市恒达科技有限公司",
        " 杭州 恒达科技 有限公司 ",
    ],
)
def test_one_firm_written_many_ways_shares_its_core(written):
    firm = split_firm_name(written)
    assert firm.core == "恒达科技"
    assert firm.form == "有限责任公司"
    assert firm.pinyin == "heng da ke ji"
    assert firm.branch is False


def test_region_prefix_and_bracket_region_are_reported():
    assert split_firm_name("杭州恒达科技有限公司").region == "杭州"
    assert split_firm_name("恒达科技(杭州)有限公司").region == "杭州"
    assert split_firm_name("浙江省杭州市恒达科技有限公司").region == "浙江杭州"
    assert split_firm_name("恒达科技有限公司").region is None


@pytest.mark.parametrize(
    ("written", "core", "form", "region"),
    [
        ("浙江省杭州市西湖区恒达五金店", "恒达五金", "店", "浙江杭州西湖"),
        ("萧山区恒达便利店", "恒达便利", "店", "萧山"),
        ("杭州市萧山区恒达茶叶专业合作社", "恒达茶叶", "农民专业合作社", "杭州萧山"),
        ("万向(集团)有限公司", "万向集团", "有限责任公司", None),
        ("万向集团有限公司", "万向集团", "有限责任公司", None),
        ("恒达会计师事务所(特殊普通合伙)", "恒达会计师事务所", "特殊普通合伙企业", None),
        ("杭州恒达投资合伙企业(有限合伙)", "恒达投资", "有限合伙企业", "杭州"),
        ("恒达科技股份公司", "恒达科技", "股份有限公司", None),
        ("ABC Technology 有限公司", "ABC TECHNOLOGY", "有限责任公司", None),
        ("中山路恒达商行", "中山路恒达", "商行", None),  # 中山路 is a road, not 中山市
        ("杭州市", "杭州市", None, None),  # a place alone is no firm's region
        ("嘉兴建筑装饰有限公司", "嘉兴建筑装饰", "有限责任公司", None),  # 嘉兴 as a trade name
        ("杭州嘉兴建筑装饰有限公司", "嘉兴建筑装饰", "有限责任公司", "杭州"),
        ("金华信息技术(杭州)有限公司", "金华信息技术", "有限责任公司", "杭州"),
        ("阿里巴巴(中国)有限公司", "阿里巴巴", "有限责任公司", "中国"),  # not 阿里 (阿里地区)
        ("嘉兴恒达建筑装饰有限公司", "恒达建筑装饰", "有限责任公司", "嘉兴"),
    ],
)
def test_forms_and_regions(written, core, form, region):
    firm = split_firm_name(written)
    assert (firm.core, firm.form, firm.region) == (core, form, region)


@pytest.mark.parametrize(
    ("branch", "parent"),
    [
        ("招商银行股份有限公司杭州分行", "招商银行股份有限公司"),
        ("中国工商银行杭州西湖支行", "中国工商银行"),
        ("杭州恒达科技有限公司西湖分公司", "杭州恒达科技有限公司"),
        ("恒达科技有限公司分公司", "恒达科技有限公司"),
        ("杭州恒达餐饮管理有限公司延安路分店", "杭州恒达餐饮管理有限公司"),
    ],
)
def test_a_branch_is_not_its_parent(branch, parent):
    b, p = split_firm_name(branch), split_firm_name(parent)
    assert b.branch and not p.branch
    assert b.core != p.core and b.core.startswith(p.core)


def test_a_branch_written_with_and_without_its_parents_form_agrees():
    assert split_firm_name("招商银行股份有限公司杭州分行").core == split_firm_name("招商银行杭州分行").core


def test_firm_names_fold_width_brackets_and_script():
    assert normalise_firm_name("恒達科技【杭州】有限公司") == "恒达科技(杭州)有限公司"
    assert normalise_firm_name("ＡＢＣ  Trading　有限公司") == "ABC TRADING有限公司"


parents = st.builds(
    lambda r, t, i, f: f"{r}{t}{i}{f}",
    st.sampled_from(REGIONS),
    st.text(alphabet=TRADE, min_size=2, max_size=3),
    st.sampled_from(INDUSTRY),
    st.sampled_from(FORMS),
)


@given(parents, st.sampled_from(("", "杭州", "西湖", "宁波", "延安路", "第一")), st.sampled_from(BRANCHES))
@settings(max_examples=300, deadline=None)
def test_a_branch_never_normalises_equal_to_its_parent(parent, where, marker):
    b, p = split_firm_name(parent + where + marker), split_firm_name(parent)
    assert b.branch and not p.branch
    assert b.core != p.core and b.name_norm != p.name_norm and b.pinyin != p.pinyin


@given(parents)
@settings(max_examples=200, deadline=None)
def test_traditional_spelling_of_a_firm_splits_the_same(name):
    simplified, traditional = split_firm_name(name), split_firm_name(S2T.convert(name))
    assert traditional == simplified


@given(st.text(alphabet=TRADE + "（）()【】 　·杭州市有限公司分ＡＢab", max_size=16))
@settings(max_examples=300, deadline=None)
def test_normalising_a_firm_name_twice_changes_nothing(text):
    once = normalise_firm_name(text)
    assert normalise_firm_name(once) == once
    if once:
        assert split_firm_name(once) == split_firm_name(text)


# --- addresses ----------------------------------------------------------------------------------


def _parts(text):
    a = normalise_address(text)
    return a.province, a.city, a.district, a.street, a.number, a.region_code


@pytest.mark.parametrize(
    ("written", "parts"),
    [
        (
            "浙江省杭州市西湖区北山街道文一路123号5幢2单元301室",
            ("浙江省", "杭州市", "西湖区", "文一路", "123号5幢2单元301室", "330106"),
        ),
        ("杭州西湖文三路8号", ("浙江省", "杭州市", "西湖区", "文三路", "8号", "330106")),
        ("浙江杭州市西湖區文三路8號", ("浙江省", "杭州市", "西湖区", "文三路", "8号", "330106")),
        ("萧山区城厢街道人民路5号", ("浙江省", "杭州市", "萧山区", "人民路", "5号", "330109")),
        ("北京市朝阳区建国路88号", ("北京市", "北京市", "朝阳区", "建国路", "88号", "110105")),
        (
            "浙江省杭州市下城区武林街道体育场路1号",
            ("浙江省", "杭州市", "下城区", "体育场路", "1号", "330103"),
        ),
        (
            "广西南宁市青秀区民族大道100号",
            ("广西壮族自治区", "南宁市", "青秀区", "民族大道", "100号", "450103"),
        ),
        ("杭州市", ("浙江省", "杭州市", None, None, None, "330100")),
        ("中国浙江省杭州市西湖区文三路8号", ("浙江省", "杭州市", "西湖区", "文三路", "8号", "330106")),
        ("杭州市文三路8号", ("浙江省", "杭州市", None, "文三路", "8号", "330100")),
        ("中山路12号", (None, None, None, "中山路", "12号", None)),
        ("仙桃市沙嘴街道1号", ("湖北省", None, "仙桃市", "沙嘴街道", "1号", "429004")),  # under the province
        ("延边延吉市1号", ("吉林省", "延边朝鲜族自治州", "延吉市", None, "1号", "222401")),
        (
            "上海浦东张江镇祖冲之路887弄",
            ("上海市", "上海市", "浦东新区", "祖冲之路", "887弄", "310115"),
        ),
        ("杭州市西湖区文一路 123 号 5幢", ("浙江省", "杭州市", "西湖区", "文一路", "123号5幢", "330106")),
        ("杭州市西湖区文一路１２３號５幢", ("浙江省", "杭州市", "西湖区", "文一路", "123号5幢", "330106")),
        (
            "浙江省 杭州市 西湖区 古荡街道 3幢201室",
            ("浙江省", "杭州市", "西湖区", "古荡街道", "3幢201室", "330106"),
        ),
    ],
)
def test_addresses_parse_into_levels(written, parts):
    assert _parts(written) == parts


PLACES = (
    ("浙江省", "杭州市", "西湖区", "330106"),
    ("浙江省", "杭州市", "萧山区", "330109"),
    ("北京市", "", "朝阳区", "110105"),
    ("广东省", "深圳市", "南山区", "440305"),
    ("江苏省", "南京市", "鼓楼区", "320106"),
)


@given(
    st.sampled_from(PLACES),
    st.booleans(),
    st.sampled_from(("文三路", "解放路", "北山街道文一路", "长河街道江南大道", "中山北路")),
    st.integers(1, 999),
    st.sampled_from(("", "3幢2单元301室", "5号楼")),
)
@settings(max_examples=200, deadline=None)
def test_addresses_parse_alike_in_either_script_and_with_or_without_province(place, province, road, n, tail):
    prov, city, district, code = place
    written = f"{prov if province or not city else ''}{city}{district}{road}{n}号{tail}"
    simplified, traditional = normalise_address(written), normalise_address(S2T.convert(written))
    assert simplified == traditional
    assert (simplified.region_code, simplified.district, simplified.number) == (
        code,
        district,
        f"{n}号{tail}",
    )


def test_a_district_of_two_cities_is_named_not_coded():
    # 西湖区 is in Hangzhou (330106) and in Nanchang (360103)
    assert _parts("西湖区文三路8号") == (None, None, "西湖区", "文三路", "8号", None)
    assert _parts("南昌市西湖区象山南路1号")[5] == "360103"


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("浙江省", "浙江"),
        ("杭州市", "杭州"),
        ("西湖区", "西湖"),
        ("新疆维吾尔自治区", "新疆"),
        ("延边朝鲜族自治州", "延边"),
        ("黔东南苗族侗族自治州", "黔东南"),
        ("伊犁哈萨克自治州", "伊犁"),
        ("鄞县", None),
    ],
)
def test_short_names(name, short):
    assert short_name(name) == short


def test_missing_address_gives_nothing():
    assert _parts(None) == (None,) * 6
    assert _parts("  ") == (None,) * 6


@pytest.mark.parametrize(
    ("rest", "street"),
    [
        ("北山街道文一路", "文一路"),
        ("千岛湖镇新安大街", "新安大街"),
        ("古荡街道", "古荡街道"),
        ("红星乡红星村", "红星乡红星村"),
        ("新镇路", "新镇路"),  # a road named after a town
        ("镇海路", "镇海路"),
        ("", None),
    ],
)
def test_the_street_is_the_road_when_a_township_precedes_it(rest, street):
    assert street_of(rest) == street
    assert (
        normalise_address("杭州市西湖区北山街道文一路1号").street
        == normalise_address("杭州市西湖区文一路1号").street
    )
