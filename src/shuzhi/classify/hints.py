"""Column-name hints: which names suggest which category (Chinese, pinyin initials, English), tunable per deployment."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

# Chinese hints match as substrings; Latin ones as whole tokens of the normalised name, so "code" in
# ACADEMIC_YEAR_CODE or "name" inside "filename" never counts.
DEFAULT_HINTS: dict[str, tuple[str, ...]] = {
    "resident_id": (
        "身份证",
        "公民身份号码",
        "证件号",
        "sfz",
        "sfzh",
        "sfzhm",
        "zjhm",
        "id_card",
        "idcard",
        "id_no",
        "id_number",
        "idno",
        "citizen_id",
        "national_id",
    ),
    "uscc": ("统一社会信用代码", "信用代码", "tyshxydm", "xydm", "uscc", "credit_code", "social_credit_code"),
    "org_code": ("组织机构代码", "机构代码", "zzjgdm", "org_code", "organization_code"),
    "mobile": (
        "手机",
        "移动电话",
        "联系电话",
        "联系方式",
        "电话",
        "sjhm",
        "sjh",
        "lxdh",
        "lxfs",
        "dh",
        "mobile",
        "cellphone",
        "phone",
        "tel",
        "telephone",
        "phone_number",
    ),
    "phone": (
        "电话",
        "固话",
        "座机",
        "办公电话",
        "联系电话",
        "lxdh",
        "gddh",
        "bgdh",
        "dh",
        "tel",
        "phone",
        "telephone",
        "landline",
        "fax",
        "phone_number",
    ),
    "bank_card": (
        "银行卡",
        "卡号",
        "yhkh",
        "kh",
        "bank_card",
        "card_no",
        "card_number",
        "credit_card",
        "pan",
    ),
    "financial_account": (
        "账号",
        "账户",
        "帐号",
        "帐户",
        "开户",
        "zhhm",
        "yhzh",
        "account",
        "account_no",
        "acct",
        "iban",
        "bank_account",
    ),
    "email": ("邮箱", "电子邮件", "邮件", "dzyx", "yx", "email", "e_mail", "mail"),
    "ip_address": ("ip", "ip地址", "ip_addr", "ip_address", "ipv4", "ipv6", "client_ip", "remote_addr"),
    "mac_address": ("mac", "mac地址", "mac_addr", "mac_address", "物理地址"),
    "vehicle_plate": ("车牌", "号牌", "cph", "hphm", "plate", "license_plate", "plate_no"),
    "passport": ("护照", "hzhm", "hz", "passport", "passport_no"),
    "hk_macao_permit": ("港澳通行证", "通行证", "gatxz", "txz", "permit", "hk_macao_permit"),
    "social_security": (
        "社保",
        "社会保障",
        "医保",
        "sbkh",
        "sbh",
        "shbzh",
        "ssn",
        "social_security",
        "insurance_no",
    ),
    "birth_date": (
        "出生",
        "生日",
        "出生日期",
        "csrq",
        "csny",
        "出生年月",
        "sr",
        "birth",
        "birthday",
        "birthdate",
        "dob",
        "date_of_birth",
        "birth_date",
    ),
    "person_name": (
        "姓名",
        "名字",
        "联系人",
        "法定代表人",
        "法人代表",
        "负责人",
        "申请人",
        "applicant",
        "户主",
        "患者",
        "持卡人",
        "监护人",
        "xm",
        "lxr",
        "fddbr",
        "xingming",
        "name",
        "full_name",
        "person_name",
        "first_name",
        "last_name",
        "contact",
        "contact_name",
        "patient_name",
    ),
    "address": (
        "地址",
        "住址",
        "住所",
        "居住地",
        "户籍地",
        "详细地址",
        "dz",
        "jzdz",
        "zz",
        "hjdz",
        "xxdz",
        "address",
        "addr",
        "street",
        "residence",
        "home_address",
    ),
    "gps": (
        "经度",
        "纬度",
        "经纬度",
        "坐标",
        "jd",
        "wd",
        "jwd",
        "lat",
        "lng",
        "lon",
        "latitude",
        "longitude",
        "gps",
        "coordinates",
        "coord",
        "geo",
    ),
    "medical": (
        "诊断",
        "疾病",
        "病史",
        "病名",
        "病情",
        "既往史",
        "过敏史",
        "icd",
        "jbmc",
        "zdmc",
        "zdbm",
        "zddm",
        "zd",
        "diagnosis",
        "disease",
        "condition",
        "icd10",
        "icd_10",
        "illness",
        "medical",
    ),
    "religion": ("宗教", "信仰", "zjxy", "religion", "faith", "religious"),
    "ethnicity": ("民族", "族别", "mz", "ethnicity", "ethnic", "ethnic_group", "nation"),
    "biometric": (
        "指纹",
        "人脸",
        "面部",
        "虹膜",
        "声纹",
        "掌纹",
        "基因",
        "zw",
        "rl",
        "fingerprint",
        "face",
        "face_id",
        "iris",
        "voiceprint",
        "biometric",
        "palmprint",
        "dna",
    ),
    "whereabouts": (
        "轨迹",
        "行程",
        "行踪",
        "途经",
        "到访",
        "出行",
        "打卡地点",
        "定位",
        "位置",
        "gj",
        "xc",
        "trajectory",
        "track",
        "trip",
        "whereabouts",
        "checkin",
        "location",
        "visited",
    ),
}

NEGATIVE_HINTS: dict[str, tuple[str, ...]] = {
    # A "名称" column names things, not people: facilities, companies, places.
    "person_name": (
        "名称",
        "单位",
        "机构",
        "企业",
        "公司",
        "设施",
        "地名",
        "场所",
        "医院",
        "学校",
        "站点",
        "mc",
        "dwmc",
        "company",
        "org",
        "organization",
        "facility",
        "place",
        "station",
        "site",
        "product",
        "street",
        "city",
        "file",
        "filename",
        "username",
        "user_name",
        "host",
        "hostname",
    ),
    "mobile": ("订单", "单号", "编号", "order", "serial"),
    "bank_card": ("订单", "单号", "流水", "order", "serial", "tracking"),
    "birth_date": ("登记", "注册", "成立", "发证", "created", "updated"),
}

_CJK = re.compile(r"[\u3400-\u9fff]")


def normalise(name: str) -> str:
    """Lower-case tokens joined by '_' and wrapped in '_', e.g. 'AcademicYearCode' → '_academic_year_code_'."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip())
    tokens = [t for t in re.split(r"[^0-9a-zA-Z\u3400-\u9fff]+", spaced.lower()) if t]
    return "_" + "_".join(tokens) + "_"


def _matches(norm: str, hint: str) -> bool:
    if _CJK.search(hint):
        return hint.lower() in norm
    return "_" + normalise(hint).strip("_") + "_" in norm


class NameHints:
    """Hints per category with a deployment's additions and removals applied."""

    def __init__(
        self,
        positive: Mapping[str, Iterable[str]] | None = None,
        negative: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        self.positive = {k: tuple(v) for k, v in (positive or DEFAULT_HINTS).items()}
        self.negative = {k: tuple(v) for k, v in (negative or NEGATIVE_HINTS).items()}

    def extend(self, category: str, hints: Iterable[str], negative: bool = False) -> None:
        table = self.negative if negative else self.positive
        table[category] = tuple(dict.fromkeys((*table.get(category, ()), *hints)))

    def remove(self, category: str, hints: Iterable[str]) -> None:
        drop = set(hints)
        self.positive[category] = tuple(h for h in self.positive.get(category, ()) if h not in drop)

    def negated(self, column: str, category: str) -> bool:
        """The column name rules the category out (e.g. 设施名称 is never a person's name)."""
        norm = normalise(column)
        return any(_matches(norm, h) for h in self.negative.get(category, ()))

    def hint_for(self, column: str, category: str, extra: Iterable[str] = ()) -> str | None:
        """The hint that ties the column name to the category, or None (also None on a negative hint)."""
        norm = normalise(column)
        if any(_matches(norm, h) for h in self.negative.get(category, ())):
            return None
        for hint in (*extra, *self.positive.get(category, ())):
            if _matches(norm, hint):
                return hint
        return None
