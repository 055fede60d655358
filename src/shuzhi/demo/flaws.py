"""The flaws of real registries, applied to copies of true values: misspelt names, stale addresses, bad IDs.

Every function takes the true values and a numpy Generator and returns the written values with a
mask (or a kind array) saying which rows were altered, so the ground truth can record it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
from opencc import OpenCC
from pypinyin import Style, lazy_pinyin

from shuzhi.classify.checksums import gb11643_check_char
from shuzhi.demo.geography import City
from shuzhi.demo.identifiers import USCC_ALPHABET

PERSON_NAME_FLAWS = ("typo", "traditional", "missing_middle", "padded")
FIRM_NAME_FLAWS = ("traditional", "typo", "suffix", "no_city", "brackets")


@cache
def _to_traditional() -> OpenCC:
    return OpenCC("s2t")


@cache
def _homophones(pool: str) -> dict[str, tuple[str, ...]]:
    """Characters of `pool` grouped by toneless pinyin: the typo a clerk makes when typing by sound."""
    groups: dict[str, list[str]] = {}
    for ch in dict.fromkeys(pool):
        groups.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    out = {}
    for chars in groups.values():
        for ch in chars:
            others = tuple(c for c in chars if c != ch)
            if others:
                out[ch] = others
    return out


_EXTRA_HOMOPHONE_POOL = (
    "伟玮炜薇维为卫微丽莉俐黎立力利敏民明铭鸣名静晶婧靖菁芳方舫坊红宏鸿虹洪华桦骅军君钧俊峻骏"
    "勇永咏涌强蔷墙杰洁捷婕磊蕾雷秀绣岚兰澜蓝霞侠峡燕艳彦雁颜平萍苹屏娜纳琳林霖麟玲凌灵羚涛滔韬"
    "超潮朝辉晖徽慧惠蕙佳家嘉加斌彬宾滨鹏朋蓬建剑健鑫新欣馨心婷亭庭廷霆宇雨羽语禹浩昊皓豪号"
    "波博柏泊伯晨辰臣尘琴勤芹秦梅玫媚美丹单郸彤桐童瞳帆凡繁梵刚钢岗纲峰锋丰枫风"
)


def _typo(text: str, rng: np.random.Generator, start: int) -> str:
    """Replace one character at or after `start` by a homophone (or a look-alike when none is known)."""
    table = _homophones(_EXTRA_HOMOPHONE_POOL)
    positions = [i for i in range(start, len(text)) if text[i] in table] or list(range(start, len(text)))
    if not positions:
        return text + "某"
    i = positions[int(rng.integers(0, len(positions)))]
    choices = table.get(text[i], ("明",))
    repl = choices[int(rng.integers(0, len(choices)))]
    if repl == text[i]:
        repl = "洪" if text[i] != "洪" else "宏"
    return text[:i] + repl + text[i + 1 :]


def _traditional(text: str) -> str | None:
    converted = _to_traditional().convert(text)
    return converted if converted != text else None


def vary_person_names(
    names: np.ndarray, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Misspell about `rate` of the names; returns (written names, flaw kind per row or '')."""
    out = np.asarray(names, dtype=object).copy()
    kind = np.full(len(out), "", dtype=object)
    rows = np.flatnonzero(rng.random(len(out)) < rate)
    picks = rng.integers(0, len(PERSON_NAME_FLAWS), len(rows))
    for i, p in zip(rows.tolist(), picks.tolist(), strict=True):
        name, flaw = out[i], PERSON_NAME_FLAWS[p]
        new = None
        if flaw == "traditional":
            new = _traditional(name)
        elif flaw == "missing_middle" and len(name) == 3:
            new = name[0] + name[2]
        elif flaw == "padded" and len(name) == 2:
            new = name[0] + "\u3000" + name[1]  # two-character names padded to three cells, as on forms
        if new is None:
            flaw, new = "typo", _typo(name, rng, 1)
        out[i], kind[i] = new, flaw
    return out, kind


def vary_firm_names(
    names: np.ndarray, trade: np.ndarray, city: City, rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Write about `rate` of firm names the way another registry does; returns (names, flaw kind)."""
    out = np.asarray(names, dtype=object).copy()
    kind = np.full(len(out), "", dtype=object)
    city_short = city.name.removesuffix("市")
    rows = np.flatnonzero(rng.random(len(out)) < rate)
    picks = rng.integers(0, len(FIRM_NAME_FLAWS), len(rows))
    for i, p in zip(rows.tolist(), picks.tolist(), strict=True):
        name, flaw, new = out[i], FIRM_NAME_FLAWS[p], None
        if flaw == "traditional":
            new = _traditional(name)
        elif flaw == "suffix" and name.endswith("有限公司") and not name.endswith("股份有限公司"):
            new = (
                name.replace("有限责任公司", "有限公司")
                if "有限责任公司" in name
                else name[:-4] + "有限责任公司"
            )
        elif flaw == "no_city" and name.startswith(city_short) and not name.startswith(city.name):
            new = name[len(city_short) :]
        elif flaw == "brackets" and name.startswith(city_short) and not name.startswith(city.name):
            # 杭州某某科技有限公司 → 某某科技(杭州)有限公司, the form a branch or a rebrand writes
            body = name[len(city_short) :]
            for suffix in ("股份有限公司", "有限责任公司", "有限公司"):
                if body.endswith(suffix):
                    new = f"{body[: -len(suffix)]}({city_short}){suffix}"
                    break
        if new is None:
            flaw, new = "typo", name.replace(trade[i], _typo(trade[i], rng, 0), 1)
        out[i], kind[i] = new, flaw
    return out, kind


def stale_addresses(
    current: np.ndarray,
    previous: np.ndarray,
    district_idx: np.ndarray,
    city: City,
    rate: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """An old address for about `rate` of rows: the one before a move, or the pre-2021 district name."""
    out = np.asarray(current, dtype=object).copy()
    stale = np.zeros(len(out), dtype=bool)
    for i in np.flatnonzero(rng.random(len(out)) < rate).tolist():
        district = city.districts[district_idx[i]]
        if previous[i]:
            out[i] = previous[i]
        elif district.old_names:
            out[i] = out[i].replace(district.name, district.old_names[0], 1)
        else:
            continue
        stale[i] = True
    return out, stale


RIC_FLAWS = ("checksum", "date", "short15")
USCC_FLAWS = ("checksum", "regno15", "orgcode")


def corrupt_rics(
    ids: np.ndarray, invalid_rate: float, missing_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Break about `invalid_rate` of ID numbers and blank `missing_rate`; returns (ids, status per row).

    Status is '' (as issued), 'missing', or the kind of error: a mistyped digit (the check digit then
    fails, as MOD 11-2 catches every single substitution), an impossible date with a recomputed check
    digit, or a first-generation 15-digit number.
    """
    return _corrupt(ids, invalid_rate, missing_rate, rng, RIC_FLAWS, _break_ric)


def _corrupt(
    values: np.ndarray,
    invalid_rate: float,
    missing_rate: float,
    rng: np.random.Generator,
    flaws: tuple[str, ...],
    breaker: Callable[[str, str, np.random.Generator], str],
) -> tuple[np.ndarray, np.ndarray]:
    out = np.asarray(values, dtype=object).copy()
    status = np.full(len(out), "", dtype=object)
    roll = rng.random(len(out))
    for i in np.flatnonzero(roll < invalid_rate).tolist():
        flaw = flaws[int(rng.integers(0, len(flaws)))]
        out[i], status[i] = breaker(out[i], flaw, rng), flaw
    blank = (roll >= invalid_rate) & (roll < invalid_rate + missing_rate)
    out[blank], status[blank] = None, "missing"
    return out, status


def _break_ric(number: str, flaw: str, rng: np.random.Generator) -> str:
    if flaw == "short15":
        return number[:6] + number[8:14] + number[14:17]
    if flaw == "date":
        body = number[:10] + ("13", "00")[int(rng.integers(0, 2))] + number[12:17]
        return body + gb11643_check_char(body)
    i = int(rng.integers(6, 17))
    digit = (int(number[i]) + int(rng.integers(1, 10))) % 10
    return number[:i] + str(digit) + number[i + 1 :]


def corrupt_usccs(
    codes: np.ndarray, invalid_rate: float, missing_rate: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Break or blank credit codes like corrupt_rics: a mistyped character, an old 15-digit business
    registration number, or the bare 9-character organisation code written with its hyphen."""
    return _corrupt(codes, invalid_rate, missing_rate, rng, USCC_FLAWS, _break_uscc)


def _break_uscc(code: str, flaw: str, rng: np.random.Generator) -> str:
    if flaw == "regno15":
        return code[2:8] + "".join(str(d) for d in rng.integers(0, 10, 9))
    if flaw == "orgcode":
        return f"{code[8:16]}-{code[16]}"
    i = int(rng.integers(8, 17))
    alphabet = USCC_ALPHABET.replace(code[i], "")
    return code[:i] + alphabet[int(rng.integers(0, len(alphabet)))] + code[i + 1 :]
