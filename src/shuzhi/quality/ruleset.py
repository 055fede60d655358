"""A dataset's rule set: its documented schema, read from YAML or JSON, checked rule by rule.

A rule set is a mapping `{rules: [...], sample_size: 5}` (or just the list of rules). Each rule has
the common keys below and its kind's parameters beside them:

    - kind: not_null          # a registered kind (GET /api/v1/quality/kinds lists them)
      field: 姓名
      name: 姓名必填           # optional, unique in the set; default "<kind>(<fields>)"
      blocking: true          # optional: a version failing it is held back (once integrated)
      weight: 2               # optional, > 0: its weight within its dimension
      dimension: accuracy     # optional: count towards another dimension than the kind's

Saving refuses the whole set at the first rule that is wrong (an unknown kind or field, a
parameter missing or of the wrong type, a kind that does not apply to the field's type, a bad
regular expression), naming the rule by position and name and saying why.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.quality.kinds import Context, Dimension, KeyKind, Params, RowKind, RuleError, RuleKind

MAX_RULES = 500
DEFAULT_SAMPLE = 5
COMMON = ("name", "kind", "blocking", "weight", "dimension", "description")


class RuleIn(BaseModel):
    """The keys every rule has; the rest are its kind's parameters."""

    model_config = ConfigDict(extra="allow")
    kind: str = Field(min_length=1, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=100)
    blocking: bool = False
    weight: float = Field(default=1.0, gt=0, le=1000)
    dimension: Dimension | None = None
    description: str | None = Field(default=None, max_length=2000)


class RuleSetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[dict[str, Any]] = Field(max_length=MAX_RULES)
    sample_size: int = Field(default=DEFAULT_SAMPLE, ge=0, le=50)
    """Failing rows kept per rule (masked); 0 keeps none."""


@dataclass(frozen=True)
class Rule:
    position: int
    name: str
    kind: RuleKind
    params: Params
    blocking: bool
    weight: float
    dimension: str
    description: str | None = None

    def as_dict(self) -> dict:
        out = {"name": self.name, "kind": self.kind.name, **self.params.model_dump(mode="json")}
        out.update(blocking=self.blocking, weight=self.weight, dimension=self.dimension)
        if self.description:
            out["description"] = self.description
        return out

    @property
    def fields(self) -> list[str]:
        return self.kind.fields_of(self.params)


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    sample_size: int = DEFAULT_SAMPLE

    def as_dict(self) -> dict:
        return {"rules": [r.as_dict() for r in self.rules], "sample_size": self.sample_size}


def load_text(text: str) -> Any:
    """A rule set written in YAML (JSON is YAML too)."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise InvalidInput(
            M_("cannot read the rule set: %(problem)s", problem=str(e)), where="rules"
        ) from None


def _problem(e: ValidationError) -> str:
    first = e.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def _refuse(position: int, name: str | None, problem) -> InvalidInput:
    label = f"#{position + 1}" + (f" ({name})" if name else "")
    return InvalidInput(
        M_("rule %(rule)s: %(problem)s", rule=label, problem=problem), where=f"rules[{position}]"
    )


def parse(raw: Any, kinds: dict[str, RuleKind], ctx: Context) -> RuleSet:
    """Check a rule set against the registered kinds and the dataset's columns (`ctx`)."""
    if isinstance(raw, list):
        raw = {"rules": raw}
    if not isinstance(raw, dict):
        raise InvalidInput(M_("a rule set is a list of rules or a mapping with rules"), where="rules")
    try:
        head = RuleSetIn.model_validate(raw)
    except ValidationError as e:
        raise InvalidInput(M_("invalid rule set: %(problem)s", problem=_problem(e)), where="rules") from None
    from shuzhi.quality.engine import Planner  # the engine imports this module

    rules, names = [], set()
    with Planner(ctx.columns) as planner:
        for i, item in enumerate(head.rules):
            rule = parse_rule(i, item, kinds, ctx, planner)
            if rule.name in names and item.get("name") is None:
                # Two rules of one kind on one field (two patterns) differ by their position.
                rule = dataclasses.replace(rule, name=f"{rule.name} #{i + 1}")
            if rule.name in names:
                raise _refuse(i, rule.name, M_("another rule has this name"))
            names.add(rule.name)
            rules.append(rule)
    return RuleSet(tuple(rules), head.sample_size)


def parse_rule(i: int, item: Any, kinds: dict[str, RuleKind], ctx: Context, planner) -> Rule:
    name = item.get("name") if isinstance(item, dict) else None
    name = name if isinstance(name, str) else None
    try:
        common = RuleIn.model_validate(item)
    except ValidationError as e:
        raise _refuse(i, name, _problem(e)) from None
    kind = kinds.get(common.kind)
    if kind is None:
        raise _refuse(
            i, name, M_("unknown kind %(kind)s (known: %(known)s)", kind=common.kind, known=", ".join(kinds))
        )
    try:
        params = kind.params.model_validate({k: v for k, v in item.items() if k not in COMMON})
    except ValidationError as e:
        raise _refuse(i, name, _problem(e)) from None
    fields = kind.fields_of(params)
    for f in fields:
        if f not in ctx.columns:
            raise _refuse(i, name, M_("unknown field %(field)s", field=f))
    if isinstance(kind, KeyKind) and len(set(fields)) != len(fields):
        raise _refuse(i, name, M_("a field is named twice"))
    try:
        ctx.position = i
        kind.check(params, ctx)
        if isinstance(kind, RowKind):
            sql_check(kind.compile(params, ctx), planner)
    except RuleError as e:
        raise _refuse(i, name, e.message) from None
    return Rule(
        position=i,
        name=common.name or f"{kind.name}({', '.join(fields)})",
        kind=kind,
        params=params,
        blocking=common.blocking,
        weight=common.weight,
        dimension=common.dimension or kind.dimension,
        description=common.description,
    )


def sql_check(check, planner) -> None:
    """Let DuckDB plan the rule's expressions over an empty table of the right columns: a bad
    regular expression, a bad strptime format or a type error is caught when saving, not running."""
    problem = planner.explain(check)
    if problem:
        raise RuleError(M_("the rule does not compile: %(problem)s", problem=problem))
