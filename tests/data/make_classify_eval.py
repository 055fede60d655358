"""Builds the labelled evaluation set for column classification (tests/data/classify_eval.parquet).

Run from the repository root: `python tests/data/make_classify_eval.py`. Reproducible from the seed.
Columns come from Faker in several locales, hand-written generators of Chinese identifiers and
hand-made hard negatives; each has a name (Chinese, pinyin initials, English or meaningless) and a label.
"""

from __future__ import annotations

import base64
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
    gb11714_check_char,
    gb32100_check_char,
    region_codes,
)

SEED = 20260301
ROWS = 120
OUT = Path(__file__).with_name("classify_eval.parquet")
rng = random.Random(SEED)
fakers = {loc: Faker(loc) for loc in ("zh_CN", "zh_TW", "en_US", "en_GB", "de_DE", "fr_FR")}
for i, f in enumerate(fakers.values()):
    f.seed_instance(SEED + i)
zh, tw, us = fakers["zh_CN"], fakers["zh_TW"], fakers["en_US"]
REGIONS = sorted(region_codes())


# -- positive generators --------------------------------------------------------------------------------
def resident_id(legacy_share=0.0, lower_x=False) -> str:
    region = rng.choice(REGIONS)
    born = date(1930, 1, 1) + timedelta(days=rng.randrange(33000))
    if rng.random() < legacy_share and born.year < 2000:
        return f"{region}{born:%y%m%d}{rng.randrange(1000):03d}"
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    check = gb11643_check_char(body)
    return body + (check.lower() if lower_x else check)


def uscc(authority=None) -> str:
    head = authority or rng.choice("9999995ANY1")
    body = (
        head
        + rng.choice("123")
        + rng.choice(REGIONS)
        + "".join(rng.choice(GB32100_ALPHABET) for _ in range(9))
    )
    return body + gb32100_check_char(body)


def org_code(dash=True) -> str:
    body = "".join(rng.choice(string.digits + string.ascii_uppercase) for _ in range(8))
    return body + ("-" if dash else "") + gb11714_check_char(body)


def luhn_complete(prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for d in string.digits:
        digits = body + d
        total = sum(
            (int(c) * 2 - 9 if int(c) * 2 > 9 else int(c) * 2) if i % 2 else int(c)
            for i, c in enumerate(reversed(digits))
        )
        if total % 10 == 0:
            return digits
    raise AssertionError


def mobile(fmt=0) -> str:
    n = (
        rng.choice(["13", "15", "18", "17", "19", "16"])
        + str(rng.randrange(10))
        + f"{rng.randrange(10**8):08d}"
    )
    return [n, f"+86 {n}", f"{n[:3]}-{n[3:7]}-{n[7:]}"][fmt]


def landline(sep="-") -> str:
    area = rng.choice(["010", "021", "022", "0571", "0755", "0431", "0898", "028"])
    num = str(rng.randrange(2, 10)) + f"{rng.randrange(10**7):07d}"[: 7 if len(area) == 3 else 6]
    return f"({area}){num}" if sep == "()" else f"{area}{sep}{num}"


def plate() -> str:
    prov = rng.choice("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    tail = "".join(rng.choice(letters + string.digits) for _ in range(rng.choice([5, 5, 6])))
    return prov + rng.choice(letters) + tail


def passport_cn() -> str:
    return rng.choice(["E", "G"]) + f"{rng.randrange(10**8):08d}"


def hk_permit() -> str:
    return "C" + f"{rng.randrange(10**8):08d}"


def birth(fmt: str) -> str:
    d = date(1940, 1, 1) + timedelta(days=rng.randrange(30000))
    return {
        "iso": d.isoformat(),
        "compact": d.strftime("%Y%m%d"),
        "slash": d.strftime("%Y/%m/%d"),
        "zh": f"{d.year}年{d.month}月{d.day}日",
    }[fmt]


def gps_pair() -> str:
    return f"{rng.uniform(73, 135):.6f},{rng.uniform(18, 53):.6f}"


ICD = [
    "I10",
    "E11.9",
    "J18.9",
    "K35.8",
    "C34.9",
    "I21.0",
    "N18.3",
    "F32.1",
    "A15.0",
    "M54.5",
    "J45.9",
    "B20",
    "E78.5",
    "I63.9",
    "K29.7",
    "O80",
    "S72.0",
    "G40.9",
    "D50.9",
    "H25.9",
    "L40.0",
    "R50.9",
    "Z34.0",
]
DIAG_ZH = [
    "高血压",
    "2型糖尿病",
    "社区获得性肺炎",
    "急性阑尾炎",
    "肺癌",
    "急性心肌梗死",
    "慢性肾脏病",
    "抑郁症",
    "肺结核",
    "腰椎间盘突出症",
    "支气管哮喘",
    "冠心病",
    "脑梗死",
    "慢性胃炎",
    "股骨颈骨折",
    "癫痫",
    "缺铁性贫血",
    "白内障",
    "银屑病",
    "病毒性肝炎",
    "甲状腺结节（良性）",
    "乳腺癌",
    "帕金森病",
    "类风湿关节炎",
    "痛风",
]
DIAG_EN = [
    "Type 2 diabetes",
    "Hypertension",
    "Asthma",
    "Pneumonia",
    "Breast cancer",
    "Major depressive disorder",
    "Chronic kidney disease",
    "Osteoarthritis",
    "Migraine disorder",
    "Influenza",
    "Hepatitis B",
    "Bronchitis",
]
RELIGION_ZH = ["佛教", "道教", "伊斯兰教", "天主教", "基督教", "无宗教信仰"]
RELIGION_EN = ["Buddhism", "Christianity", "Islam", "Hinduism", "Judaism", "None", "Catholic", "Atheist"]
ETHNIC = ["汉族"] * 12 + ["回族", "满族", "壮族", "蒙古族", "藏族", "维吾尔族", "苗族", "朝鲜族", "土家族"]
PLACES = [
    "北京市朝阳区望京SOHO",
    "上海市浦东新区陆家嘴地铁站",
    "杭州市西湖区文三路",
    "广州白云机场",
    "成都市锦江区春熙路",
    "深圳北站",
    "南京市玄武区中山陵",
    "武汉市洪山区光谷广场",
    "西安市雁塔区大雁塔",
    "重庆市渝中区解放碑",
]


# -- hard negatives -------------------------------------------------------------------------------------
FACILITIES = [
    "王府井",
    "张家口",
    "朝阳公园",
    "人民广场",
    "李村",
    "黄山",
    "金沙滩",
    "马家堡",
    "高碑店",
    "周庄",
    "南锣鼓巷",
    "陈家祠",
    "杨浦大桥",
    "刘家峡",
    "石景山游乐园",
    "孙中山故居",
    "赵州桥",
    "吴淞口",
    "胡同博物馆",
    "郭庄",
]
WORDS2 = [
    "高兴",
    "白色",
    "金融",
    "马路",
    "黄金",
    "江河",
    "方向",
    "文化",
    "安全",
    "常规",
    "平安",
    "明天",
    "东方",
    "向上",
    "石头",
    "海洋",
    "田野",
    "宁静",
    "华丽",
    "贺卡",
    "夏天",
    "秋风",
    "毛衣",
    "钱包",
    "林业",
    "程序",
    "苏醒",
    "韩流",
]
STATUS = ["正常", "注销", "吊销", "迁出", "在营", "停业"]
DEPTS = ["公安局", "市场监管局", "税务局", "人社局", "卫健委", "教育局", "民政局", "交通局", "住建局"]


def digits(n: int, first: str = "123456789") -> str:
    return rng.choice(first) + "".join(rng.choice(string.digits) for _ in range(n - 1))


def n_times(gen, k=ROWS):
    return [gen() for _ in range(k)]


def with_noise(values, share=0.04):
    noise = ["", None, "不详", "-", None]
    return [rng.choice(noise) if rng.random() < share else v for v in values]


def columns():
    """(name, label, generator name, values) for every column of the set."""
    cols = []

    def add(label, names, gen, src, noise=True):
        for name in names:
            vals = n_times(gen)
            cols.append((name, label, src, with_noise(vals) if noise else vals))

    add("resident_id", ["身份证号", "sfzh", "id_number", "证件号码", "col_a", "f3"], resident_id, "gb11643")
    add("resident_id", ["gmsfhm", "zjhm", "x1"], lambda: resident_id(legacy_share=0.3), "gb11643+15")
    add("resident_id", ["idcard", "身份证"], lambda: resident_id(lower_x=True), "gb11643 lower x")
    add("resident_id", ["SFZH", "col_b", "citizen_id"], zh.ssn, "faker zh_CN ssn")
    add("uscc", ["统一社会信用代码", "tyshxydm", "credit_code", "code1", "f9"], uscc, "gb32100")
    add("uscc", ["xydm", "col_c"], lambda: uscc(rng.choice("ANY")), "gb32100 letter authority")
    add("org_code", ["组织机构代码", "zzjgdm", "f10", "orgno"], org_code, "gb11714")
    add("org_code", ["机构代码", "c7"], lambda: org_code(False), "gb11714 no dash")
    add("mobile", ["手机号", "lxdh", "sjhm", "mobile", "col_d", "tel"], zh.phone_number, "faker zh_CN phone")
    add("mobile", ["联系电话", "phone", "c11"], lambda: mobile(rng.randrange(3)), "mobile formats")
    add("phone", ["固定电话", "bgdh", "office_tel", "c12"], landline, "landline dash")
    add("phone", ["座机", "c13"], lambda: landline("()"), "landline paren")
    add("phone", ["gddh"], lambda: landline(""), "landline plain")
    add("phone", ["phone_number", "telephone", "contact_phone"], us.phone_number, "faker en_US phone")
    add(
        "bank_card",
        ["银行卡号", "yhkh", "card_no", "f14", "col_e"],
        lambda: luhn_complete("62", rng.choice([16, 19])),
        "unionpay",
    )
    for i, loc in enumerate(("en_US", "en_GB", "de_DE", "fr_FR")):
        add("bank_card", [f"credit_card_{i}", f"c2{i}"], fakers[loc].credit_card_number, f"faker {loc} card")
    add(
        "financial_account",
        ["银行账号", "结算账户", "account_no", "yhzh"],
        lambda: digits(rng.choice([12, 15, 17, 20])),
        "account digits",
    )
    add("financial_account", ["iban", "bank_account"], fakers["de_DE"].iban, "faker de_DE iban")
    for loc in fakers:
        add("email", [f"email_{loc}", f"m_{loc}"], fakers[loc].email, f"faker {loc} email")
    add("email", ["电子邮箱", "dzyx"], zh.company_email, "faker company email")
    add("ip_address", ["ip", "客户端IP", "c30", "remote_addr"], zh.ipv4, "faker ipv4")
    add("ip_address", ["ip_private", "c31"], lambda: zh.ipv4_private(), "faker ipv4 private")
    add("ip_address", ["ipv6", "c32", "addr6"], zh.ipv6, "faker ipv6")
    add("mac_address", ["mac", "物理地址", "c33", "device_mac"], zh.mac_address, "faker mac")
    add("vehicle_plate", ["车牌号", "hphm", "plate_no", "c34"], plate, "plates")
    add("vehicle_plate", ["号牌号码", "c35"], zh.license_plate, "faker zh_CN plate")
    add("passport", ["护照号码", "hzhm", "c36"], passport_cn, "cn passport")
    add("passport", ["passport_no", "passport"], us.passport_number, "faker passport")
    add("hk_macao_permit", ["港澳通行证号", "txz", "c37"], hk_permit, "hk permit")
    add("social_security", ["ssn", "social_security_no", "c38", "f38"], us.ssn, "faker en_US ssn")
    add(
        "social_security",
        ["社保卡号", "sbkh"],
        lambda: rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + digits(8, "0123456789"),
        "cn ssc",
    )
    for fmt in ("iso", "compact", "slash", "zh"):
        add(
            "birth_date",
            [f"出生日期_{fmt}", f"csrq_{fmt}", f"birth_date_{fmt}"],
            lambda f=fmt: birth(f),
            f"birth {fmt}",
        )
    add("birth_date", ["dob", "birthday"], lambda: us.date_of_birth().isoformat(), "faker dob")
    for loc in ("zh_CN", "zh_TW"):
        add(
            "person_name",
            [f"姓名_{loc}", f"xm_{loc}", f"name_{loc}", f"c40_{loc}", f"法定代表人_{loc}", f"lxr_{loc}"],
            fakers[loc].name,
            f"faker {loc} name",
        )
    for loc in ("en_US", "en_GB", "de_DE"):
        add("person_name", [f"full_name_{loc}", f"contact_name_{loc}"], fakers[loc].name, f"faker {loc} name")
    add("address", ["地址", "jzdz", "home_address", "c50", "住址", "hjdz"], zh.address, "faker zh_CN address")
    add("address", ["address_tw", "c51"], tw.address, "faker zh_TW address")
    add("address", ["address_us", "c52", "addr"], us.address, "faker en_US address")
    add("address", ["street_address", "residence"], us.street_address, "faker en_US street")
    add("gps", ["经纬度", "jwd", "coordinates", "c53"], gps_pair, "lng,lat")
    add("gps", ["latitude", "纬度"], lambda: f"{rng.uniform(18, 53):.6f}", "lat")
    add("gps", ["longitude", "lng", "jd"], lambda: f"{rng.uniform(73, 135):.6f}", "lng")
    add("medical", ["诊断编码", "icd10", "zdbm"], lambda: rng.choice(ICD), "icd10")
    add("medical", ["c60", "f60"], lambda: rng.choice([c for c in ICD if "." in c]), "icd10 dotted")
    add(
        "medical",
        ["诊断", "疾病名称", "jbmc", "c61", "既往病史"],
        lambda: rng.choice(DIAG_ZH),
        "zh diagnoses",
    )
    add("medical", ["diagnosis", "condition", "c62"], lambda: rng.choice(DIAG_EN), "en diagnoses")
    add("religion", ["宗教信仰", "zjxy", "religion", "c63"], lambda: rng.choice(RELIGION_ZH), "zh religion")
    add("religion", ["faith", "c64"], lambda: rng.choice(RELIGION_EN), "en religion")
    add("ethnicity", ["民族", "mz", "ethnicity", "c65", "族别"], lambda: rng.choice(ETHNIC), "ethnic groups")
    add(
        "biometric",
        ["指纹特征", "face_template", "虹膜编码", "fingerprint"],
        lambda: base64.b64encode(rng.randbytes(48)).decode(),
        "base64 templates",
    )
    add(
        "whereabouts",
        ["行程轨迹", "到访地点", "trajectory", "checkin_place"],
        lambda: rng.choice(PLACES),
        "places",
    )

    # hard negatives: label none
    add(
        "none",
        ["order_no", "订单编号", "c70", "流水号", "serial"],
        lambda: digits(18),
        "18-digit order numbers",
    )
    add("none", ["c71", "账单号", "ticket_no"], lambda: digits(11, "2345689"), "11-digit non-phones")
    add("none", ["c72", "txn_id"], lambda: digits(16, "3456"), "16-digit non-cards")
    add("none", ["name", "设施名称", "景点名称"], lambda: rng.choice(FACILITIES), "facility names")
    add("none", ["名称", "mc", "c73"], lambda: rng.choice(WORDS2), "two-character words")
    add("none", ["name_repeated", "姓名_常量"], lambda: "高兴", "one repeated word")
    add("none", ["ACADEMIC_YEAR_CODE", "year_code", "nd"], lambda: str(rng.randrange(2000, 2025)), "years")
    add("none", ["company", "企业名称", "dwmc"], zh.company, "faker zh_CN company")
    add("none", ["company_en", "employer"], us.company, "faker en_US company")
    add(
        "none",
        ["product_code", "seat", "c74"],
        lambda: rng.choice("ABCDEFGH") + f"{rng.randrange(100):02d}",
        "short codes",
    )
    add("none", ["amount", "金额", "je"], lambda: f"{rng.uniform(0, 99999):.2f}", "amounts")
    add("none", ["count", "人数", "c75"], lambda: str(rng.randrange(0, 5000)), "counts")
    add("none", ["status", "状态", "zt"], lambda: rng.choice(STATUS), "status words")
    add("none", ["department", "部门", "bm"], lambda: rng.choice(DEPTS), "departments")
    add("none", ["登记日期", "created_at", "djrq"], lambda: birth("iso"), "dates, not births")
    add("none", ["zip", "邮编", "yzbm"], lambda: digits(6), "postcodes")
    add("none", ["region_code", "行政区划代码"], lambda: rng.choice(REGIONS), "region codes")
    add("none", ["uuid", "c76"], lambda: zh.uuid4(), "uuids")
    add("none", ["md5", "hash"], lambda: zh.md5(), "hashes")
    add("none", ["url", "website"], zh.url, "urls")
    add("none", ["job", "职位"], zh.job, "faker zh_CN job")
    add("none", ["city", "城市"], zh.city, "faker zh_CN city")
    add("none", ["word_en", "tag"], us.word, "faker en words")
    add("none", ["remark", "备注"], lambda: zh.sentence(nb_words=6), "sentences")
    add("none", ["ratio", "占比"], lambda: f"{rng.uniform(0, 1):.4f}", "ratios")
    add("none", ["color", "颜色"], us.color_name, "colors")
    add("none", ["filename"], us.file_name, "file names")
    add(
        "none",
        ["version_code"],
        lambda: f"{rng.randrange(1, 30)}.{rng.randrange(0, 999)}.{rng.randrange(300, 9999)}",
        "versions",
    )
    add(
        "none",
        ["c77", "mobile_model"],
        lambda: rng.choice(["iPhone 15", "Mate 60", "小米14", "Galaxy S24"]),
        "device models",
    )
    add("none", ["invoice_code", "fpdm"], lambda: digits(12), "12-digit invoice codes")
    add("none", ["isbn"], us.isbn13, "isbn")
    add("none", ["c78", "score"], lambda: str(rng.randrange(0, 101)), "scores")
    # more variety: pinyin names, mixed-case headers, further negatives
    add(
        "person_name",
        ["xingming", "applicant_name", "Name"],
        lambda: rng.choice(PINYIN_SURNAMES) + " " + rng.choice(PINYIN_GIVEN),
        "pinyin names",
    )
    add("person_name", ["申请人", "户主姓名", "c41"], zh.name, "faker zh_CN name")
    add(
        "address",
        ["注册地址", "c54", "经营场所地址"],
        lambda: zh.province() + zh.city() + zh.district() + zh.street_address(),
        "faker zh_CN composed address",
    )
    add("email", ["contact_email", "c55"], us.free_email, "faker free email")
    add("resident_id", ["公民身份号码", "c56"], resident_id, "gb11643")
    add("mobile", ["SJHM", "c57"], zh.phone_number, "faker zh_CN phone")
    add("none", ["c79", "keyword", "关键词"], zh.word, "faker zh_CN words")
    add("none", ["temperature", "c80"], lambda: f"{rng.uniform(-20, 40):.4f}", "temperatures")
    add("none", ["c81", "rank"], lambda: str(rng.randrange(1, 100000)), "ranks")
    add("none", ["c82", "batch_no"], lambda: "B" + digits(8, "0123456789"), "batch numbers")
    add(
        "none",
        ["c83", "sku"],
        lambda: "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(10)),
        "skus",
    )
    add("none", ["c84", "license_no"], lambda: digits(15), "15-digit licence numbers")
    add("none", ["c85", "道路名称", "road"], lambda: zh.street_name(), "road names")
    add("none", ["c86", "province"], zh.province, "provinces")
    add("none", ["c87", "district"], zh.district, "districts")
    add("none", ["c88", "sex", "性别"], lambda: rng.choice(["男", "女"]), "sex")
    add("none", ["c89", "bool_flag"], lambda: rng.choice(["Y", "N"]), "flags")
    add("none", ["c90", "code", "dm"], lambda: digits(4), "4-digit codes")
    add("none", ["c91", "time"], lambda: f"{rng.randrange(24):02d}:{rng.randrange(60):02d}", "times")
    add("none", ["c92", "title", "标题"], lambda: zh.sentence(nb_words=3), "titles")
    return cols


PINYIN_SURNAMES = [
    "Wang",
    "Li",
    "Zhang",
    "Liu",
    "Chen",
    "Yang",
    "Huang",
    "Zhao",
    "Wu",
    "Zhou",
    "Xu",
    "Sun",
    "Ma",
    "Zhu",
]
PINYIN_GIVEN = [
    "Wei",
    "Fang",
    "Na",
    "Xiuying",
    "Min",
    "Jing",
    "Qiang",
    "Lei",
    "Jun",
    "Yang",
    "Yong",
    "Yan",
    "Jie",
    "Tao",
    "Ming",
    "Chao",
    "Xiulan",
    "Xia",
    "Ping",
    "Gang",
    "Guiying",
    "Hua",
    "Hui",
    "Bo",
]


def main() -> None:
    cols = columns()
    table = pa.table(
        {
            "column_id": list(range(len(cols))),
            "name": [c[0] for c in cols],
            "label": [c[1] for c in cols],
            "source": [c[2] for c in cols],
            "values": [c[3] for c in cols],
        }
    )
    pq.write_table(table, OUT, compression="zstd")
    print(f"{len(cols)} columns → {OUT.name}")


if __name__ == "__main__":
    main()
