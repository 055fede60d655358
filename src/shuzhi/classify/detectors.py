"""Detectors: the Detector type, the YAML loader for the shipped set and declared ones, and plugin detectors."""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from shuzhi.classify import lexicon as lx
from shuzhi.classify.checksums import region_codes
from shuzhi.classify.sqlfuncs import SQL_CHECKS
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_


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


# -- parts of patterns built from the lexicon --------------------------------------------------------------
PATTERN_PARTS: dict[str, Callable[[], str]] = {
    "surnames_single": lambda: "".join(lx.surnames()[0]),
    "surnames_compound": lambda: _alt(lx.surnames()[1]),
    "place_words": lambda: _alt(lx.PLACE_WORDS),
    "plate_provinces": lambda: lx.PLATE_PROVINCES,
    "medical_suffixes": lambda: _alt(lx.MEDICAL_SUFFIXES),
    "medical_words_en": lambda: "|".join(lx.MEDICAL_WORDS_EN),  # regexes (`[a-z]+oma`), not literal words
    "religions": lambda: _alt(lx.RELIGIONS),
    "ethnic_groups": lambda: _alt(lx.ETHNIC_GROUPS),
    "ethnic_stems": lambda: _alt(g[:-1] for g in lx.ETHNIC_GROUPS if g.endswith("族")),
}
"""What `${name}` stands for in a detector's pattern or check: a fixed set of lexicon parts, never code."""

_PART = re.compile(r"\$\{([^}]*)\}")


def _expand(text: str, detector: str) -> str:
    def part(match: re.Match) -> str:
        key = match.group(1)
        if key not in PATTERN_PARTS:
            raise InvalidInput(
                M_(
                    "detector %(detector)s: unknown part ${%(key)s}; known parts: %(names)s",
                    detector=detector,
                    key=key,
                    names=", ".join(sorted(PATTERN_PARTS)),
                ),
                where="classify.detectors",
            )
        return PATTERN_PARTS[key]()

    return _PART.sub(part, text)


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
    raise InvalidInput(M_("unknown validator: %(name)s", name=name), where="classify.detectors")


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
        "check_digit",
    }
)
"""What a detector declared in YAML may set; everything else of a Detector is code."""
TRUSTED_KEYS = frozenset({"check", "birth", "group_key", "group_check"})
"""SQL and code-level keys: only the shipped file (trusted) may set them, never a deployment's file."""


def declared_detector(spec: dict, *, trusted: bool = False) -> Detector:
    """One detector from its YAML mapping; `trusted` (the shipped file) also allows TRUSTED_KEYS."""
    if not isinstance(spec, dict):
        raise InvalidInput(
            M_("a detector must be a mapping, not %(spec)r", spec=spec), where="classify.detectors"
        )
    try:
        name, category, pattern = spec["name"], spec["category"], spec["pattern"]
    except KeyError as exc:
        raise InvalidInput(M_("detector lacks field %(exc)s", exc=exc), where="classify.detectors") from exc
    allowed = DECLARED_KEYS | DECLARED_TUNING | (TRUSTED_KEYS if trusted else frozenset())
    unknown = sorted(set(spec) - allowed)
    if unknown:
        # `check`, `birth` and the group keys are SQL or code: a declared detector picks a validator.
        raise InvalidInput(
            M_(
                "detector %(name)s does not take the keys %(names)s (it takes: %(names2)s); choose a check with `validator:`",
                name=name,
                names=", ".join(unknown),
                names2=", ".join(sorted(allowed)),
                unknown=unknown,
            ),
            where="classify.detectors",
        )
    fields = _validator_fields(spec.get("validator"))
    fields.update((k, v) for k, v in spec.items() if k in DECLARED_TUNING | TRUSTED_KEYS)
    if fields.get("group_check"):
        resolve_group_check(fields["group_check"])  # fail early on a typo
    if fields.get("check"):
        fields["check"] = _expand(fields["check"], name)
    return Detector(
        name=name,
        category=category,
        pattern=_expand(pattern, name),
        hints=tuple(spec.get("hints", ())),
        source="builtin" if trusted else "declared",
        **fields,
    )


def _validator_fields(validator: str | None) -> dict:
    """A named validator as the Detector fields it sets: an SQL check, or a Python check on distinct values."""
    if validator in SQL_CHECKS:
        return {"check": SQL_CHECKS[validator]}
    if validator:
        return {"group_key": "v", "group_check": validator}
    return {}


def load_detectors(specs, *, trusted: bool, where: str = "classify.detectors") -> list[Detector]:
    """Detectors from a YAML `detectors:` list — the shipped file (trusted) and a deployment's alike."""
    if specs is None:
        return []
    if not isinstance(specs, list):
        raise InvalidInput(M_("`detectors` must be a list"), where=where)
    return [declared_detector(spec, trusted=trusted) for spec in specs]


def load_detector_config(path: Path | None) -> DetectorConfig:
    if path is None:
        return DetectorConfig()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(M_("cannot read detectors file: %(exc)s", exc=exc), where=str(path)) from exc
    hints = data.get("hints", {}) or {}
    return DetectorConfig(
        detectors=load_detectors(data.get("detectors"), trusted=False, where=str(path)),
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
    text = resources.files("shuzhi.classify").joinpath("detectors.yaml").read_text(encoding="utf-8")
    return tuple(load_detectors(yaml.safe_load(text)["detectors"], trusted=True, where="detectors.yaml"))


def builtin_detectors() -> list[Detector]:
    """The shipped detector set, from detectors.yaml (categories match the default grading rules)."""
    return list(_builtin_cached())


def detector_set(settings=None) -> tuple[list[Detector], DetectorConfig]:
    """Built-in + declared (settings.classify.detectors_file) + plugin detectors, minus disabled ones."""
    config = load_detector_config(settings.classify.detectors_file if settings else None)
    dets = [*_builtin_cached(), *config.detectors, *(plugin_detectors(settings) if settings else [])]
    by_name = {det.name: det for det in dets}  # a later definition with the same name replaces the earlier
    return [det for name, det in by_name.items() if name not in config.disabled], config
