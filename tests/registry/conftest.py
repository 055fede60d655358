"""A small synthetic population as registry records with their derived columns written out by hand."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

import pyarrow as pa
import pytest
from pypinyin import lazy_pinyin

from shuzhi.registry.settings import parse_settings

SURNAMES = "王李张刘陈杨黄赵周吴"
# Characters of one reading: a clerk who hears the name may write any of them.
HOMOPHONES = [
    "伟玮炜",
    "丽莉俐",
    "静婧菁",
    "敏旻珉",
    "华桦骅",
    "芳钫枋",
    "玲琳苓",
    "红虹鸿",
    "军君钧",
    "燕艳妍",
]
DISTRICTS = {
    "330102": "上城区",
    "330105": "拱墅区",
    "330106": "西湖区",
    "330108": "滨江区",
    "330109": "萧山区",
}

PERSON_SETTINGS = {
    "name": "people",
    "kind": "person",
    "sources": [
        {"dataset": d, "key": "row", "mapping": {"name": "姓名", "ric": "身份证号", "birth_date": "出生日期",
                                                  "sex": "性别", "phone": "电话", "address": "住址"}}
        for d in ("psb", "hrss", "health")
    ],
    "identifiers": [{"column": "ric18", "valid": "ric_valid"}],
    "blocking": [{"columns": ["birth_date_norm"]}, {"columns": ["name_pinyin"]}, {"columns": ["phone_norm"]}],
    "comparisons": [
        {"column": "name_norm", "kind": "pinyin_hanzi", "pinyin_column": "name_pinyin", "thresholds": [0.88], "tf": True},
        {"column": "birth_date_norm", "kind": "date_difference", "thresholds": [31, 366], "typo_distance": 1},
        {"column": "sex_norm", "kind": "exact"},
        {"column": "phone_norm", "kind": "levenshtein", "thresholds": [1]},
        {"column": "addr_region_code", "kind": "prefix", "lengths": [4]},
        {"column": "ric", "kind": "levenshtein", "thresholds": [2]},
    ],
    "training": {
        "u": {"max_pairs": 200000, "seed": 7},
        "em_blocking": [{"columns": ["name_pinyin"]}, {"columns": ["birth_date_norm"]}],
        "prior": {"rules": [{"columns": ["name_norm", "birth_date_norm"]}], "recall": 0.6},
    },
    "thresholds": {"scale": "probability", "link": 0.9, "review": 0.5},
    "survivorship": {"name": "most_frequent", "ric": "valid_identifier"},
}  # fmt: skip


@dataclass
class Population:
    rows: list[dict] = field(default_factory=list)
    person_of: dict[str, int] = field(default_factory=dict)

    def add(self, person: int, dataset: str, **columns) -> str:
        key = f"{dataset}#{len(self.rows)}"
        self.rows.append({"record_key": key, "source_dataset": dataset, "source_version": 1,
                          "source_row": key.split("#")[1], **columns})  # fmt: skip
        self.person_of[key] = person
        return key

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=SCHEMA)

    def true_pairs(self) -> set[tuple[str, str]]:
        by_person: dict[int, list[str]] = {}
        for key, person in self.person_of.items():
            by_person.setdefault(person, []).append(key)
        return {(a, b) for keys in by_person.values() for a in keys for b in keys if a < b}


SCHEMA = pa.schema(
    [("record_key", pa.string()), ("source_dataset", pa.string()), ("source_version", pa.int64()),
     ("source_row", pa.string()), ("name", pa.string()), ("ric", pa.string()), ("birth_date", pa.string()),
     ("sex", pa.string()), ("phone", pa.string()), ("address", pa.string()), ("name_norm", pa.string()),
     ("name_pinyin", pa.string()), ("ric18", pa.string()), ("ric_valid", pa.bool_()),
     ("birth_date_norm", pa.string()), ("sex_norm", pa.string()), ("phone_norm", pa.string()),
     ("addr_region_code", pa.string())]
)  # fmt: skip


def record(name: str, born: date, sex: str, phone: str | None, region: str, ric: str | None, valid: bool,
           *, written: str | None = None) -> dict:  # fmt: skip
    """A record's raw and derived columns (`written`: the name as the source spelled it)."""
    iso = born.isoformat()
    return {
        "name": written or name, "ric": ric, "birth_date": iso, "sex": "男" if sex == "M" else "女",
        "phone": phone, "address": f"杭州市{DISTRICTS[region]}", "name_norm": name,
        "name_pinyin": pinyin(name), "ric18": ric if valid else None, "ric_valid": valid,
        "birth_date_norm": iso, "sex_norm": sex, "phone_norm": phone, "addr_region_code": region,
    }  # fmt: skip


@cache
def pinyin(name: str) -> str:
    return " ".join(lazy_pinyin(name))


def make_population(n: int = 400, seed: int = 11) -> Population:
    rnd = random.Random(seed)
    pop = Population()
    for person in range(n):
        given = "".join(rnd.choice(group)[0] for group in rnd.sample(HOMOPHONES, rnd.choice((1, 2))))
        name = rnd.choice(SURNAMES) + given
        born = date(1950, 1, 1) + timedelta(days=rnd.randrange(20000))
        sex = rnd.choice("MF")
        phone = f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}"
        region = rnd.choice(list(DISTRICTS))
        ric = f"{region}{born:%Y%m%d}{rnd.randrange(10000):04d}"
        pop.add(person, "psb", **record(name, born, sex, phone, region, ric, True))
        if rnd.random() < 0.7:
            spelled = _homophone(name, rnd) if rnd.random() < 0.3 else name
            has_ric = rnd.random() < 0.5
            pop.add(person, "hrss", **record(spelled, born, sex, phone if rnd.random() < 0.8 else None,
                                             region, ric if has_ric else None, has_ric))  # fmt: skip
        if rnd.random() < 0.5:
            moved = rnd.choice(list(DISTRICTS)) if rnd.random() < 0.2 else region
            typo = born + timedelta(days=1) if rnd.random() < 0.1 else born
            pop.add(person, "health", **record(name, typo, sex, phone, moved, None, False))
    return pop


def _homophone(name: str, rnd: random.Random) -> str:
    out = name[0]
    for ch in name[1:]:
        group = next(g for g in HOMOPHONES if ch in g)
        out += rnd.choice([c for c in group if c != ch])
    return out


@pytest.fixture(scope="session")
def person_settings():
    return parse_settings(PERSON_SETTINGS)


PLANTED = "planted"


@pytest.fixture(scope="session")
def population() -> Population:
    return planted_population()


def planted_population() -> Population:
    """The random population plus planted cases: two namesakes, a homophone and a traditional
    spelling, two strangers sharing an invalid identifier, two records sharing a valid one."""
    pop = make_population()
    base = 10_000
    zhang1 = record("张伟", date(1980, 3, 1), "M", "13800001111", "330102", None, False)
    zhang2 = record("张伟", date(1992, 11, 20), "M", "13900002222", "330108", None, False)
    pop.add(base + 1, "psb", **zhang1)
    pop.add(base + 1, "hrss", **zhang1)
    pop.add(base + 2, "psb", **zhang2)
    pop.add(base + 2, "health", **zhang2)
    wang = dict(born=date(1975, 6, 6), sex="F", phone="13711112222", region="330106", ric=None, valid=False)
    pop.add(base + 3, "psb", **record("王静", **wang))
    # The homophone carries no phone and a new district: only its name and birth date tie it.
    pop.add(base + 3, "hrss", **record("王婧", **{**wang, "phone": None, "region": "330109"}))
    pop.add(base + 3, "health", **record("王静", **wang, written="王靜"))
    bad_id = "33010219990101123X"
    # ric18 left filled beside a false flag: the flag alone decides whether it is a key.
    invalid = {"ric18": bad_id, "ric_valid": False}
    pop.add(
        base + 4,
        "psb",
        **record("李军", date(1960, 1, 2), "M", "13500000001", "330102", bad_id, False) | invalid,
    )
    pop.add(
        base + 5,
        "hrss",
        **record("赵燕", date(2001, 9, 9), "F", "18800000002", "330109", bad_id, False) | invalid,
    )
    good_id = "330105198808081234"
    pop.add(base + 6, "psb", **record("周华", date(1988, 8, 8), "M", "13600000003", "330105", good_id, True))
    pop.add(base + 6, "hrss", **record("吴芳", date(1970, 2, 2), "F", None, "330109", good_id, True))
    return pop


@pytest.fixture(scope="session")
def person_linkage(population, person_settings):
    from shuzhi.registry.linkage import link

    return link(person_settings, population.table())
