"""Normalised attributes of registry records: names, identifiers, dates, sex, phones, firm names, addresses.

Each field has a pure function that never raises on a bad value (it gives None / False instead);
`normalise_people` and `normalise_enterprises` add the derived columns of the registry contract to an
Arrow table, computing each distinct value of a column once and taking the results back per row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.classify.checksums import birth_date_of, gb11643_check_char, is_resident_id, is_uscc
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.registry.addresses import Address, match_regions, parse_address, short_name, split_number
from shuzhi.registry.variants import fold, pinyin

# --- person names -------------------------------------------------------------------------------

_NAME_NOISE = re.compile(r"[\s\u00b7\u2022\u2027\u2219\u22c5\u30fb\u2e31.\-_*]+")
"""Spaces (padding to fill a form's cells) and the middle dots between parts of a transcribed name."""
NO_NAME = frozenset({"不详", "未知", "无", "无名氏", "空", "NULL", "NONE", "NAN", "N/A", "NA"})
"""What a clerk types where the name is unknown: no name, so two unknowns are not one person."""


def normalise_name(value: object) -> str | None:
    """A person's name folded for comparison: simplified, variants folded, no spaces or middle dots,
    Latin letters in capitals (張　三 → 张三; 阿依古丽·买买提 → 阿依古丽买买提); None when empty or
    a placeholder (不详, 无)."""
    if value is None:
        return None
    text = _NAME_NOISE.sub("", fold(str(value))).upper()
    return text if text and text not in NO_NAME else None


def name_pinyin(norm: str | None) -> str | None:
    """Toneless pinyin of a normalised name, the surname read as a surname (单田芳 → "shan tian fang")."""
    return pinyin(norm, surname=True) or None if norm else None


def _person_name(value: object) -> tuple[str | None, str | None]:
    norm = normalise_name(value)
    return norm, name_pinyin(norm)


# --- identifiers --------------------------------------------------------------------------------

_ID_NOISE = re.compile(r"[\s\-'‘’]+")


def _id_text(value: object) -> str:
    text = str(value)
    return _ID_NOISE.sub("", text if text.isascii() else unicodedata.normalize("NFKC", text)).upper()


class ResidentId(NamedTuple):
    ric18: str | None = None
    valid: bool = False
    birth_date: str | None = None
    sex: str | None = None


def normalise_ric(value: object) -> ResidentId:
    """A resident ID checked by GB 11643 (checksum, date, region code); a valid 15-digit one upgraded
    to 18 digits. The birth date and sex it encodes are given apart from the record's own columns."""
    if value is None:
        return ResidentId()
    text = _id_text(value)
    if not is_resident_id(text):
        return ResidentId()
    if len(text) == 15:
        body = text[:6] + "19" + text[6:]
        text = body + gb11643_check_char(body)
    born = birth_date_of(text)
    return ResidentId(text, True, born.isoformat() if born else None, "M" if int(text[16]) % 2 else "F")


def normalise_uscc(value: object) -> tuple[str | None, bool]:
    """(the unified social credit code in capitals, True) when GB 32100 holds, else (None, False)."""
    if value is None:
        return None, False
    text = _id_text(value)
    return (text, True) if is_uscc(text) else (None, False)


# --- dates and sex ------------------------------------------------------------------------------

_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?(?:[ T]\d.*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)
EARLIEST, LATEST = 1850, 2100
"""Years a registry date may carry; outside them a value is a typing error or a placeholder."""


def _ymd(year: int, month: int, day: int) -> str | None:
    if not EARLIEST <= year <= LATEST:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _excel(serial: int) -> str | None:
    # Excel counts a 1900-02-29 that never was (serial 60): counted from 1899-12-30 the serials after
    # it are right, those before it one day short.
    if serial == 60 or not 1 <= serial <= 2_958_465:
        return None
    day = _EXCEL_EPOCH + dt.timedelta(days=serial if serial > 60 else serial + 1)
    return _ymd(day.year, day.month, day.day)


def parse_date(value: object) -> str | None:
    """ISO `YYYY-MM-DD` of 19900101, 1990-01-01, 1990/1/1, 1990.01.01, 1990年1月1日 (a time after it
    ignored), a date object, or an Excel serial day number; None when the date cannot be."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return _ymd(value.year, value.month, value.day)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return _excel(int(value)) if math.isfinite(value) and value > 0 else None
        value = int(value)
    text = value if isinstance(value, str) else str(value)
    text = unicodedata.normalize("NFKC", text).strip()
    m = _COMPACT.match(text) or _DATE.match(text)
    if m:
        return _ymd(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    # A number is an Excel serial day, except a bare year (1990), which is no date at all.
    if text.isdigit() and (isinstance(value, int) or len(text) == 5) and not EARLIEST <= int(text) <= LATEST:
        return _excel(int(text))
    return None


_SEX = {"男": "M", "男性": "M", "m": "M", "male": "M", "1": "M"}
_SEX |= {"女": "F", "女性": "F", "f": "F", "female": "F", "2": "F"}
"""GB/T 2261.1 codes (1 male, 2 female; 0 unknown and 9 unstated give None) and the words for them."""


def normalise_sex(value: object) -> str | None:
    """ "M", "F" or None."""
    text = _text(value)
    return None if text is None else _SEX.get(text.lower())


def _text(value: object) -> str | None:
    """A raw value as stripped NFKC text, a whole float without its ".0"; None for null or a bool."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


# --- phones -------------------------------------------------------------------------------------

_PHONE_SPLIT = re.compile(r"[,;/、，；|或]|\s{2,}")
_EXTENSION = re.compile(r"(?:转|分机|ext\.?|x|#)\s*\d*$", re.I)
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0[1-9]\d{8,10}$")
_LOCAL = re.compile(r"^[2-9]\d{6,7}$")
_SERVICE = re.compile(r"^[48]00\d{7}$")


def normalise_phone(value: object) -> str | None:
    """Digits of the first plausible phone number written: a mobile as its 11 digits (+86, 0086 and 86
    dropped), a landline with its area code (0571-8888 8888 → 057188888888), a local or 400/800
    number as is; an extension is dropped. None when no plausible number is there."""
    for part in _PHONE_SPLIT.split(_text(value) or ""):
        part = _EXTENSION.sub("", part.strip())
        if re.fullmatch(r"0\d{2,3}-\d{7,8}-\d{1,6}", part):  # 0571-88888888-123: extension after a dash
            part = part.rsplit("-", 1)[0]
        phone = _plausible_phone(re.sub(r"\D", "", part))
        if phone:
            return phone
    return None


def _plausible_phone(digits: str) -> str | None:
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) in (12, 13):
        digits = digits[2:]
    else:
        return next((digits for p in (_MOBILE, _LANDLINE, _LOCAL, _SERVICE) if p.match(digits)), None)
    if _MOBILE.match(digits):
        return digits
    landline = digits if digits.startswith("0") else "0" + digits
    return landline if _LANDLINE.match(landline) else None


# --- firm names ---------------------------------------------------------------------------------

FORMS: tuple[tuple[str, str], ...] = (
    # (as written at the end of a name, the organisational form it means). Company Law art. 7: a
    # limited liability company may write 有限责任公司 or 有限公司, a company limited by shares
    # 股份有限公司 or 股份公司. Partnership Enterprise Law art. 15, 62; Sole Proprietorship Enterprise
    # Law; Farmers' Specialised Co-operatives Law art. 14; 《个体工商户名称登记管理办法》 art. 9 for the
    # words of an individual business (厂, 店, 经营部, 工作室…). A group's 集团 stays in the core: a
    # group company and its same-named subsidiary are two legal persons.
    ("合伙企业(有限合伙)", "有限合伙企业"),
    ("合伙企业(普通合伙)", "普通合伙企业"),
    ("(特殊普通合伙)", "特殊普通合伙企业"),
    ("特殊普通合伙企业", "特殊普通合伙企业"),
    ("农民专业合作社联合社", "农民专业合作社联合社"),
    ("农民专业合作社", "农民专业合作社"),
    ("股份经济合作社", "股份经济合作社"),
    ("有限合伙企业", "有限合伙企业"),
    ("普通合伙企业", "普通合伙企业"),
    ("个人独资企业", "个人独资企业"),
    ("股份有限公司", "股份有限公司"),
    ("有限责任公司", "有限责任公司"),
    ("(有限合伙)", "有限合伙企业"),
    ("(普通合伙)", "普通合伙企业"),
    ("(个人独资)", "个人独资企业"),
    ("专业合作社", "农民专业合作社"),
    ("经济合作社", "经济合作社"),
    ("个体工商户", "个体工商户"),
    ("有限公司", "有限责任公司"),
    ("股份公司", "股份有限公司"),
    ("经营部", "经营部"),
    ("工作室", "工作室"),
    ("门市部", "门市部"),
    ("经销部", "经销部"),
    ("服务部", "服务部"),
    ("商行", "商行"),
    ("公司", "公司"),
    ("厂", "厂"),
    ("店", "店"),
)
BRANCHES = (
    "分公司",
    "分店",
    "营业部",
    "分厂",
    "办事处",
    "分行",
    "支行",
    "分理处",
    "代表处",
    "分所",
    "分部",
    "分社",
    "分中心",
    "分场",
    "储蓄所",
)
"""Words that end the name of a branch office: a branch is not the firm it belongs to."""
INDUSTRY_WORDS = (
    # Words that state the industry in a name (行业表述, after the sections of GB/T 4754-2017): when
    # one directly follows a region word, that word was the trade name (嘉兴建筑装饰有限公司).
    "科技", "技术", "信息", "网络", "软件", "数据", "智能", "电子", "通信", "电器", "机械", "设备",
    "制造", "材料", "新材料", "化工", "纺织", "服饰", "服装", "食品", "医药", "生物", "农业", "林业",
    "牧业", "渔业", "茶业", "养殖", "种植", "建设", "建筑", "工程", "装饰", "市政", "园林", "贸易",
    "商贸", "商务", "进出口", "供应链", "实业", "物流", "运输", "快递", "仓储", "餐饮", "酒店", "旅游",
    "房地产", "置业", "物业", "投资", "资产", "金融", "咨询", "管理", "广告", "会展", "文化", "传媒",
    "影视", "体育", "教育", "培训", "健康", "医疗", "检测", "设计", "家政", "汽车", "能源", "环保",
    "环境", "生态", "企业", "印刷", "包装", "家具", "五金", "劳务", "人力资源", "电子商务", "服务",
)  # fmt: skip
_INNER_FORM = re.compile(r"^(.*(?:股份有限公司|有限责任公司|有限公司|股份公司|公司))(.+)$")
_BRACKETS = str.maketrans(
    {"【": "(", "】": ")", "〔": "(", "〕": ")", "[": "(", "]": ")", "{": "(", "}": ")"}
)
_SPACES = re.compile(r"\s+")
_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f]) | (?=[^\x00-\x7f])")
_TAIL_BRACKET = re.compile(r"\(([^()]+)\)$")


def normalise_firm_name(value: object) -> str | None:
    """A firm name folded: half-width, simplified, brackets as (), spaces only between Latin words."""
    if value is None:
        return None
    text = _SPACES.sub(" ", fold(str(value)).translate(_BRACKETS)).strip()
    return _CJK_SPACE.sub("", text).upper() or None


class Firm(NamedTuple):
    name_norm: str | None = None
    core: str | None = None
    form: str | None = None
    region: str | None = None
    pinyin: str | None = None
    branch: bool | None = None


def _region_words(found) -> list[str]:
    return [short_name(region.name) or region.name for region, _, _ in found]


_LONGEST_FIRST = sorted(FORMS, key=lambda f: -len(f[0]))


def _strip_form(core: str) -> tuple[str, str | None]:
    for written, form in _LONGEST_FIRST:
        if core.endswith(written) and len(core) - len(written) >= (2 if len(written) == 1 else 1):
            return core[: -len(written)], form
    return core, None


def _strip_region_prefix(rest: str, bracketed: bool) -> tuple[str, list[str]]:
    """The name without the region words it starts with, unless they are its trade name: a region
    already given in brackets, an industry word right after, or nothing left after them."""
    found, pos = match_regions(rest)
    while found and (bracketed or len(rest) - pos < 2 or rest.startswith(INDUSTRY_WORDS, pos)):
        found = found[:-1]
        pos = sum(len(w) for _, _, w in found)
    return rest[pos:], _region_words(found)


def _strip_bracket_region(core: str) -> tuple[str, list[str]]:
    m = _TAIL_BRACKET.search(core)
    if m and m.start() >= 2:
        if m.group(1) == "中国":  # 某某(中国)有限公司: the country, written where a region would be
            return core[: m.start()], ["中国"]
        found, pos = match_regions(m.group(1))
        if found and pos == len(m.group(1)):
            return core[: m.start()], _region_words(found)
    return core, []


def split_firm_name(value: object) -> Firm:
    """A firm name split into core (no region prefix, no organisational form), form, region, branch.

    A name is region + trade name + industry + form (《企业名称登记管理规定》 art. 6), the region
    also allowed in brackets after the trade name: 杭州恒达科技有限公司, 恒达科技(杭州)有限公司 and
    恒达科技有限责任公司 share the core 恒达科技, while 嘉兴科技有限公司 keeps 嘉兴 as its trade name. A
    branch (…分公司, …分行) keeps the part after its parent's name in its core, so 某某银行杭州分行
    never has the core of 某某银行.
    """
    norm = normalise_firm_name(value)
    if norm is None:
        return Firm()
    branch = norm.endswith(BRANCHES)
    rest, tail = norm, ""
    if branch:
        inner = _INNER_FORM.match(norm)
        rest, tail = (inner.group(1), inner.group(2)) if inner else (norm, "")
    form, bracketed = None, []
    if not branch or tail:
        rest, bracketed = _strip_bracket_region(rest)
        rest, form = _strip_form(rest)
        if not bracketed:
            rest, bracketed = _strip_bracket_region(rest)
    core, regions = _strip_region_prefix(rest, bool(bracketed))
    core = core.replace("(集团)", "集团") + tail
    return Firm(norm, core, form, "".join(regions + bracketed) or None, pinyin(core) or None, branch)


# --- addresses ----------------------------------------------------------------------------------

_COUNTRY = re.compile(r"^(?:中华人民共和国|中国)")
_ADDRESS_SIGNS = {**_BRACKETS, **{ord(c): None for c in " \t\r\n\u00a0\u3000"}}


def _clean_address(text: str) -> str:
    return fold(text).translate(_ADDRESS_SIGNS)


@lru_cache(maxsize=200_000)
def _address_head(raw: str) -> tuple[Address, str | None]:
    clean = _COUNTRY.sub("", _clean_address(raw))
    return parse_address(clean), split_number(clean)[1]


def normalise_address(value: object) -> Address:
    """An address parsed into GB/T 2260 levels, street and house number (see `registry.addresses`).

    The text before the house number repeats across a city's addresses: it is parsed once."""
    if value is None:
        return Address()
    raw_head, raw_number = split_number(str(value))
    head, number = _address_head(raw_head)
    number = (number or "") + (_clean_address(raw_number) if raw_number else "")
    if not any(head) and not number:
        return Address()
    return head._replace(number=number or None)


# --- tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Derived:
    """Columns computed from one raw column: `fn` maps a value to one output per column."""

    source: str
    fn: Callable[[object], Sequence]
    columns: tuple[tuple[str, pa.DataType], ...]
    fill: dict[str, object] | None = None
    """Values for rows whose raw value is null (else null)."""


_ADDRESS_COLUMNS = tuple(
    (f"addr_{part}", pa.string())
    for part in ("province", "city", "district", "street", "number", "region_code")
)
_ADDRESS = Derived("address", normalise_address, _ADDRESS_COLUMNS)
_PHONE = Derived("phone", lambda v: (normalise_phone(v),), (("phone_norm", pa.string()),))

PEOPLE = (
    Derived("name", _person_name, (("name_norm", pa.string()), ("name_pinyin", pa.string()))),
    Derived(
        "ric",
        normalise_ric,
        (
            ("ric18", pa.string()),
            ("ric_valid", pa.bool_()),
            ("ric_birth_date", pa.string()),
            ("ric_sex", pa.string()),
        ),
        fill={"ric_valid": False},
    ),
    Derived("birth_date", lambda v: (parse_date(v),), (("birth_date_norm", pa.string()),)),
    Derived("sex", lambda v: (normalise_sex(v),), (("sex_norm", pa.string()),)),
    _PHONE,
    _ADDRESS,
)
ENTERPRISES = (
    Derived(
        "name",
        split_firm_name,
        (
            ("name_norm", pa.string()),
            ("firm_core", pa.string()),
            ("firm_form", pa.string()),
            ("firm_region", pa.string()),
            ("firm_pinyin", pa.string()),
            ("firm_branch", pa.bool_()),
        ),
    ),
    Derived(
        "uscc",
        normalise_uscc,
        (("uscc_norm", pa.string()), ("uscc_valid", pa.bool_())),
        fill={"uscc_valid": False},
    ),
    Derived("legal_rep", _person_name, (("legal_rep_norm", pa.string()), ("legal_rep_pinyin", pa.string()))),
    Derived("established", lambda v: (parse_date(v),), (("established_norm", pa.string()),)),
    _PHONE,
    _ADDRESS,
)


def _per_distinct(column: pa.ChunkedArray, derived: Derived) -> list[pa.Array]:
    """Each distinct value through `derived.fn` once, the results taken back to every row."""
    encoded = pc.dictionary_encode(column.combine_chunks())
    results = [derived.fn(v) for v in encoded.dictionary.to_pylist()]
    out = []
    for i, (name, kind) in enumerate(derived.columns):
        values = pa.array([r[i] for r in results], kind).take(encoded.indices)
        fill = (derived.fill or {}).get(name)
        out.append(values.fill_null(fill) if fill is not None else values)
    return out


def _normalise(table: pa.Table, specs: tuple[Derived, ...], kind: str) -> pa.Table:
    if "record_key" not in table.column_names:
        raise InvalidInput(
            M_("registry %(kind)s records: the column record_key is missing", kind=kind),
            where="record_key",
        )
    for derived in specs:
        if derived.source in table.column_names:
            arrays = _per_distinct(table.column(derived.source), derived)
        else:
            arrays = [pa.nulls(table.num_rows, t) for _, t in derived.columns]
        for (name, kind_), array in zip(derived.columns, arrays, strict=True):
            field = pa.field(name, kind_)
            if name in table.column_names:
                table = table.set_column(table.column_names.index(name), field, array)
            else:
                table = table.append_column(field, array)
    return table


def normalise_people(table: pa.Table) -> pa.Table:
    """The person records with the contract's derived columns added (or replaced): name_norm,
    name_pinyin, ric18, ric_valid, ric_birth_date, ric_sex, birth_date_norm, sex_norm, phone_norm and
    addr_*. A raw column the table lacks gives null derived columns."""
    return _normalise(table, PEOPLE, "people")


def normalise_enterprises(table: pa.Table) -> pa.Table:
    """The enterprise records with name_norm, firm_core, firm_form, firm_region, firm_pinyin (of the
    core), firm_branch, uscc_norm, uscc_valid, legal_rep_norm, legal_rep_pinyin, established_norm,
    phone_norm and addr_* added (or replaced)."""
    return _normalise(table, ENTERPRISES, "enterprises")
