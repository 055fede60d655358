"""Grading rules as data: categories → level and data class, combination and volume rules, dataset grade."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, Pair

UNDETERMINED = "unknown"
"""The category of a column the grader cannot judge (engine.UNKNOWN)."""


@dataclass(frozen=True)
class Rules:
    levels: list[dict]
    data_classes: list[dict]
    categories: dict[str, dict]
    combinations: list[dict]
    volume: list[dict]
    default_level: str
    default_data_class: str
    unknown_category_level: str
    undetermined_level: str
    """The least level of a column the grader could not judge (category `unknown`): it may hold anything."""

    def rank(self, level: str) -> int:
        return [lv["code"] for lv in self.levels].index(level)

    def class_rank(self, data_class: str) -> int:
        return [c["code"] for c in self.data_classes].index(data_class)

    def category(self, code: str) -> dict:
        return self.categories.get(code) or {
            "level": self.unknown_category_level,
            "kind": "sensitive_attribute",
            "zh": code,
            "en": code,
        }

    def level_of(self, category: str) -> str:
        level = self.category(category)["level"]
        if category == UNDETERMINED and self.rank(level) < self.rank(self.undetermined_level):
            return self.undetermined_level
        return level

    def kind_of(self, category: str) -> str:
        return self.category(category).get("kind", "none")


def parse_rules(data: dict, where: str = "rules") -> Rules:
    try:
        levels = data["levels"]
        codes = [lv["code"] for lv in levels]
        rules = Rules(
            levels=levels,
            data_classes=data.get("data_classes") or [{"code": "一般"}, {"code": "重要"}, {"code": "核心"}],
            categories=data.get("categories") or {},
            combinations=data.get("combinations") or [],
            volume=data.get("volume") or [],
            default_level=data.get("default_level", codes[0]),
            default_data_class=data.get("default_data_class", "一般"),
            unknown_category_level=data.get("unknown_category_level", codes[-1]),
            undetermined_level=data.get("undetermined_level", data.get("unknown_category_level", codes[-1])),
        )
    except (KeyError, TypeError, IndexError) as exc:
        raise InvalidInput(M_("malformed grading rules: %(exc)s", exc=exc), where=where) from exc
    used = [rules.default_level, rules.unknown_category_level, rules.undetermined_level]
    used += [c["level"] for c in rules.categories.values()] + [c["level"] for c in rules.combinations]
    bad = sorted({lv for lv in used if lv not in codes})
    if bad:
        raise InvalidInput(M_("rules use undefined levels: %(bad)s", bad=bad), where=where)
    return rules


@lru_cache(maxsize=8)
def _load(path: str | None) -> Rules:
    if path is None:
        text = resources.files("shuzhi.classify").joinpath("rules/default.yaml").read_text(encoding="utf-8")
        return parse_rules(yaml.safe_load(text), "default.yaml")
    try:
        return parse_rules(yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}, path)
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInput(M_("cannot read grading rules: %(exc)s", exc=exc), where=path) from exc


def load_rules(settings=None) -> Rules:
    path = settings.classify.rules_file if settings else None
    return _load(str(path) if path else None)


@dataclass
class Grade:
    """A dataset's grade and the rule that decided it."""

    level: str
    data_class: str
    rule: dict
    needs_review: bool = False
    column_levels: dict[str, str] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)


def grade_dataset(
    rules: Rules,
    columns: dict[str, str],
    *,
    minors: dict[str, int] | None = None,
    persons: int = 0,
    min_persons_default: int = 1_000_000,
) -> Grade:
    """Grade from {column: category}; minors {column: count under 14}; persons = individuals covered."""
    col_levels = {name: rules.level_of(cat) for name, cat in columns.items()}
    cats = {cat for cat in columns.values()}
    if any(minors.values() if minors else ()):
        cats.add("minor")
    kinds = {rules.kind_of(c) for c in cats}

    level, rule = (
        rules.default_level,
        {"type": "default", "name": "default_level", **M_("default level").both()},
    )
    for name, lv in sorted(col_levels.items(), key=lambda kv: -rules.rank(kv[1])):
        if rules.rank(lv) > rules.rank(level):
            cat = rules.category(columns[name])
            level, rule = (
                lv,
                {
                    "type": "column",
                    "name": name,
                    "category": columns[name],
                    **M_(
                        "column '%(name)s' is %(category)s",
                        name=name,
                        category=Pair(cat.get("zh", columns[name]), cat.get("en", columns[name])),
                    ).both(),
                },
            )
        break
    minor_cols = [c for c, n in (minors or {}).items() if n]
    if minor_cols and rules.rank(rules.level_of("minor")) > rules.rank(level):
        level, rule = (
            rules.level_of("minor"),
            {
                "type": "column",
                "name": minor_cols[0],
                "category": "minor",
                **M_("column '%(name)s' covers children under 14", name=minor_cols[0]).both(),
            },
        )
    for combo in rules.combinations:
        if _combination_applies(combo, kinds, cats, columns, rules) and rules.rank(
            combo["level"]
        ) > rules.rank(level):
            level, rule = (
                combo["level"],
                {"type": "combination", **{k: combo[k] for k in ("name", "zh", "en")}},
            )

    data_class, needs_review, flags = rules.default_data_class, False, []
    personal = any(rules.kind_of(c) in ("direct_identifier", "sensitive_attribute") for c in cats)
    for vol in rules.volume:
        threshold = vol.get("min_persons") or min_persons_default
        if personal and persons >= threshold:
            flags.append(
                {
                    "type": "volume",
                    "name": vol["name"],
                    "zh": vol.get("zh"),
                    "en": vol.get("en"),
                    "persons": persons,
                    "min_persons": threshold,
                }
            )
            if rules.class_rank(vol["data_class"]) > rules.class_rank(data_class):
                data_class = vol["data_class"]
            needs_review = needs_review or bool(vol.get("needs_review"))
    return Grade(level, data_class, rule, needs_review, col_levels, flags)


def _combination_applies(
    combo: dict, kinds: set[str], cats: set[str], columns: dict[str, str], rules
) -> bool:
    if not set(combo.get("all_kinds", [])) <= kinds:
        return False
    if combo.get("any_categories") and not set(combo["any_categories"]) & cats:
        return False
    for kind, n in (combo.get("min_kinds") or {}).items():
        if sum(1 for c in set(columns.values()) if rules.kind_of(c) == kind) < n:
            return False
    return True
