"""Character folding of Chinese names: traditional→simplified, variant characters, toneless pinyin.

Every table here works one character at a time and is cached per character, so a column of a million
names costs a `str.translate` per distinct name. Names are not phrases: OpenCC's phrase tables would
turn a given name into a word's reading, so OpenCC ('t2s') is asked about single characters only.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

VARIANTS: dict[str, str] = {
    # Variant → standard pairs of the 《第一批异体字整理表》 (Ministry of Culture and the Committee for
    # Script Reform, 1955) seen in personal and firm names. Pairs whose variant the 《通用规范汉字表》
    # (State Council, 2013) restored as a standard character for names are deliberately absent: 喆, 堃,
    # 淼, 昇, 陞, 甦, 邨, 甯, 於, 仝, 脩 are now legal name characters of their own, so 张喆 and 张哲
    # are two spellings a register may both hold for two people.
    "峯": "峰",
    "羣": "群",
    "畧": "略",
    "秌": "秋",
    "龝": "秋",
    "楳": "梅",
    "槑": "梅",
    "鴈": "雁",
    "珎": "珍",
    "恆": "恒",
    "氷": "冰",
    "亙": "亘",
    "眞": "真",
    "悳": "德",
    "琹": "琴",
    "翶": "翱",
    "枏": "楠",
    "柟": "楠",
    "瑯": "琅",
    "峩": "峨",
    "姸": "妍",
    "烱": "炯",
    "冨": "富",
    "敍": "叙",
    "敘": "叙",
    "煖": "暖",
    "朙": "明",
    "嵒": "岩",
    "巗": "岩",
}

SURNAME_READINGS: dict[str, str] = {
    # How a surname is read when it heads a name, where pypinyin's default reading of the character
    # differs or is unstable (pypinyin 0.55 has no surname mode: mozillazg/python-pinyin#297).
    # Readings after 《现代汉语词典》 (7th ed.) surname entries. Compound surnames first.
    "万俟": "mo qi",
    "尉迟": "yu chi",
    "单于": "chan yu",
    "长孙": "zhang sun",
    "澹台": "tan tai",
    "令狐": "ling hu",
    "单": "shan",
    "曾": "zeng",
    "解": "xie",
    "仇": "qiu",
    "区": "ou",
    "朴": "piao",
    "查": "zha",
    "乐": "yue",
    "翟": "zhai",
    "缪": "miao",
    "秘": "bi",
    "盖": "ge",
    "种": "chong",
    "折": "she",
    "覃": "qin",
    "燕": "yan",
    "华": "hua",
    "纪": "ji",
    "过": "guo",
    "繁": "po",
    "召": "shao",
    "员": "yun",
    "句": "gou",
    "隗": "wei",
    "莘": "shen",
    "尉": "wei",
    "车": "che",
    "沈": "shen",
    "薄": "bo",
    "柏": "bai",
    "牟": "mou",
    "陆": "lu",
    "六": "lu",
    "冼": "xian",
    "贾": "jia",
    "宿": "su",
    "卜": "bu",
    "葛": "ge",
    "藏": "zang",
    "佴": "nai",
    "任": "ren",
    "重": "chong",
}

KEEP = frozenset("乾")
"""Characters OpenCC's t2s would fold that names use in their own right: 乾 (qián, 乾隆) was only
ever simplified as gān (干). The surname 於 is folded to 于 on purpose: OpenCC's s2t writes the common
surname 于 as 於, so keeping the rare surname 於 apart would split every converted 于."""

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")
_TOKENS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]|[A-Za-z0-9]+")


@cache
def _opencc():
    from opencc import OpenCC

    return OpenCC("t2s")


class _Fold(dict):
    """A `str.translate` table filled on first sight of each character: NFKC, OpenCC t2s, variants,
    repeated to a fixed point so folding a folded text changes nothing."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        out = ch
        for _ in range(4 if ch not in KEEP else 0):
            step = "".join(VARIANTS.get(c, c) for c in _opencc().convert(unicodedata.normalize("NFKC", out)))
            if step == out:
                break
            out = step
        self[code] = out
        return out


_FOLD = _Fold()


def fold(text: str) -> str:
    """Simplified characters with variants folded (峯→峰, 張→张); other characters as NFKC gives them."""
    return text.translate(_FOLD)


class _Readings(dict):
    """Character → toneless pinyin ("" for a sign that is not a hanzi), filled on first sight."""

    def __missing__(self, ch: str) -> str:
        from pypinyin import Style, lazy_pinyin

        # A rare character pypinyin has no reading for (𠮷) gives no syllable rather than an error.
        out = (lazy_pinyin(ch, style=Style.NORMAL, errors="ignore") or [""])[0] if _HAN.match(ch) else ""
        self[ch] = out
        return out


_READINGS = _Readings()
_LATIN = re.compile(r"[A-Za-z0-9]")


def pinyin(text: str, *, surname: bool = False) -> str:
    """Toneless pinyin syllables joined by spaces ("zhang wei"); Latin letters and digits kept as
    lower-case runs, other signs dropped. With `surname`, the head is read as a surname (单 → shan)."""
    head: list[str] = []
    if surname:
        for size in (2, 1):
            if text[:size] in SURNAME_READINGS:
                head, text = [SURNAME_READINGS[text[:size]]], text[size:]
                break
    if _LATIN.search(text):
        words = [
            _READINGS[t] if len(t) == 1 and not t.isascii() else t.lower() for t in _TOKENS.findall(text)
        ]
    else:
        words = [_READINGS[ch] for ch in text]
    return " ".join(head + [w for w in words if w])
