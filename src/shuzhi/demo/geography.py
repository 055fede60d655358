"""The demo city's real geography: GB/T 2260 codes of one city and its districts, read from python-stdnum.

The codes come from `stdnum.numdb.get('cn/loc')`, whose entries carry validity years
(`[1983-2021]下城区`). A district is *current* when its newest name has no end year. Street-level
names (街道, roads) are not in GB/T 2260; a short table of real ones per district keeps addresses
believable, with a generic fallback so a newer stdnum table cannot break generation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from stdnum import numdb

DEFAULT_CITY = "330100"
"""杭州市 (Hangzhou), 浙江省: eleven current county-level divisions in stdnum's table."""

_SPAN = re.compile(r"^\[(\d*)-(\d*)\](.*)$")
_OPEN_END = 9999

# Real 街道 and roads per district (not part of GB/T 2260). Unknown districts fall back to _GENERIC_*.
_STREETS: dict[str, tuple[str, ...]] = {
    "上城区": (
        "湖滨街道",
        "清波街道",
        "小营街道",
        "南星街道",
        "紫阳街道",
        "望江街道",
        "四季青街道",
        "笕桥街道",
    ),
    "拱墅区": (
        "米市巷街道",
        "湖墅街道",
        "小河街道",
        "和睦街道",
        "拱宸桥街道",
        "大关街道",
        "上塘街道",
        "祥符街道",
    ),
    "西湖区": (
        "北山街道",
        "西溪街道",
        "翠苑街道",
        "古荡街道",
        "文新街道",
        "灵隐街道",
        "转塘街道",
        "蒋村街道",
    ),
    "滨江区": ("西兴街道", "长河街道", "浦沿街道"),
    "萧山区": ("城厢街道", "北干街道", "蜀山街道", "新塘街道", "宁围街道", "闻堰街道"),
    "余杭区": ("五常街道", "闲林街道", "仓前街道", "余杭街道", "中泰街道", "良渚街道"),
    "富阳区": ("富春街道", "东洲街道", "银湖街道", "春江街道"),
    "临安区": ("锦城街道", "锦北街道", "玲珑街道", "青山湖街道"),
    "桐庐县": ("桐君街道", "旧县街道", "城南街道", "凤川街道"),
    "淳安县": ("千岛湖镇", "文昌镇", "石林镇", "威坪镇"),
    "建德市": ("新安江街道", "洋溪街道", "更楼街道", "梅城镇"),
}
_ROADS: dict[str, tuple[str, ...]] = {
    "上城区": ("延安路", "解放路", "庆春路", "清泰街", "中山中路", "望江路", "秋涛路", "凯旋路"),
    "拱墅区": ("莫干山路", "湖墅南路", "大关路", "上塘路", "丽水路", "绍兴路", "体育场路"),
    "西湖区": ("文一路", "文二路", "文三路", "教工路", "天目山路", "古墩路", "学院路", "留和路"),
    "滨江区": ("江南大道", "滨盛路", "江陵路", "长河路", "网商路", "月明路"),
    "萧山区": ("市心路", "金城路", "人民路", "山阴路", "通惠路", "晨晖路"),
    "余杭区": ("文一西路", "五常大道", "良睦路", "仓兴街", "海曙路", "荆长大道"),
    "富阳区": ("富春街", "金桥路", "江滨西大道", "桂花路"),
    "临安区": ("钱王街", "衣锦街", "万马路", "科技大道"),
    "桐庐县": ("迎春路", "白云源路", "学圣路", "富春路"),
    "淳安县": ("新安大街", "环湖北路", "睦州路", "青溪大道"),
    "建德市": ("新安路", "严州大道", "洋安路", "江滨中路"),
}
_GENERIC_STREETS = ("城东街道", "城西街道", "城南街道", "城北街道")
_GENERIC_ROADS = ("人民路", "解放路", "中山路", "建设路", "文化路", "新华路")

_SUCCESSORS = {"下城区": "拱墅区", "江干区": "上城区"}
"""Abolished districts (2021) and the current district most of their area went to: old addresses."""


@dataclass(frozen=True)
class Region:
    """One GB/T 2260 code and one name it carried in the years [start, end] (inclusive)."""

    code: str
    name: str
    start: int
    end: int

    def valid_in(self, year: int) -> bool:
        return self.start <= year <= self.end

    @property
    def stem(self) -> str:
        """The place name without its level suffix, to follow a county that became a district."""
        return re.sub(r"(自治县|新区|区|县|市)$", "", self.name)


@dataclass(frozen=True)
class District:
    """A current county-level division of the city, with real street names for addresses."""

    code: str
    name: str
    streets: tuple[str, ...]
    roads: tuple[str, ...]
    old_names: tuple[str, ...] = ()
    """Names of abolished districts now (mostly) inside this one, written on stale addresses."""


@dataclass(frozen=True)
class City:
    province_code: str
    province_name: str
    code: str
    name: str
    districts: tuple[District, ...]
    regions: tuple[Region, ...]
    """Every county-level code of the city with each name it had, current or historical."""

    def id_prefixes(self, district: District, year: int) -> list[str]:
        """Codes an ID number of someone born in `year` and registered in `district` may start with.

        Own code first, then the codes of the same place under an older name (萧山县 → 萧山区), then,
        for an urban district, the city's pre-1983 `市区` code: the codes in force in the birth year,
        which is what a GB 11643 number carries and what stdnum checks.
        """
        stem = Region(district.code, district.name, 0, 0).stem
        own = [r for r in self.regions if r.code == district.code and r.valid_in(year)]
        same = [r for r in self.regions if r.code != district.code and r.stem == stem and r.valid_in(year)]
        urban = (
            [r for r in self.regions if r.name == "市区" and r.valid_in(year)]
            if district.name.endswith("区")
            else []
        )
        return list(dict.fromkeys(r.code for r in own + same + urban))

    def any_prefixes(self, year: int) -> list[str]:
        """Every county-level code of the city in force in `year` (fallback for gaps in the table)."""
        return sorted({r.code for r in self.regions if r.valid_in(year) and r.name not in ("市辖区",)})


def _spans(text: str) -> list[tuple[int, int, str]]:
    out = []
    for part in text.split(","):
        m = _SPAN.match(part)
        if m:
            start, end, name = m.groups()
            out.append((int(start) if start else 0, int(end) if end else _OPEN_END, name))
        else:
            out.append((0, _OPEN_END, part))
    return out


def _county(db, code: str) -> str | None:
    parts = db.info(code)
    if len(parts) < 2 or parts[-1][0] != code[2:]:
        return None
    return parts[-1][1].get("county")


@cache
def load_city(code: str = DEFAULT_CITY) -> City:
    """Read one prefecture-level city and its divisions from stdnum's GB/T 2260 table."""
    db = numdb.get("cn/loc")
    province_name = db.info(code[:2] + "0000")[0][1]["province"]
    city_name = _county(db, code)
    if not city_name:
        raise ValueError(f"{code} is not a city in GB/T 2260 (stdnum cn/loc)")
    regions: list[Region] = []
    for n in range(1, 100):
        sub = f"{code[:4]}{n:02d}"
        text = _county(db, sub)
        if text:
            regions.extend(Region(sub, name, s, e) for s, e, name in _spans(text))
    current = [r for r in regions if r.end == _OPEN_END and r.name not in ("市辖区",)]
    old_by_successor: dict[str, list[str]] = {}
    for old, new in _SUCCESSORS.items():
        if any(r.name == old for r in regions):
            old_by_successor.setdefault(new, []).append(old)
    districts = tuple(
        District(
            code=r.code,
            name=r.name,
            streets=_STREETS.get(r.name, _GENERIC_STREETS),
            roads=_ROADS.get(r.name, _GENERIC_ROADS),
            old_names=tuple(old_by_successor.get(r.name, ())),
        )
        for r in sorted(current, key=lambda r: r.code)
    )
    return City(code[:2] + "0000", province_name, code, _strip_span(city_name), districts, tuple(regions))


def _strip_span(text: str) -> str:
    return _spans(text)[-1][2]
