"""Detector definitions: the built-in set, declared detectors from YAML, and plugin detectors via pluggy."""

from __future__ import annotations

import importlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import yaml

from shuzhi.classify import lexicon as lx
from shuzhi.classify.checksums import region_codes
from shuzhi.classify.sqlfuncs import SQL_CHECKS
from shuzhi.errors import InvalidInput


@dataclass(frozen=True)
class Detector:
    """One recogniser: an RE2 pattern over the whole value, then optional validators.

    `check` is a boolean SQL expression over `v` (vectorised in DuckDB). `group_check` names a Python
    predicate applied to the distinct values of `group_key` among rows that passed `check` — used where
    a table lookup or a library (python-stdnum) decides, on at most a few thousand distinct keys.
    """

    name: str
    category: str
    pattern: str
    check: str | None = None
    group_key: str | None = None
    group_check: str | None = None
    hints: tuple[str, ...] = ()
    requires_hint: bool = False
    min_share: float = 0.9
    min_share_hinted: float = 0.6
    min_len: int = 1
    max_len: int = 1024
    priority: int = 50
    birth: str | None = None
    """SQL DATE expression over v giving a birth date, so minors (< 14) can be counted."""
    min_distinct_ratio: float = 0.0
    max_top_share: float = 1.0
    check_digit: bool = False
    """Its validator is a check digit (or as strict): a handful of valid values is evidence on its own,
    so values found among others in a column are reported however small their share."""
    label_zh: str = ""
    label_en: str = ""
    source: str = "builtin"


def _alt(words) -> str:
    return lx.alternation(list(words))


def _person_name_pattern() -> str:
    single, compound = lx.surnames()
    return f"(?:{_alt(compound)}|[{''.join(single)}])\\p{{Han}}{{1,2}}"


_NOT_PLACE = (
    "NOT regexp_matches(v, '(?:[省市区县镇乡村庄屯寨口井路街巷道桥门湖港岛园苑院馆站场厂店局所处部司社校库塔寺庙宫殿楼阁坊坝"
    "堡堤塘池泉沟谷坡城关营州府]$)|" + _alt(lx.PLACE_WORDS) + "')"
)
_ICD = r"[A-TV-Z]\d{2}(?:\.[0-9A-Z]{1,4})?"
_SEP = r"[ ,，;；、/]+"
_ETHNIC_STEMS = [g[:-1] for g in lx.ETHNIC_GROUPS if g.endswith("族")]


def builtin_detectors() -> list[Detector]:
    """The shipped detector set (categories match the default grading rules)."""
    d = Detector
    return [
        d(
            "resident_id",
            "resident_id",
            # Forms keyed in by hand group the region, birth date and sequence with a space or dash.
            r"[1-9]\d{5}[ -]?(?:(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}[ -]?\d{3}[0-9Xx]|\d{2}(?:0[1-9]|1[0-2])\d{2}[ -]?\d{3})",
            check="sz_gb11643(sz_id_compact(v))",
            group_key="left(v, 6)",
            group_check="cn_region",
            birth="sz_id_birth(sz_id_compact(v))",
            check_digit=True,
            min_len=15,
            max_len=20,
            priority=95,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "uscc",
            "uscc",
            r"(?i)[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}",  # the check upper-cases first
            check="sz_gb32100(v)",
            check_digit=True,
            min_len=18,
            max_len=18,
            priority=90,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "org_code",
            "org_code",
            r"[0-9A-Z]{8}-?[0-9X]",
            check="sz_gb11714(v)",
            check_digit=True,
            min_len=9,
            max_len=10,
            priority=70,
            min_share=0.95,
            min_share_hinted=0.6,
        ),
        d(
            "mobile",
            "mobile",
            r"(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}",
            # The pattern keeps the three-digit network prefix contiguous, so one anchored regex checks it.
            check="regexp_matches(v, '^(?:\\+?86[- ]?)?1(?:3\\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\\d|9[0-35-9])')",
            min_len=11,
            max_len=17,
            priority=85,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "landline",
            "phone",
            r"\(?0\d{2,3}(?:\)\s?|[- ])[2-9]\d{6,7}(?:(?:-|转|#|ext\.?)\d{1,6})?",
            min_len=10,
            max_len=24,
            priority=75,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "landline_plain",
            "phone",
            r"0\d{2,3}[2-9]\d{6,7}",
            requires_hint=True,
            min_len=10,
            max_len=12,
            priority=74,
            min_share_hinted=0.6,
        ),
        d(
            "phone_intl",
            "phone",
            r"(?:\+?\d{1,3}[-. ]?)?(?:\(\d{2,4}\)|\d{2,4})[-. ]?\d{3,4}[-. ]?\d{3,4}(?:\s*(?:x|ext\.?)\s*\d{1,6})?",
            requires_hint=True,
            min_len=7,
            max_len=30,
            priority=40,
            min_share_hinted=0.6,
        ),
        d(
            "bank_card",
            "bank_card",
            r"\d{12,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]?\d{1,3})?",
            check="sz_luhn(v)",
            check_digit=True,
            min_len=12,
            max_len=23,
            priority=60,
            min_share=0.95,
            min_share_hinted=0.7,
        ),
        d(
            "financial_account",
            "financial_account",
            r"\d[\d -]{6,30}\d|[A-Z]{2}\d{2}[A-Z0-9]{10,30}",
            requires_hint=True,
            min_len=8,
            max_len=34,
            priority=30,
            min_share_hinted=0.7,
        ),
        d(
            "email",
            "email",
            r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
            min_len=6,
            max_len=254,
            priority=80,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "ipv4",
            "ip_address",
            r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?::\d{1,5})?",
            min_len=7,
            max_len=21,  # with a port, as access logs write it
            priority=70,
            min_share=0.9,
            min_share_hinted=0.6,
        ),
        d(
            "ipv6",
            "ip_address",
            r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}",
            group_key="v",
            group_check="ipv6",
            min_len=2,
            max_len=45,
            priority=65,
            min_share=0.9,
            min_share_hinted=0.6,
        ),
        d(
            "mac_address",
            "mac_address",
            r"[0-9A-Fa-f]{2}(?:[:-][0-9A-Fa-f]{2}){5}|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}",
            min_len=14,
            max_len=17,
            priority=75,
            min_share=0.9,
            min_share_hinted=0.6,
        ),
        d(
            "vehicle_plate",
            "vehicle_plate",
            f"[{lx.PLATE_PROVINCES}][A-HJ-NP-Z][-·• ]?[A-HJ-NP-Z0-9]{{4,6}}[挂学警港澳领使]?",
            min_len=7,
            max_len=10,
            priority=80,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "passport_cn",
            "passport",
            r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|[GDSP][0-9]{7,8}|(?:SE|DE|PE)[0-9]{7}",
            min_len=8,
            max_len=9,
            priority=60,
            min_share=0.9,
            min_share_hinted=0.5,
        ),
        d(
            "passport",
            "passport",
            r"[A-Z]{0,2}[0-9]{6,9}",
            requires_hint=True,
            min_len=6,
            max_len=11,
            priority=55,
            min_share_hinted=0.7,
        ),
        d(
            "hk_macao_permit",
            "hk_macao_permit",
            r"[CW][0-9]{8}|C[A-HJ-NP-Z][0-9]{7}",
            min_len=9,
            max_len=9,
            priority=62,
            min_share=0.95,
            min_share_hinted=0.5,
        ),
        d(
            "ssn_us",
            "social_security",
            r"\d{3}-\d{2}-\d{4}",
            check="NOT regexp_matches(v, '^(?:000|666|9)|-00-|-0000$')",
            min_len=11,
            max_len=11,
            priority=60,
            min_share=0.9,
            min_share_hinted=0.5,
        ),
        d(
            "social_security",
            "social_security",
            r"[0-9A-Z]{8,20}",
            requires_hint=True,
            min_len=8,
            max_len=20,
            priority=96,
            min_share_hinted=0.7,
        ),
        d(
            "birth_date",
            "birth_date",
            r"(?:18|19|20)\d{2}[-/.年]?\d{1,2}[-/.月]?\d{1,2}日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?",
            check="sz_date_ok(v)",
            birth="sz_date(v)",
            requires_hint=True,
            min_len=6,
            max_len=30,
            priority=50,
            min_share_hinted=0.6,
        ),
        d(
            "person_name_zh",
            "person_name",
            _person_name_pattern(),
            check=_NOT_PLACE,
            min_len=2,
            max_len=4,
            priority=50,
            min_share=0.9,
            min_share_hinted=0.7,
            min_distinct_ratio=0.1,
            max_top_share=0.2,
        ),
        d(
            "person_name_latin",
            "person_name",
            # Titles: the common ones spelt out, or any short capitalised abbreviation (Dott., Sig.ra, Ing.).
            r"(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Herr|Frau|Mme|Mlle|Univ\.Prof|Dipl\.-Ing)\.? |\p{Lu}\p{Ll}{0,5}\.\p{Ll}{0,3} ){0,3}"
            r"\p{Lu}[\p{L}'’]+(?:[- ]\p{Lu}[\p{L}'’]+)?(?: \p{Lu}\.)?(?: (?:von|van|de|der|den|du|le|la|zu|di|da)){0,2}"
            r" \p{Lu}[\p{L}'’-]+(?:,? (?:Jr\.|Sr\.|II|III|IV|MD|DDS|PhD|DVM|MBA|[A-Z][A-Za-z]{0,4}\.(?:-?[A-Z][A-Za-z]{0,4}\.?)*))?",
            requires_hint=True,
            min_len=4,
            max_len=60,
            priority=45,
            min_share_hinted=0.8,
            min_distinct_ratio=0.3,
            max_top_share=0.2,
        ),
        d(
            "address_zh",
            "address",
            r".{0,40}(?:省|自治区|市|区|區|县|縣|旗|镇|鎮|乡|鄉|街道).{0,40}"
            r"(?:路|街|道|巷|弄|里|号|號|村|组|栋|棟|幢|座|单元|室|楼|樓|大厦|小区)[^\n]{0,40}",
            min_len=6,
            max_len=160,
            priority=55,
            min_share=0.85,
            min_share_hinted=0.5,
            min_distinct_ratio=0.1,
        ),
        d(
            "address_zh_street",
            "address",
            r"[\d\s]{0,6}\p{Han}{2,20}(?:路|街|巷|大道|道|里|村)(?:\d+段)?(?:\d+[巷弄])*\d+[号號].{0,20}",
            min_len=6,
            max_len=80,
            priority=54,
            min_share=0.85,
            min_share_hinted=0.5,
            min_distinct_ratio=0.1,
        ),
        d(
            "address_en",
            "address",
            r"\d{1,6} [A-Za-z0-9 .'#-]+(?:\s*\n\s*|,\s*)[A-Za-z .'-]+, [A-Z]{2} \d{5}(?:-\d{4})?",
            min_len=15,
            max_len=160,
            priority=55,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "address_street",
            "address",
            r"(?:\d{1,6}[A-Za-z]? )?[A-Za-z0-9 .,'#-]{3,80}|\d{1,4} ?\p{Han}{2,30}",
            requires_hint=True,
            min_len=5,
            max_len=120,
            priority=20,
            min_share_hinted=0.8,
            min_distinct_ratio=0.2,
        ),
        d(
            "gps_pair",
            "gps",
            r"\(?-?\d{1,3}\.\d{3,}\s*[,，]\s*-?\d{1,3}\.\d{3,}\)?",
            check="sz_coord_ok(v)",
            min_len=9,
            max_len=50,
            priority=70,
            min_share=0.9,
            min_share_hinted=0.5,
        ),
        d(
            "gps_single",
            "gps",
            r"-?\d{1,3}\.\d{3,}",
            check="sz_coord_ok(v)",
            requires_hint=True,
            min_len=5,
            max_len=25,
            priority=65,
            min_share_hinted=0.8,
        ),
        d(
            "icd10",
            "medical",
            f"{_ICD}(?:{_SEP}{_ICD})*",
            requires_hint=True,
            min_len=3,
            max_len=100,
            priority=60,
            min_share_hinted=0.6,
        ),
        d(
            "icd10_dotted",
            "medical",
            r"[A-TV-Z]\d{2}\.[0-9A-Z]{1,4}",
            min_len=5,
            max_len=8,
            priority=58,
            min_share=0.9,
        ),
        d(
            "medical_term_zh",
            "medical",
            f".{{0,30}}(?:{_alt(lx.MEDICAL_SUFFIXES)})(?:[（(][^）)]{{0,20}}[）)])?",
            min_len=1,
            max_len=60,
            priority=50,
            min_share=0.8,
            min_share_hinted=0.4,
        ),
        d(
            "medical_term_en",
            "medical",
            f"(?i).{{0,40}}\\b(?:{'|'.join(lx.MEDICAL_WORDS_EN)})\\b.{{0,40}}",
            min_len=4,
            max_len=100,
            priority=49,
            min_share=0.8,
            min_share_hinted=0.4,
        ),
        d(
            "religion",
            "religion",
            f"(?i)(?:{_alt(lx.RELIGIONS)})",
            min_len=2,
            max_len=20,
            priority=70,
            min_share=0.8,
            min_share_hinted=0.5,
        ),
        d(
            "ethnicity",
            "ethnicity",
            f"(?:{_alt(_ETHNIC_STEMS)})族?|{_alt(lx.ETHNIC_GROUPS)}",
            min_len=1,
            max_len=12,
            priority=70,
            min_share=0.85,
            min_share_hinted=0.5,
        ),
        d(
            "biometric",
            "biometric",
            r"[A-Za-z0-9+/=_:.\\-]{16,}",
            requires_hint=True,
            min_len=16,
            max_len=1024,
            priority=90,
            min_share_hinted=0.6,
        ),
        d(
            "whereabouts",
            "whereabouts",
            r".{0,200}(?:[省市区县镇乡村路街站场馆园店]|广场|机场|车站|酒店|-?\d{1,3}\.\d{3,}).{0,200}",
            requires_hint=True,
            min_len=2,
            max_len=1024,
            priority=85,
            min_share_hinted=0.6,
        ),
    ]


# -- Python-side validators on distinct keys -------------------------------------------------------------
def _ipv6(value: str) -> bool:
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


GROUP_CHECKS: dict[str, Callable[[str], bool]] = {
    "cn_region": lambda key: key in region_codes(),
    "ipv6": _ipv6,
}


def resolve_group_check(name: str) -> Callable[[str], bool]:
    """A validator by name: built-in, `stdnum:<module>` (its is_valid) or `python:<module>:<function>`."""
    if name in GROUP_CHECKS:
        return GROUP_CHECKS[name]
    kind, _, target = name.partition(":")
    if kind == "stdnum":
        module = importlib.import_module(f"stdnum.{target}")
        return module.is_valid
    if kind == "python":
        mod, _, func = target.partition(":")
        return getattr(importlib.import_module(mod), func)
    raise InvalidInput(f"未知的校验器 unknown validator: {name}", where="classify.detectors")


# -- declared detectors ----------------------------------------------------------------------------------
@dataclass
class DetectorConfig:
    """Everything a deployment can tune without code: extra detectors and name hints."""

    detectors: list[Detector] = field(default_factory=list)
    hints_add: dict[str, list[str]] = field(default_factory=dict)
    hints_remove: dict[str, list[str]] = field(default_factory=dict)
    hints_negative: dict[str, list[str]] = field(default_factory=dict)
    disabled: list[str] = field(default_factory=list)


DECLARED_KEYS = frozenset({"name", "category", "pattern", "validator", "hints"})
DECLARED_TUNING = frozenset(
    {
        "requires_hint",
        "min_share",
        "min_share_hinted",
        "min_len",
        "max_len",
        "priority",
        "min_distinct_ratio",
        "max_top_share",
        "label_zh",
        "label_en",
    }
)
"""What a detector declared in YAML may set; everything else of a Detector is code."""


def declared_detector(spec: dict) -> Detector:
    """One detector from its YAML mapping (pattern, validator, hints, category…)."""
    try:
        name, category, pattern = spec["name"], spec["category"], spec["pattern"]
    except KeyError as exc:
        raise InvalidInput(f"检测器缺少字段 detector lacks field {exc}", where="classify.detectors") from exc
    validator = spec.get("validator")
    check = group_key = group_check = None
    if validator in SQL_CHECKS:
        check = SQL_CHECKS[validator]
    elif validator:
        resolve_group_check(validator)  # fail early on a typo
        group_key, group_check = "v", validator
    hints = tuple(spec.get("hints", ()))
    unknown = sorted(set(spec) - DECLARED_KEYS - DECLARED_TUNING)
    if unknown:
        # `check`, `birth` and the group keys are SQL or code: a declared detector picks a validator.
        raise InvalidInput(
            f"检测器 {name} 不接受字段 {', '.join(unknown)}；可用字段：{', '.join(sorted(DECLARED_KEYS | DECLARED_TUNING))}"
            f" (detector {name}: unknown or code-only keys {unknown}; choose a check with `validator:`)",
            where="classify.detectors",
        )
    extra = {k: v for k, v in spec.items() if k in DECLARED_TUNING}
    return Detector(
        name=name,
        category=category,
        pattern=pattern,
        check=check,
        group_key=group_key,
        group_check=group_check,
        hints=hints,
        source="declared",
        **extra,
    )


def load_detector_config(path: Path | None) -> DetectorConfig:
    if path is None:
        return DetectorConfig()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(f"无法读取检测器文件 cannot read detectors file: {exc}", where=str(path)) from exc
    hints = data.get("hints", {}) or {}
    return DetectorConfig(
        detectors=[declared_detector(s) for s in data.get("detectors", []) or []],
        hints_add=hints.get("add", {}) or {},
        hints_remove=hints.get("remove", {}) or {},
        hints_negative=hints.get("negative", {}) or {},
        disabled=list(data.get("disable", []) or []),
    )


def plugin_detectors(settings) -> list[Detector]:
    """Detectors contributed by installed plugins through the `classify_detectors` hook."""
    from shuzhi.hooks import plugin_manager

    pm = plugin_manager()
    hook = getattr(pm.hook, "classify_detectors", None)
    if hook is None:
        return []
    found: list[Detector] = []
    for batch in hook(settings=settings):
        found.extend(replace(det, source="plugin") if det.source == "builtin" else det for det in batch or [])
    return found


@lru_cache(maxsize=1)
def _builtin_cached() -> tuple[Detector, ...]:
    return tuple(builtin_detectors())


def detector_set(settings=None) -> tuple[list[Detector], DetectorConfig]:
    """Built-in + declared (settings.classify.detectors_file) + plugin detectors, minus disabled ones."""
    config = load_detector_config(settings.classify.detectors_file if settings else None)
    dets = [*_builtin_cached(), *config.detectors, *(plugin_detectors(settings) if settings else [])]
    by_name = {det.name: det for det in dets}  # a later definition with the same name replaces the earlier
    return [det for name, det in by_name.items() if name not in config.disabled], config
