"""Every comparison kind of the settings runs in DuckDB through Splink, on an enterprise registry."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pyarrow as pa
from pypinyin import lazy_pinyin

from shuzhi.registry.explain import explain
from shuzhi.registry.linkage import link
from shuzhi.registry.settings import COMPARISON_KINDS, parse_settings

MAPPING = {"name": "企业名称", "uscc": "统一社会信用代码", "legal_rep": "法定代表人", "registered_capital": "注册资本",
           "industry_code": "行业代码", "address": "住所", "established": "成立日期", "phone": "电话"}  # fmt: skip
SETTINGS = {
    "name": "firms",
    "kind": "enterprise",
    "sources": [{"dataset": d, "key": "id", "mapping": MAPPING} for d in ("samr", "tax")],
    "identifiers": [{"column": "uscc_norm", "valid": "uscc_valid"}],
    "blocking": [{"columns": ["firm_core"]}, {"sql": "l.established = r.established AND l.legal_rep_norm = r.legal_rep_norm"}],
    "comparisons": [
        {"column": "firm_core", "kind": "jaro_winkler", "thresholds": [0.9], "tf": True},
        {"column": "legal_rep_norm", "kind": "pinyin_hanzi", "thresholds": [0.9]},
        {"column": "established", "kind": "date_difference", "thresholds": [1], "unit": "year", "typo_distance": 1},
        {"column": "registered_capital", "kind": "percentage_difference", "thresholds": [0.05, 0.3]},
        {"column": "addr_region_code", "kind": "prefix", "lengths": [4, 2]},
        {"column": "industry_code", "kind": "levenshtein", "thresholds": [1]},
        {"column": "phone_norm", "kind": "damerau_levenshtein", "thresholds": [1]},
        {"column": "firm_form", "kind": "exact"},
        {"column": "firm_pinyin", "kind": "jaro", "thresholds": [0.9]},
    ],
    "training": {"u": {"max_pairs": 100000, "seed": 1}, "em_blocking": [{"columns": ["firm_core"]}]},
    "thresholds": {"scale": "weight", "link": 6, "review": 0},
}  # fmt: skip
CORES = [
    "华新",
    "恒达",
    "宏远",
    "金桥",
    "天成",
    "瑞丰",
    "鑫源",
    "顺发",
    "安泰",
    "博文",
    "长城",
    "东方",
    "嘉禾",
    "明德",
    "永盛",
    "中联",
]


def firms(n: int = 150, seed: int = 5) -> pa.Table:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        core = rnd.choice(CORES) + rnd.choice(CORES)
        rep = rnd.choice("王李张刘陈") + rnd.choice("伟静敏军芳")
        firm = {
            "firm_core": core, "firm_pinyin": " ".join(lazy_pinyin(core)), "firm_form": rnd.choice(["有限公司", "股份有限公司"]),
            "legal_rep_norm": rep, "legal_rep_pinyin": " ".join(lazy_pinyin(rep)),
            "established": (date(1990, 1, 1) + timedelta(days=rnd.randrange(12000))).isoformat(),
            "registered_capital": float(rnd.choice([50, 100, 500, 1000, 3000])) * 10_000,
            "industry_code": f"{rnd.randrange(1000, 9999)}", "addr_region_code": rnd.choice(["330102", "330106", "320105"]),
            "phone_norm": f"0571{rnd.randrange(10**7, 10**8)}", "uscc_norm": None, "uscc_valid": False,
        }  # fmt: skip
        rows.append({"record_key": f"samr#{i}", "source_dataset": "samr", **firm})
        if rnd.random() < 0.6:
            copy = {**firm, "registered_capital": firm["registered_capital"] * 1.02, "phone_norm": None}
            rows.append({"record_key": f"tax#{i}", "source_dataset": "tax", **copy})
    return pa.Table.from_pylist(rows)


def test_every_kind_is_exercised_and_runs():
    settings = parse_settings(SETTINGS)
    assert {c.kind for c in settings.comparisons} == set(COMPARISON_KINDS)
    table = firms()
    linkage = link(settings, table)
    linked = [p for p in linkage.pairs.to_pylist() if p["decision"] == "link"]
    assert linked and all(p["match_weight"] >= 6 for p in linked)
    same_firm = sum(p["record_key_l"].split("#")[1] == p["record_key_r"].split("#")[1] for p in linked)
    assert same_firm / len(linked) >= 0.9
    why = explain(linkage, linked[0]["record_key_l"], linked[0]["record_key_r"])
    assert [t.comparison for t in why.terms[1:]] == [c.column for c in settings.comparisons]
    assert abs(sum(t.match_weight for t in why.terms) - why.match_weight) < 1e-6
