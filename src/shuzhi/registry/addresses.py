"""Chinese addresses parsed into province, city, district, street and number against GB/T 2260 names.

The names come from python-stdnum's `cn/loc` table (the codes `shuzhi.quality.regions` enumerates),
each with the years it was in force, so an address written with an abolished district (下城区, merged
in 2021) still finds its code. Names match in full (浙江省, 杭州市, 西湖区) and short (浙江, 杭州, 西湖)
form; a short district name counts only after its city or province, and no short name counts when a
road word follows it (中山路 is a road, not 中山市).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import NamedTuple

from shuzhi.quality.regions import OPEN, spans

_SPAN = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
_PSEUDO = re.compile(r"^(市辖区|市区|县|辖区)$|直辖")
"""Rows of the code table that are groupings, not places a person writes in an address."""

PROVINCE_SHORT = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
# The 55 ethnic minorities of the State Ethnic Affairs Commission's list, as autonomous areas name them.
_ETHNIC = (
    "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼", "哈萨克", "傣", "黎",
    "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土", "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南",
    "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克", "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春",
    "赫哲", "门巴", "珞巴", "基诺",
)  # fmt: skip
_AUTONOMOUS = re.compile(
    r"^(.{2,}?)(?:(?:" + "|".join(sorted(_ETHNIC, key=len, reverse=True)) + r")族?)+自治(?:区|州|县|旗)$"
)
_LEVEL_WORD = re.compile(r"(?:特别行政区|自治区|自治州|自治县|自治旗|地区|林区|新区|省|市|区|县|州|盟|旗)$")
_ROADISH = set("路街道巷弄里村镇乡桥港湾站口")
"""A short name followed by one of these is part of a road or place name (中山路, 西湖村)."""
_NUMBER = re.compile(r"\d+(?:[-—－之]\d+)*(?:号楼|号院|号|弄|栋|幢|单元|室|楼|层|座|號|樓|棟|單元)")
"""A house number and what follows it; traditional forms too, to split an address before folding it."""
MUNICIPALITIES = ("11", "12", "31", "50")
_TOWNSHIP = re.compile(r"^.+?(?:街道|镇|乡)((?![路街巷道弄]).{1,}?(?:大道|大街|路|街|巷))$")


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: int  # 1 province, 2 prefecture-level city, 3 county-level district/county/city
    end: int  # last year in force (OPEN when still in force)

    @property
    def scope(self) -> str:
        """The code prefix of everything inside this region."""
        return self.code[: 2 * self.level]


def short_name(name: str) -> str | None:
    """The name without its level word (浙江省→浙江, 延边朝鲜族自治州→延边), or None when too short."""
    if name in PROVINCE_SHORT:
        return PROVINCE_SHORT[name]
    m = _AUTONOMOUS.match(name)
    short = m.group(1) if m else _LEVEL_WORD.sub("", name)
    return short if len(short) >= 2 and short != name else None


def _names(text: str) -> list[tuple[int, str]]:
    out = []
    for part in text.split(","):
        m = _SPAN.match(part)
        out.append((int(m.group(2) or OPEN), m.group(3)) if m else (OPEN, part))
    return out


@cache
def _index() -> tuple[dict[str, list[Region]], dict[str, list[Region]], dict[str, Region]]:
    """(full name → regions, short name → regions, code → its newest region)."""
    from stdnum import numdb

    db = numdb.get("cn/loc")
    full: dict[str, list[Region]] = {}
    short: dict[str, list[Region]] = {}
    newest: dict[str, Region] = {}
    for code in sorted(spans()):
        props = db.info(code)[-1][1]
        text = props.get("county") or props.get("province")
        if not text:
            continue
        level = 1 if code.endswith("0000") else 2 if code.endswith("00") else 3
        for end, name in _names(text):
            if _PSEUDO.search(name):
                continue
            region = Region(code, name, level, end)
            full.setdefault(name, []).append(region)
            if (s := short_name(name)) is not None:
                short.setdefault(s, []).append(region)
            if code not in newest or end >= newest[code].end:
                newest[code] = region
    return full, short, newest


@cache
def _longest() -> int:
    full, short, _ = _index()
    return max(len(n) for n in [*full, *short])


def _pick(regions: list[Region], inside: Region | None, level: int) -> list[Region]:
    """Candidates deeper than `level` and inside the region found so far; a code's newest name first."""
    out = [r for r in regions if r.level > level and (inside is None or r.code.startswith(inside.scope))]
    return sorted(out, key=lambda r: (r.level, -r.end))


def _resolve(cands: list[Region]) -> tuple[Region, bool]:
    """The region meant, and whether it is certain: one code, several codes of one city, or one code
    in force among names now gone (仙桃市 once had a code under 荆州; 西湖区 stays uncertain)."""
    first = cands[0]
    same = [r for r in cands if r.level == first.level]
    places = {r.code[:4] if r.level == 3 else r.code for r in same}
    current = {r.code for r in same if r.end == OPEN}
    return first, len(places) == 1 or (len(current) == 1 and first.end == OPEN)


def match_regions(text: str, start: int = 0) -> tuple[list[tuple[Region, bool, str]], int]:
    """Region names at the head of `text`, outermost first: (region, certain, as written) each, and
    where the rest begins. An uncertain region (西湖区 alone: Hangzhou or Nanchang) is named, not coded."""
    full, short, _ = _index()
    found: list[tuple[Region, bool, str]] = []
    pos, level, inside = start, 0, None
    while pos < len(text) and level < 3:
        hit = None
        for k in range(min(_longest(), len(text) - pos), 1, -1):
            word = text[pos : pos + k]
            cands = _pick(full[word], inside, level) if word in full else []
            if not cands and word in short and text[pos + k : pos + k + 1] not in _ROADISH:
                cands = [r for r in _pick(short[word], inside, level) if r.level < 3 or inside is not None]
            if cands:
                hit = (cands, word)
                break
        if hit is None:
            break
        region, certain = _resolve(hit[0])
        found.append((region, certain, hit[1]))
        pos += len(hit[1])
        level = region.level
        inside = region if certain else inside
    return found, pos


def region_name(code: str) -> str | None:
    """The newest name of a code (provinces and prefecture cities; None for groupings)."""
    region = _index()[2].get(code)
    return region.name if region else None


class Address(NamedTuple):
    province: str | None = None
    city: str | None = None
    district: str | None = None
    street: str | None = None
    number: str | None = None
    region_code: str | None = None


def _levels(found: list[tuple[Region, bool, str]]) -> dict[int, str]:
    """Names per level: the ones written, and above the most specific certain code the ones it implies."""
    names = {region.level: region.name for region, _, _ in found}
    coded = [region for region, certain, _ in found if certain]
    if coded:
        code = coded[-1].code
        province = code[:2] + "0000"
        names.setdefault(1, region_name(province))
        if coded[-1].level == 3:
            city = region_name(code[:4] + "00") or (
                region_name(province) if code[:2] in MUNICIPALITIES else None
            )
            names.setdefault(2, city)
        elif coded[-1].level == 2 or code[:2] in MUNICIPALITIES:
            names.setdefault(2, region_name(code[:4] + "00") or region_name(province))
    return names


@lru_cache(maxsize=200_000)
def parse_head(head: str) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(province, city, district, street, region code) of an address without its house number."""
    found, pos = match_regions(head)
    names = _levels(found)
    coded = [region.code for region, certain, _ in found if certain]
    return names.get(1), names.get(2), names.get(3), street_of(head[pos:]), coded[-1] if coded else None


def street_of(rest: str) -> str | None:
    """The street of what follows the regions: the road (路/街/巷/大道) when a township (街道/镇/乡)
    is written before it, since one register writes the township and the next leaves it out; else
    the township (千岛湖镇), else the text as written."""
    rest = rest.strip(",、 ")
    m = _TOWNSHIP.match(rest)
    return m.group(1) if m else rest or None


def split_number(text: str) -> tuple[str, str | None]:
    """(the address up to its house number, the number with 弄/栋/幢/单元/室 kept) ."""
    m = _NUMBER.search(text)
    if m is None:
        return text, None
    return text[: m.start()], text[m.start() :]


def parse_address(clean: str) -> Address:
    """Parse an address already folded (half-width, simplified, no spaces)."""
    head, number = split_number(clean)
    province, city, district, street, code = parse_head(head)
    return Address(province, city, district, street, number, code)
