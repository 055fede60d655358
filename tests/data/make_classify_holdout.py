"""Builds the held-out evaluation set for column classification (tests/data/classify_holdout.parquet).

Run from the repository root: `python tests/data/make_classify_holdout.py`. Reproducible from the seed.
The detectors were tuned on classify_eval.parquet; this set is kept apart from that work. Its generators
are different on purpose: hand-written government-style values (Chinese and pinyin column names as they
appear in real ledgers), Faker locales and providers the first set does not use, and realistic dirt —
Excel-mangled numbers, IDs with spaces or dashes, legacy 15-digit IDs, mostly-null columns, mixed
valid and invalid values. Labels come from what the values are, decided by hand per generator.
"""

from __future__ import annotations

import random
import string
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from faker import Faker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from shuzhi.classify.checksums import (  # noqa: E402
    GB32100_ALPHABET,
    gb11643_check_char,
    gb32100_check_char,
    region_codes,
)

SEED = 20260417
OUT = Path(__file__).with_name("classify_holdout.parquet")
rng = random.Random(SEED)
# Locales the first set does not use.
fakers = {loc: Faker(loc) for loc in ("en_AU", "en_CA", "it_IT", "es_ES", "nl_NL", "en_IN")}
for i, f in enumerate(fakers.values()):
    f.seed_instance(SEED + i)
REGIONS = sorted(region_codes())
# Real ledgers cluster in a few provinces; the region pool is drawn from those prefixes.
LOCAL_REGIONS = [r for r in REGIONS if r[:2] in ("32", "33", "37", "41", "44", "51", "65")]


# -- people -----------------------------------------------------------------------------------------------
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢"
)
GIVEN = "建国志刚红梅海燕晓东丽娟玉兰春生秋菊德华宏伟淑珍桂英佳怡子涵浩然一诺欣悦梓萱宇轩雨桐思远明哲"
MINORITY_NAMES = [
    "阿卜杜拉·艾买提",
    "买买提·吐尔逊",
    "古丽米拉·阿不都",
    "努尔艾力·买合木提",
    "热依拉·吐尔洪",
    "扎西顿珠",
    "次仁卓玛",
    "格桑平措",
    "巴特尔",
    "乌兰其其格",
]


def han_name() -> str:
    given = "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
    return rng.choice(SURNAMES) + given


def region() -> str:
    return rng.choice(LOCAL_REGIONS)


def born(start=1935, end=2022) -> date:
    return date(start, 1, 1) + timedelta(days=rng.randrange((date(end, 12, 31) - date(start, 1, 1)).days))


def id18(lower=False) -> str:
    body = f"{region()}{born():%Y%m%d}{rng.randrange(1000):03d}"
    check = gb11643_check_char(body)
    return body + (check.lower() if lower else check)


def id15() -> str:
    return f"{region()}{born(1935, 1999):%y%m%d}{rng.randrange(1000):03d}"


def id_spaced() -> str:
    v = id18()
    sep = rng.choice([" ", "-"])
    return f"{v[:6]}{sep}{v[6:14]}{sep}{v[14:]}"


def id_typo() -> str:
    v = list(id18())
    i = rng.randrange(6, 17)
    v[i] = str((int(v[i]) + rng.randrange(1, 10)) % 10)  # one wrong digit: the checksum fails
    return "".join(v)


def excel_mangled(v: str) -> str:
    """What a spreadsheet shows after reading an 18-digit number as a float (an ID ending in X stays text)."""
    return f"{float(v):.5E}" if v.isdigit() else v


def mobile_plain() -> str:
    return (
        rng.choice(["139", "188", "152", "166", "199", "177", "147", "135", "181"])
        + f"{rng.randrange(10**8):08d}"
    )


def mobile_spaced() -> str:
    n = mobile_plain()
    return rng.choice([f"{n[:3]} {n[3:7]} {n[7:]}", f"+86-{n}", f"86{n}", f"+86 {n[:3]}-{n[3:7]}-{n[7:]}"])


def landline_gov() -> str:
    area = rng.choice(["025", "0512", "0532", "0371", "020", "0991", "0571"])
    num = str(rng.randrange(2, 9)) + f"{rng.randrange(10**7):07d}"[: 7 if len(area) == 3 else 6]
    return rng.choice([f"{area}-{num}", f"{area}-{num}-{rng.randrange(100, 999)}", f"({area}){num}"])


def luhn_digit(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def bank_card(spaced=False) -> str:
    prefix = rng.choice(["622202", "621700", "622848", "628288", "622588", "436742"])
    body = prefix + "".join(rng.choice(string.digits) for _ in range(rng.choice([16, 19]) - 7))
    card = body + luhn_digit(body)
    return " ".join(card[i : i + 4] for i in range(0, len(card), 4)) if spaced else card


def gov_email() -> str:
    user = rng.choice(["zhang", "li", "wang", "liu", "chen", "office", "xxzx", "bgs"]) + str(
        rng.randrange(1, 999)
    )
    host = rng.choice(["163.com", "qq.com", "126.com", "sina.com", "js.gov.cn", "gd.gov.cn", "foxmail.com"])
    return user + "@" + host


def uscc_gov() -> str:
    head = rng.choice(["91", "92", "93", "12", "11", "51", "52", "Y1", "N2", "31"])
    body = head + region() + "".join(rng.choice(GB32100_ALPHABET) for _ in range(9))
    return body + gb32100_check_char(body)


def plate_new_energy() -> str:
    prov = rng.choice("苏浙鲁豫粤川新")
    letter = rng.choice("ABCDEFGHJKLM")
    tail = rng.choice("DF") + "".join(rng.choice(string.digits) for _ in range(5))
    return prov + letter + rng.choice(["", "·"]) + tail


def plate_mixed() -> str:
    prov = rng.choice("苏浙鲁豫粤川新")
    tail = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(5))
    return prov + rng.choice("ABCDEF") + tail + rng.choice(["", "", "", "挂", "学"])


ADDRESS_PARTS = {
    "省": ["江苏省", "浙江省", "山东省", "河南省", "广东省", "四川省"],
    "市": ["南京市", "苏州市", "杭州市", "青岛市", "郑州市", "广州市", "成都市"],
    "区": ["鼓楼区", "姑苏区", "西湖区", "市南区", "金水区", "天河区", "武侯区", "昆山市", "余杭区"],
    "街道": ["湖南路街道", "平江街道", "北山街道", "八大关街道", "花园路街道", "石牌街道", "玉林街道"],
    "小区": ["阳光花园", "锦绣苑", "幸福里", "金色家园", "翠湖小区", "华府天地"],
}


def address_full() -> str:
    p = ADDRESS_PARTS
    return (
        f"{rng.choice(p['省'])}{rng.choice(p['市'])}{rng.choice(p['区'])}{rng.choice(p['街道'])}"
        f"{rng.choice(p['小区'])}{rng.randrange(1, 40)}栋{rng.randrange(1, 6)}单元{rng.randrange(1, 33)}0{rng.randrange(1, 5)}室"
    )


def address_rural() -> str:
    county = rng.choice(["沭阳县", "淳安县", "莒县", "兰考县", "仁寿县", "伽师县"])
    town = rng.choice(["龙庙镇", "千岛湖镇", "城阳街道", "堌阳镇", "文林镇", "巴仁乡"])
    village = rng.choice(["陈庄村", "汪宅村", "前河村", "张庄村", "高桥村", "阿克萨克村"])
    return f"{county}{town}{village}{rng.randrange(1, 12)}组{rng.randrange(1, 80)}号"


def address_short() -> str:
    road = rng.choice(["中山北路", "解放路", "人民大道", "建设路", "文化路", "学府街"])
    return f"{road}{rng.randrange(1, 999)}号" + rng.choice(["", f"{rng.randrange(1, 20)}幢", "附近"])


def gps_lnglat() -> str:
    return rng.choice(["{:.5f},{:.5f}", "{:.6f}, {:.6f}", "({:.4f},{:.4f})"]).format(
        rng.uniform(97, 123), rng.uniform(21, 45)
    )


DIAGNOSES = [
    "上呼吸道感染",
    "2型糖尿病伴有并发症",
    "原发性高血压",
    "急性胃肠炎",
    "腰椎骨折",
    "脑出血",
    "慢性阻塞性肺病",
    "肝硬化",
    "胆囊结石",
    "精神分裂症",
    "阿尔茨海默病",
    "缺血性心肌病",
    "过敏性鼻炎",
    "宫颈癌",
    "肾功能衰竭",
]
ICD_EXT = ["I10.x00", "E11.900", "J06.900", "K80.200", "S32.000", "N18.500", "F20.900", "C53.900", "J44.100"]
RELIGIONS = ["佛教", "基督教", "伊斯兰教", "无", "道教", "天主教"]
ETHNIC = ["汉族"] * 8 + [
    "维吾尔族",
    "哈萨克族",
    "回族",
    "蒙古族",
    "柯尔克孜族",
    "锡伯族",
    "藏族",
    "土家族",
    "彝族",
]
ETHNIC_SHORT = ["汉"] * 8 + ["回", "满", "壮", "苗", "维吾尔", "藏", "蒙古"]


# -- hard negatives -----------------------------------------------------------------------------------------
FACILITIES = [
    "鼓楼医院",
    "玄武湖公园",
    "新街口地铁站",
    "夫子庙",
    "中华门",
    "钟山风景区",
    "奥体中心",
    "南京南站",
    "江宁图书馆",
    "秦淮河畔",
    "雨花台烈士陵园",
    "红山动物园",
    "紫金山天文台",
    "河西万达广场",
]
PROJECTS = [
    "老旧小区改造工程",
    "智慧城市二期",
    "农村饮水安全巩固提升",
    "高标准农田建设",
    "城市更新试点",
    "数字政府平台",
    "污水管网改造",
    "校园安全提升",
]
ITEMS = ["营业执照", "食品经营许可证", "卫生许可证", "排污许可证", "建筑施工许可证", "道路运输证"]
STATUS = ["已受理", "已办结", "退回补正", "审核中", "不予受理", "待签收"]
REMARKS = [
    "材料齐全，同意办理",
    "请于三个工作日内补充营业执照复印件",
    "现场核查无异常",
    "申请人已电话告知",
    "系统自动推送",
    "窗口收件",
    "按规定办理",
    "等待部门会签意见",
]
DEPTS = ["行政审批局", "发改委", "财政局", "自然资源局", "生态环境局", "应急管理局", "统计局"]


def digits(n: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def order_no() -> str:
    return (
        rng.choice(["", "DD", "SO"])
        + f"2024{rng.randrange(1, 13):02d}{rng.randrange(1, 29):02d}"
        + digits(10, string.digits)
    )


def invoice_code() -> str:
    return f"0{rng.choice(['32', '44', '37'])}00{rng.randrange(100000, 999999)}1{rng.randrange(10)}"


def sku() -> str:
    return rng.choice(["SKU-", "P", "JD"]) + "".join(
        rng.choice(string.ascii_uppercase + string.digits) for _ in range(8)
    )


def business_reg_no() -> str:
    """Old 15-digit business registration numbers (工商注册号): region code + serial, not a person."""
    return region() + "0" + digits(8, string.digits)


def thin(values, null_share: float):
    return [None if rng.random() < null_share else v for v in values]


def mix(good, bad, bad_share: float):
    return lambda: bad() if rng.random() < bad_share else good()


def columns():
    """(name, label, generator name, values) for every column of the set."""
    cols = []

    def add(label, names, gen, src, rows=None, nulls=0.03):
        for name in names:
            k = rows or rng.choice([60, 150, 400])
            vals = [gen() for _ in range(k)]
            cols.append((name, label, src, thin(vals, nulls)))

    # -- resident IDs
    add("resident_id", ["法人身份证号", "jbr_sfzh", "zjhm_1", "col_07"], id18, "id18 local regions")
    add("resident_id", ["公民身份号码", "证件号码_旧", "f21"], mix(id18, id15, 0.5), "id18 + legacy 15")
    add("resident_id", ["lgzh", "老证号"], id15, "legacy 15 only")
    add("resident_id", ["身份证号码", "sfzhm", "v_12"], lambda: id18(lower=True), "lowercase x")
    add("resident_id", ["申请人证件号", "idno", "h3"], id_spaced, "ids with spaces or dashes")
    add(
        "resident_id",
        ["身份证号_excel", "zjhm_2"],
        mix(id18, lambda: excel_mangled(id18()), 0.15),
        "ids, some excel-mangled",
    )
    add("resident_id", ["身份证号_手工", "sfz_input"], mix(id18, id_typo, 0.25), "ids, a quarter with typos")
    add("resident_id", ["监护人身份证", "jhrsfz"], id18, "id18 mostly null", nulls=0.85)
    # -- organisations
    add("uscc", ["统一社会信用代码", "shxydm", "col_19", "纳税人识别号"], uscc_gov, "gb32100 gov mix")
    add("uscc", ["tyxydm_lower"], lambda: uscc_gov().lower(), "gb32100 lower case")
    # -- phones
    add("mobile", ["联系人手机", "lxrsj", "手机号码", "c_mob"], mobile_plain, "mobiles new prefixes")
    add("mobile", ["联系方式", "tel_no", "k9"], mobile_spaced, "mobiles formatted")
    add("mobile", ["紧急联系人电话", "jjlxrdh"], mobile_plain, "mobiles mostly null", nulls=0.9)
    add("phone", ["办公电话", "单位电话", "dwdh", "fax"], landline_gov, "landlines with extensions")
    add(
        "phone",
        ["phone_au", "contact_phone_ca"],
        lambda: fakers[rng.choice(["en_AU", "en_CA"])].phone_number(),
        "faker au/ca phone",
    )
    # -- money
    add("bank_card", ["银行卡号", "补贴发放卡号", "ffkh", "col_33"], bank_card, "unionpay/visa luhn")
    add("bank_card", ["银行卡号_分段", "card_no_spaced"], lambda: bank_card(True), "cards spaced")
    add(
        "financial_account",
        ["iban_it", "iban_es", "iban_nl"],
        lambda: fakers[rng.choice(["it_IT", "es_ES", "nl_NL"])].iban(),
        "faker iban it/es/nl",
    )
    # -- contacts
    add("email", ["电子邮箱", "lxyx", "邮箱地址", "col_40"], gov_email, "gov / cn mail hosts")
    add(
        "email",
        ["email_it", "email_es", "email_au"],
        lambda: fakers[rng.choice(["it_IT", "es_ES", "en_AU"])].free_email(),
        "faker it/es/au mail",
    )
    add("email", ["EMAIL_UPPER"], lambda: gov_email().upper(), "upper-case mail")
    add(
        "ip_address",
        ["访问IP", "dlip", "src_ip", "c_77"],
        lambda: fakers["nl_NL"].ipv4_public(),
        "faker ipv4 public",
    )
    add(
        "ip_address",
        ["客户端地址", "client_addr"],
        lambda: fakers["it_IT"].ipv4() + ":" + str(rng.randrange(1024, 65535)),
        "ipv4 with port",
    )
    add("ip_address", ["ipv6_addr", "v6"], lambda: fakers["en_IN"].ipv6(), "faker en_IN ipv6")
    add(
        "mac_address",
        ["设备MAC", "mac_dash"],
        lambda: fakers["es_ES"].mac_address().upper().replace(":", "-"),
        "mac dashes upper",
    )
    add("vehicle_plate", ["车辆号牌", "hpzl_hm", "col_50", "cph_1"], plate_mixed, "plates mixed")
    add("vehicle_plate", ["新能源车牌", "xnycp"], plate_new_energy, "new-energy plates")
    add(
        "passport",
        ["护照号", "hzh"],
        lambda: "E" + rng.choice("ABCDEFGH") + f"{rng.randrange(10**7):07d}",
        "cn passport new",
    )
    add(
        "hk_macao_permit",
        ["往来港澳通行证", "gaz"],
        lambda: "C" + rng.choice("ABCDEFGH") + f"{rng.randrange(10**7):07d}",
        "permit new format",
    )
    # -- dates and names
    add(
        "birth_date",
        ["出生年月日", "csny", "birth_dt"],
        lambda: born().strftime(rng.choice(["%Y-%m-%d", "%Y%m%d"])),
        "birth mixed formats",
    )
    add("birth_date", ["出生日期_时间"], lambda: born().isoformat() + " 00:00:00", "birth with midnight time")
    add("person_name", ["参保人姓名", "fzrxm", "经办人", "col_60", "lxrxm"], han_name, "hand-built han names")
    add(
        "person_name",
        ["姓名_新疆", "xm_xj"],
        mix(han_name, lambda: rng.choice(MINORITY_NAMES), 0.3),
        "han + minority names",
    )
    add("person_name", ["contact_it", "姓名_外籍"], lambda: fakers["it_IT"].name(), "faker it_IT name")
    add("person_name", ["full_name_in", "applicant"], lambda: fakers["en_IN"].name(), "faker en_IN name")
    # -- addresses and places
    add("address", ["现住址", "xzz", "户籍所在地详址", "col_70"], address_full, "city flat addresses")
    add("address", ["家庭住址", "jtzz", "c_addr"], address_rural, "rural addresses")
    add("address", ["送达地址", "sddz"], address_short, "road + number")
    add(
        "address",
        ["address_au", "mailing_address"],
        lambda: fakers["en_AU"].address().replace("\n", ", "),
        "faker en_AU address",
    )
    add("gps", ["经纬度", "zb", "gps_xy"], gps_lnglat, "lng,lat formats")
    # -- PIPL art. 28
    add(
        "medical",
        ["门诊诊断", "cyzd", "主要诊断名称", "col_80"],
        lambda: rng.choice(DIAGNOSES),
        "zh diagnoses 2",
    )
    add("medical", ["诊断代码", "zdbm_1"], lambda: rng.choice(ICD_EXT), "icd-10 national extension")
    add("religion", ["宗教信仰情况", "zjxy_1"], lambda: rng.choice(RELIGIONS), "religion with none")
    add("ethnicity", ["民族", "mzmc", "col_88"], lambda: rng.choice(ETHNIC), "ethnic groups xinjiang")
    add("ethnicity", ["民族_简称"], lambda: rng.choice(ETHNIC_SHORT), "ethnic short names")

    # -- hard negatives (label none)
    add("none", ["订单号", "ddbh", "order_id", "col_90"], order_no, "order numbers with date")
    add(
        "none",
        ["订单号_excel", "流水号_xls"],
        lambda: excel_mangled(digits(18)),
        "excel-mangled order numbers",
    )
    add("none", ["发票代码", "fpdm_1"], invoice_code, "invoice codes")
    add("none", ["发票号码", "fphm"], lambda: f"{rng.randrange(10**8):08d}", "invoice numbers")
    add("none", ["商品编码", "sku_code", "col_95"], sku, "skus")
    add("none", ["注册号", "zch"], business_reg_no, "15-digit business registration numbers")
    add("none", ["年度", "tjnd", "year"], lambda: str(rng.randrange(2010, 2026)), "years")
    add("none", ["办件数量", "sl", "col_99"], lambda: str(rng.randrange(0, 3000)), "counts")
    add(
        "none",
        ["邮政编码", "yzbm_1"],
        lambda: rng.choice(["210000", "215000", "310000", "266000", "450000", "510000"]),
        "postal codes",
    )
    add("none", ["办理状态", "blzt"], lambda: rng.choice(STATUS), "statuses")
    add("none", ["备注", "bz", "审批意见"], lambda: rng.choice(REMARKS), "remarks")
    add("none", ["名称", "场所名称", "mc_1"], lambda: rng.choice(FACILITIES), "facility names")
    add("none", ["项目名称", "xmmc"], lambda: rng.choice(PROJECTS), "project names")
    add("none", ["事项名称", "sxmc"], lambda: rng.choice(ITEMS), "permit names")
    add("none", ["主管部门", "zgbm"], lambda: rng.choice(DEPTS), "departments")
    add(
        "none", ["办理日期", "blrq", "created_time"], lambda: born(2015, 2025).isoformat(), "processing dates"
    )
    add("none", ["年龄", "nl"], lambda: str(rng.randrange(1, 95)), "ages")
    add("none", ["性别", "xb"], lambda: rng.choice(["男", "女", "未说明"]), "sex")
    add("none", ["金额", "je_1", "amount_due"], lambda: f"{rng.uniform(10, 50000):.2f}", "amounts")
    add("none", ["面积", "mj"], lambda: f"{rng.uniform(20, 300):.1f}", "areas")
    add("none", ["评分", "pf"], lambda: f"{rng.uniform(60, 100):.1f}", "scores")
    add(
        "none",
        ["批次号", "pch"],
        lambda: "PC" + f"{rng.randrange(2019, 2026)}{rng.randrange(1, 999):03d}",
        "batch numbers",
    )
    add(
        "none",
        ["案卷号", "ajh"],
        lambda: f"苏{rng.randrange(2018, 2025)}第{rng.randrange(1, 9999)}号",
        "case file numbers",
    )
    add(
        "none",
        ["快递单号", "kddh"],
        lambda: rng.choice(["SF", "YT", "JD"]) + digits(12, string.digits),
        "parcel numbers",
    )
    add(
        "none",
        ["设备编号", "sbbh"],
        lambda: f"DEV-{rng.randrange(1, 99):02d}-{rng.randrange(10**6):06d}",
        "device numbers",
    )
    add("none", ["行政区划", "xzqh"], lambda: rng.choice(LOCAL_REGIONS), "region codes")
    add("none", ["city_es", "municipio"], lambda: fakers["es_ES"].city(), "faker es_ES city")
    add("none", ["company_nl", "bedrijf"], lambda: fakers["nl_NL"].company(), "faker nl_NL company")
    add("none", ["job_es", "puesto"], lambda: fakers["es_ES"].job(), "faker es_ES job")
    add(
        "none",
        ["版本号", "bbh"],
        lambda: f"V{rng.randrange(1, 5)}.{rng.randrange(10)}.{rng.randrange(20)}",
        "versions",
    )
    add(
        "none",
        ["学号", "xh"],
        lambda: f"{rng.randrange(2018, 2025)}{rng.randrange(10**6):06d}",
        "student numbers",
    )
    add("none", ["工号", "gh"], lambda: f"{rng.randrange(10**5):05d}", "staff numbers")
    add("none", ["楼层", "lc"], lambda: f"{rng.randrange(1, 33)}F", "floors")
    add(
        "none",
        ["时间段", "sjd"],
        lambda: f"{rng.randrange(8, 12):02d}:00-{rng.randrange(13, 18):02d}:00",
        "time ranges",
    )
    add("none", ["电话区号", "qh"], lambda: rng.choice(["025", "0512", "0532", "0371", "020"]), "area codes")
    add("none", ["姓名_空"], lambda: None, "all-null name column", nulls=0.0)
    add(
        "none",
        ["证件类型", "zjlx"],
        lambda: rng.choice(["居民身份证", "护照", "港澳居民来往内地通行证"]),
        "document type words",
    )
    return cols


def main() -> None:
    cols = columns()
    table = pa.table(
        {
            "column_id": list(range(len(cols))),
            "name": [c[0] for c in cols],
            "label": [c[1] for c in cols],
            "source": [c[2] for c in cols],
            "values": pa.array([c[3] for c in cols], pa.list_(pa.string())),
        }
    )
    pq.write_table(table, OUT, compression="zstd")
    print(f"{len(cols)} columns → {OUT.name}")


if __name__ == "__main__":
    main()
