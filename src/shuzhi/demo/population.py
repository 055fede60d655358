"""The demo city's true population: residents and enterprises as columns of numpy arrays.

These are the entities behind every department's records; departments then copy them with their
own spelling, staleness and mistakes (flaws.py). Everything is drawn from one numpy Generator per
concern, so a seed always gives the same city.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from faker.providers.person.zh_CN import Provider as ZhPerson

from shuzhi.demo.geography import City
from shuzhi.demo.identifiers import make_rics, make_uscc, random_org_bodies

MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159]
    + [177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 199]
)
ETHNIC_GROUPS = (
    ("汉族", 0.975),
    ("畲族", 0.006),
    ("回族", 0.005),
    ("土家族", 0.005),
    ("苗族", 0.005),
    ("满族", 0.004),
)

INDUSTRIES = (
    # GB/T 4754-2017 section, name, words used in firm names, share of firms
    ("A", "农、林、牧、渔业", ("农业科技", "生态农业", "茶业"), 0.03),
    ("C", "制造业", ("机械制造", "电子科技", "服饰", "食品", "新材料", "智能装备"), 0.16),
    ("E", "建筑业", ("建设工程", "建筑装饰", "市政工程"), 0.07),
    ("F", "批发和零售业", ("贸易", "商贸", "供应链管理"), 0.24),
    ("G", "交通运输、仓储和邮政业", ("物流", "运输", "快递服务"), 0.05),
    ("H", "住宿和餐饮业", ("餐饮管理", "酒店管理"), 0.05),
    ("I", "信息传输、软件和信息技术服务业", ("网络科技", "信息技术", "软件", "数据科技"), 0.12),
    ("K", "房地产业", ("房地产开发", "物业管理", "置业"), 0.04),
    ("L", "租赁和商务服务业", ("企业管理咨询", "广告", "会展服务"), 0.10),
    ("M", "科学研究和技术服务业", ("生物科技", "检测技术", "工程设计"), 0.07),
    ("O", "居民服务、修理和其他服务业", ("家政服务", "汽车维修"), 0.03),
    ("R", "文化、体育和娱乐业", ("文化传媒", "体育发展", "影视"), 0.04),
)
TRADE_CHARS = tuple(
    "恒泰华鑫盛达宏瑞兴源丰利信诚嘉汇元新金安博远科创力云智和祥德润康永正联众成宇东方明星海天"
)
UNIT_KINDS = {
    "91": "企业",
    "92": "个体工商户",
    "93": "农民专业合作社",
    "N2": "村级集体经济组织",
    "Y1": "其他组织",
}


@dataclass
class Residents:
    """One row per true person; index i is entity id ``P{i:07d}``."""

    name: np.ndarray
    given_len: np.ndarray
    male: np.ndarray
    birth: np.ndarray  # datetime64[D]
    ric: np.ndarray
    ethnic: np.ndarray
    phone: np.ndarray
    district: np.ndarray  # index into city.districts
    address: np.ndarray
    hukou_address: np.ndarray
    previous_address: np.ndarray  # "" when the person never moved
    status: np.ndarray  # 正常 | 死亡 | 迁出
    status_date: np.ndarray  # datetime64[D], NaT when status is 正常
    registered: np.ndarray  # datetime64[D], date of entry in the register

    def __len__(self) -> int:
        return len(self.name)

    def age(self, as_of: dt.date) -> np.ndarray:
        return (np.datetime64(as_of, "D") - self.birth).astype(int) // 365


@dataclass
class Enterprises:
    """One row per true market entity; index i is entity id ``E{i:07d}``."""

    name: np.ndarray
    trade_name: np.ndarray
    kind: np.ndarray  # key of UNIT_KINDS
    uscc: np.ndarray
    industry: np.ndarray  # index into INDUSTRIES
    capital: np.ndarray  # 万元
    founded: np.ndarray  # datetime64[D]
    district: np.ndarray
    address: np.ndarray
    legal_rep: np.ndarray  # resident index
    status: np.ndarray  # 存续 | 注销 | 吊销
    status_date: np.ndarray

    def __len__(self) -> int:
        return len(self.name)


def _choice(rng: np.random.Generator, options, n: int, p=None) -> np.ndarray:
    values = np.asarray(options, dtype=object)
    weights = None if p is None else np.asarray(p, dtype=float) / np.sum(p)
    return values[rng.choice(len(values), size=n, p=weights)]


def _addresses(rng: np.random.Generator, city: City, district: np.ndarray, with_room: bool) -> np.ndarray:
    n = len(district)
    out = np.empty(n, dtype=object)
    numbers = np.char.add(rng.integers(1, 600, n).astype(str), "号")
    if with_room:
        rooms = rng.integers(1, 25, n) * 100 + rng.integers(1, 5, n)
        tail = np.char.add(
            np.char.add(rng.integers(1, 30, n).astype(str), "幢"), rng.integers(1, 4, n).astype(str)
        )
        tail = np.char.add(np.char.add(tail, "单元"), np.char.add(rooms.astype(str), "室"))
        numbers = np.char.add(numbers, tail)
    for d_idx, d in enumerate(city.districts):
        sel = np.flatnonzero(district == d_idx)
        place = np.char.add(
            _choice(rng, d.streets, len(sel)).astype(str), _choice(rng, d.roads, len(sel)).astype(str)
        )
        out[sel] = np.char.add(np.char.add(f"{city.province_name}{city.name}{d.name}", place), numbers[sel])
    return out


def _given_names(rng: np.random.Generator, male: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(male)
    singles_m = [c for c in ZhPerson.first_names_male if len(c) == 1]
    singles_f = [c for c in ZhPerson.first_names_female if len(c) == 1]
    whole = np.where(
        male, _choice(rng, ZhPerson.first_names_male, n), _choice(rng, ZhPerson.first_names_female, n)
    )
    first = np.where(male, _choice(rng, singles_m, n), _choice(rng, singles_f, n))
    second = np.where(male, _choice(rng, singles_m, n), _choice(rng, singles_f, n))
    composed = rng.random(n) < 0.55
    given = np.where(composed, np.char.add(first.astype(str), second.astype(str)), whole.astype(str))
    return given, np.char.str_len(given)


def make_residents(rng: np.random.Generator, city: City, n: int, as_of: dt.date) -> Residents:
    male = rng.random(n) < 0.51
    surnames = list(ZhPerson.last_names.keys())
    surname = _choice(rng, surnames, n, p=list(ZhPerson.last_names.values())).astype(str)
    given, given_len = _given_names(rng, male)
    ages = np.arange(96)
    age_weight = np.where(
        ages < 15, 0.8, np.where(ages < 60, 1.45, np.maximum(0.05, 1.4 - (ages - 60) * 0.04))
    )
    age = rng.choice(ages, size=n, p=age_weight / age_weight.sum())
    birth = np.datetime64(as_of, "D") - (age * 365.25).astype(int) - rng.integers(1, 365, n)
    d_weight = np.linspace(1.6, 0.6, len(city.districts))
    district = rng.choice(len(city.districts), size=n, p=d_weight / d_weight.sum())
    prefix = _id_prefixes(rng, city, district, birth)
    ric = _unique_rics(rng, prefix, birth, male)
    ethnic = _choice(rng, [e for e, _ in ETHNIC_GROUPS], n, p=[w for _, w in ETHNIC_GROUPS]).astype(str)
    phone = np.char.add(
        _choice(rng, MOBILE_PREFIXES, n).astype(str), np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8)
    )
    phone = np.where(age < 12, "", phone)
    address = _addresses(rng, city, district, with_room=True)
    hukou = np.where(rng.random(n) < 0.75, address, _addresses(rng, city, district, with_room=True))
    moved = rng.random(n) < 0.2
    previous = np.where(moved, _addresses(rng, city, rng.integers(0, len(city.districts), n), True), "")
    roll = rng.random(n)
    old = age > 60
    status = np.where(old & (roll < 0.04), "死亡", np.where(roll > 0.995, "迁出", "正常"))
    status_date = np.where(
        status != "正常", np.datetime64(as_of, "D") - rng.integers(10, 5 * 365, n), np.datetime64("NaT", "D")
    )
    registered = np.maximum(birth + rng.integers(10, 120, n), np.datetime64("1985-01-01")).astype(
        "datetime64[D]"
    )
    return Residents(
        name=np.char.add(surname, given),
        given_len=given_len,
        male=male,
        birth=birth,
        ric=ric,
        ethnic=ethnic,
        phone=phone,
        district=district,
        address=address,
        hukou_address=hukou,
        previous_address=previous,
        status=status,
        status_date=status_date,
        registered=registered,
    )


def _id_prefixes(rng: np.random.Generator, city: City, district: np.ndarray, birth: np.ndarray) -> np.ndarray:
    years = birth.astype("datetime64[Y]").astype(int) + 1970
    out = np.zeros(len(district), dtype=np.int64)
    for d_idx, d in enumerate(city.districts):
        for year in np.unique(years[district == d_idx]):
            sel = np.flatnonzero((district == d_idx) & (years == year))
            own = city.id_prefixes(d, int(year))
            options = own[:1] or city.any_prefixes(int(year))
            out[sel] = np.asarray(options, dtype=np.int64)[rng.integers(0, len(options), len(sel))]
    return out


def _unique_rics(
    rng: np.random.Generator, prefix: np.ndarray, birth: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Order codes drawn until no two people share a number (odd for men, even for women)."""
    order = 2 * rng.integers(1, 499, len(prefix)) + male
    day = birth.astype(np.int64)
    while True:
        key = (prefix * 100_000 + day) * 1000 + order
        _, first = np.unique(key, return_index=True)
        clash = np.ones(len(key), dtype=bool)
        clash[first] = False
        if not clash.any():
            break
        order[clash] = 2 * rng.integers(1, 499, int(clash.sum())) + male[clash]
    return make_rics(prefix, birth, order)


def make_enterprises(
    rng: np.random.Generator, city: City, residents: Residents, m: int, as_of: dt.date
) -> Enterprises:
    kind = _choice(rng, list(UNIT_KINDS), m, p=[0.85, 0.1, 0.03, 0.01, 0.01]).astype(str)
    industry = rng.choice(
        len(INDUSTRIES), size=m, p=np.array([i[3] for i in INDUSTRIES]) / sum(i[3] for i in INDUSTRIES)
    )
    industry = np.where(np.isin(kind, ["93", "N2"]), 0, industry)
    founded = np.datetime64(as_of, "D") - (rng.exponential(7.0, m) * 365).astype(int).clip(30, 35 * 365)
    founded_year = founded.astype("datetime64[Y]").astype(int) + 1970
    d_weight = np.linspace(1.6, 0.6, len(city.districts))
    district = rng.choice(len(city.districts), size=m, p=d_weight / d_weight.sum())
    trade = _trade_names(rng, m)
    name = _firm_names(rng, city, kind, trade, industry, district)
    name, trade = _dedupe_names(rng, name, trade)
    uscc = _credit_codes(rng, city, kind, district, founded, founded_year)
    capital = np.round(np.exp(rng.normal(4.6, 1.3, m)), 0).clip(1, 500_000)
    capital = np.where(kind == "92", np.round(capital / 20, 1).clip(1, 50), capital)
    adult = np.flatnonzero((residents.age(as_of) >= 22) & (residents.status == "正常"))
    legal_rep = adult[rng.integers(0, len(adult), m)]
    roll = rng.random(m)
    status = np.where(roll < 0.07, "注销", np.where(roll < 0.10, "吊销", "存续"))
    span = (np.datetime64(as_of, "D") - founded).astype(int).clip(2, None)
    status_date = np.where(
        status != "存续", founded + (rng.random(m) * span).astype(int), np.datetime64("NaT", "D")
    )
    return Enterprises(
        name=name,
        trade_name=trade,
        kind=kind,
        uscc=uscc,
        industry=industry,
        capital=capital,
        founded=founded,
        district=district,
        address=_addresses(rng, city, district, with_room=False),
        legal_rep=legal_rep,
        status=status,
        status_date=status_date.astype("datetime64[D]"),
    )


def _trade_names(rng: np.random.Generator, m: int) -> np.ndarray:
    chars = np.array(TRADE_CHARS)
    a, b, c = (chars[rng.integers(0, len(chars), m)] for _ in range(3))
    two = np.char.add(a, b)
    return np.where(rng.random(m) < 0.3, np.char.add(two, c), two)


def _firm_names(rng, city: City, kind, trade, industry, district) -> np.ndarray:
    city_short = city.name.removesuffix("市")
    out = np.empty(len(kind), dtype=object)
    words = [i[2] for i in INDUSTRIES]
    suffix = _choice(rng, ["有限公司", "有限责任公司", "股份有限公司"], len(kind), p=[0.8, 0.15, 0.05])
    for i, (k, t, ind, d) in enumerate(
        zip(kind.tolist(), trade.tolist(), industry.tolist(), district.tolist(), strict=True)
    ):
        word = words[ind][i % len(words[ind])]
        dname = city.districts[d].name
        if k == "91":
            out[i] = f"{city_short}{t}{word}{suffix[i]}"
        elif k == "92":
            out[i] = f"{dname}{t}{('便利店', '面馆', '五金店', '理发店', '水果店')[i % 5]}"
        elif k == "93":
            out[i] = f"{city.name}{dname}{t}{('茶叶', '蔬菜', '水果', '养殖')[i % 4]}专业合作社"
        elif k == "N2":
            out[i] = f"{city.name}{dname}{t}村股份经济合作社"
        else:
            out[i] = f"{city.name}{t}{('商会', '行业协会联合体', '公益服务中心')[i % 3]}"
    return out


def _dedupe_names(rng, name: np.ndarray, trade: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Firm names are unique in a registry: a clash takes a third character in its trade name."""
    seen: dict[str, int] = {}
    chars = TRADE_CHARS
    for i, nm in enumerate(name.tolist()):
        while nm in seen:
            extra = chars[int(rng.integers(0, len(chars)))]
            new_trade = trade[i] + extra
            nm = nm.replace(trade[i], new_trade, 1)
            trade[i] = new_trade
        seen[nm] = i
        name[i] = nm
    return name, trade


def _credit_codes(rng, city: City, kind, district, founded, founded_year) -> np.ndarray:
    """Region part: the registering district; firms of merged districts keep their old code."""
    old_code = {r.name: r.code for r in city.regions}
    bodies = random_org_bodies(rng, founded_year)
    before_merger = founded < np.datetime64("2021-04-01")
    keep_old = rng.random(len(kind)) < 0.45
    out = np.empty(len(kind), dtype=object)
    seen: set[str] = set()
    for i, k in enumerate(kind.tolist()):
        d = city.districts[district[i]]
        region = d.code
        if d.old_names and before_merger[i] and keep_old[i]:
            region = old_code[d.old_names[0]]
        code = make_uscc(k[0], k[1], region, bodies[i])
        while code in seen:
            code = make_uscc(k[0], k[1], region, random_org_bodies(rng, founded_year[i : i + 1])[0])
        seen.add(code)
        out[i] = code
    return out
