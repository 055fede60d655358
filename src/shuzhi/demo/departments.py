"""The demo city's government: departments from province to district, and the demo users of each role."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from shuzhi.demo.geography import City


@dataclass(frozen=True)
class DepartmentSpec:
    code: str
    name_zh: str
    name_en: str
    level: str  # province · city · district
    region_code: str
    parent_code: str | None
    contact_email: str
    """Where the department's data office answers (example domain, never a real mailbox)."""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class UserSpec:
    username: str
    display_name: str
    department_code: str
    roles: tuple[str, ...]
    password: str
    """A demo password, printed after the build; never use the demo accounts outside a demo."""

    def to_dict(self) -> dict:
        return {**asdict(self), "roles": list(self.roles)}


# (short, zh name with {city}/{province}/{district}, en name with the same slots, level, parent short)
_DEPARTMENTS = (
    ("ZJ-DATA", "{province}数据局", "{province_en} Data Administration", "province", None),
    ("ZJ-PSB", "{province}公安厅", "{province_en} Public Security Department", "province", None),
    (
        "ZJ-SAMR",
        "{province}市场监督管理局",
        "{province_en} Administration for Market Regulation",
        "province",
        None,
    ),
    ("ZJ-TAX", "国家税务总局{province}税务局", "{province_en} Provincial Tax Service, STA", "province", None),
    ("HZ-DATA", "{city}数据资源管理局", "{city_en} Data Resources Bureau", "city", "ZJ-DATA"),
    ("HZ-PSB", "{city}公安局", "{city_en} Public Security Bureau", "city", "ZJ-PSB"),
    ("HZ-SAMR", "{city}市场监督管理局", "{city_en} Administration for Market Regulation", "city", "ZJ-SAMR"),
    ("HZ-TAX", "国家税务总局{city}税务局", "{city_en} Municipal Tax Service, STA", "city", "ZJ-TAX"),
    (
        "HZ-HRSS",
        "{city}人力资源和社会保障局",
        "{city_en} Human Resources and Social Security Bureau",
        "city",
        "HZ-DATA",
    ),
    ("HZ-HEALTH", "{city}卫生健康委员会", "{city_en} Health Commission", "city", "HZ-DATA"),
    ("HZ-CA", "{city}民政局", "{city_en} Civil Affairs Bureau", "city", "HZ-DATA"),
    ("HZ-STATS", "{city}统计局", "{city_en} Statistics Bureau", "city", "HZ-DATA"),
    ("HZ-SCI", "{city}科学技术局", "{city_en} Science and Technology Bureau", "city", "HZ-DATA"),
    ("HZ-TRANS", "{city}交通运输局", "{city_en} Transport Bureau", "city", "HZ-DATA"),
    ("HZ-NR", "{city}规划和自然资源局", "{city_en} Planning and Natural Resources Bureau", "city", "HZ-DATA"),
    (
        "HZ-HOUSING",
        "{city}住房保障和房产管理局",
        "{city_en} Housing Security and Real Estate Bureau",
        "city",
        "HZ-DATA",
    ),
    (
        "HZ-CREDIT",
        "{city}发展和改革委员会（信用办）",
        "{city_en} Development and Reform Commission (Credit Office)",
        "city",
        "HZ-DATA",
    ),
    (
        "HZ-XH-PSB",
        "{city}公安局{district}分局",
        "{district_en} Branch, {city_en} Public Security Bureau",
        "district",
        "HZ-PSB",
    ),
    (
        "HZ-XH-SAMR",
        "{district}市场监督管理局",
        "{district_en} Administration for Market Regulation",
        "district",
        "HZ-SAMR",
    ),
)
DISTRICT_OF_BRANCHES = "330106"
"""The district whose branches appear (西湖区): a province → city → district line for PSB and SAMR."""

_EN = {"浙江省": "Zhejiang", "杭州市": "Hangzhou", "西湖区": "Xihu District"}


def departments(city: City) -> list[DepartmentSpec]:
    district = next((d for d in city.districts if d.code == DISTRICT_OF_BRANCHES), city.districts[0])
    slots = {
        "province": city.province_name,
        "city": city.name,
        "district": district.name,
        "province_en": _EN.get(city.province_name, city.province_name),
        "city_en": _EN.get(city.name, city.name),
        "district_en": _EN.get(district.name, district.name),
    }
    region = {"province": city.province_code, "city": city.code, "district": district.code}
    out = []
    for code, zh, en, level, parent in _DEPARTMENTS:
        email = f"data-{code.lower()}@{city.code}.gov.example"
        out.append(
            DepartmentSpec(code, zh.format(**slots), en.format(**slots), level, region[level], parent, email)
        )
    return out


ANALYST_DEPARTMENTS = ("HZ-PSB", "HZ-SAMR", "HZ-TAX", "HZ-HRSS", "HZ-HEALTH", "HZ-CREDIT")
_STEWARD_NAMES = (
    "陈晓东",
    "王丽萍",
    "李建国",
    "张慧敏",
    "刘志强",
    "杨晓燕",
    "赵国平",
    "黄文静",
    "周海涛",
    "吴秀兰",
)


def demo_users(depts: list[DepartmentSpec], dataset_owners: set[str]) -> list[UserSpec]:
    """An admin and an auditor at the data bureau; a steward for every department with datasets;
    an analyst for several; each with a demo password."""
    users = [
        UserSpec("admin", "平台管理员", "HZ-DATA", ("admin",), "Demo!admin-2026"),
        UserSpec("auditor", "审计员", "HZ-DATA", ("auditor",), "Demo!auditor-2026"),
    ]
    owners = [d for d in depts if d.code in dataset_owners]
    for k, dept in enumerate(owners):
        short = dept.code.lower().removeprefix("hz-")
        name = _STEWARD_NAMES[k % len(_STEWARD_NAMES)]
        users.append(UserSpec(f"{short}.steward", name, dept.code, ("steward",), f"Demo!{short}-steward"))
        if dept.code in ANALYST_DEPARTMENTS:
            users.append(
                UserSpec(
                    f"{short}.analyst",
                    f"{dept.name_zh}分析员",
                    dept.code,
                    ("analyst",),
                    f"Demo!{short}-analyst",
                )
            )
    return users
