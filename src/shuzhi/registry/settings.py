"""A registry's settings file (YAML): its sources, identifiers, blocking, comparisons, training, thresholds.

The schema, key by key (every key not listed here is refused):

    name: people                      # the registry's name
    kind: person                      # person | enterprise | generic
    dedupe_within_sources: true       # also link records of one dataset to each other (default true)
    build: full                       # full | incremental: how `shuzhi registry build` runs by default
    title_zh: 人口基础库               # optional titles (pages, the published dataset)
    title_en: Population registry
    department: HZ-DATA               # optional stewarding department (default: the registering admin's)
    publish: true                     # publish the golden table as dataset registry-<name> after each build
    sources:                          # the datasets that feed it
      - dataset: hz-psb-population    # a dataset identifier
        key: 身份证号                  # natural-key column of the source, or omitted / null
        mapping: {name: 姓名, ric: 身份证号, birth_date: 出生日期}   # attribute: source column
        trust: {name: 3}              # optional: rank per attribute (higher is trusted more)
    identifiers:                      # deterministic links, only where the flag column is true
      - {column: ric18, valid: ric_valid}
    blocking:                         # candidate pairs: the union of the rules
      - columns: [name_norm, birth_date_norm]       # column equalities
      - sql: "substr(l.phone_norm, 1, 7) = substr(r.phone_norm, 1, 7)"   # checked, see below
    comparisons:                      # one per column, a kind from COMPARISON_KINDS
      - {column: name_norm, kind: pinyin_hanzi, pinyin_column: name_pinyin, thresholds: [0.9], tf: true}
      - {column: birth_date_norm, kind: date_difference, thresholds: [30, 365], unit: day, typo_distance: 1}
      - {column: phone_norm, kind: levenshtein, thresholds: [1, 2]}
      - {column: addr_region_code, kind: prefix, lengths: [6, 4, 2]}
    training:
      u: {max_pairs: 10000000, seed: 42}       # u by random sampling
      em_blocking: [{columns: [name_norm]}, {columns: [birth_date_norm]}]   # m by EM, one session per rule
      em_max_pairs: 5000000                     # optional cap on the pairs of each EM session
      reuse: true                               # incremental builds score with the last run's model
      prior: {rules: [{columns: [name_norm, birth_date_norm]}], recall: 0.7}   # optional
    thresholds: {scale: probability, link: 0.95, review: 0.8}   # or scale: weight
    survivorship: {name: most_trusted, ric: valid_identifier}   # for golden records

Blocking and comparison SQL is parsed with sqlglot and admitted only if every column is `l.<column>`
or `r.<column>` of the record table and every construct and function is on an allowlist; the SQL
that runs is the one generated from the checked tree, never the text as written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import sqlglot
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlglot import exp

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_

Kind = Literal["person", "enterprise", "generic"]

RECORD_COLUMNS = ("record_key", "source_dataset", "source_version", "source_row")

_ADDRESS = ("addr_province", "addr_city", "addr_district", "addr_street", "addr_number", "addr_region_code")
DERIVED: dict[str, dict[str, tuple[str, ...]]] = {
    # Derived column names (fixed by the registry's records contract) by the raw attribute they need.
    "person": {
        "name": ("name_norm", "name_pinyin"),
        "ric": ("ric18", "ric_valid"),
        "birth_date": ("birth_date_norm",),
        "sex": ("sex_norm",),
        "phone": ("phone_norm",),
        "address": _ADDRESS,
    },
    "enterprise": {
        "name": ("name_norm", "firm_core", "firm_form", "firm_region", "firm_pinyin", "firm_branch"),
        "uscc": ("uscc_norm", "uscc_valid"),
        "legal_rep": ("legal_rep_norm", "legal_rep_pinyin"),
        "address": _ADDRESS,
        "phone": ("phone_norm",),
        "established": ("established_norm",),
    },
    "generic": {},
}

COMPARISON_KINDS = (
    "exact",
    "levenshtein",
    "damerau_levenshtein",
    "jaro_winkler",
    "jaro",
    "date_difference",
    "percentage_difference",
    "pinyin_hanzi",
    "prefix",
)
SURVIVORSHIP = ("most_recent", "most_trusted", "most_frequent", "valid_identifier")

# Functions a blocking rule may call (DuckDB names as sqlglot parses them); nothing that reads files,
# settings or other tables.
SQL_FUNCTIONS = frozenset(
    {
        "substring", "left", "right", "lower", "upper", "length", "trim", "coalesce", "abs",
        "levenshtein", "damerau_levenshtein", "jaro_winkler_similarity", "jaro_similarity",
        "jarowinkler_similarity", "concat", "nullif", "least", "greatest", "str_position",
    }
)  # fmt: skip
SQL_NODES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Is,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Between, exp.In, exp.DPipe, exp.Cast,
    exp.DataType, exp.Func,
)  # fmt: skip
# Operators sqlglot models as functions too (AND, OR, comparisons, CAST): checked as nodes above.
_OPERATORS = (exp.Binary, exp.Unary, exp.Predicate, exp.Cast, exp.Between, exp.In)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Source(_Model):
    dataset: str = Field(min_length=1, max_length=200)
    key: str | None = Field(default=None, min_length=1, max_length=200)
    """The natural-key column of the source; none: a record's key is a hash of its mapped values."""
    mapping: dict[str, str] = Field(min_length=1)
    """Canonical attribute → source column."""
    trust: dict[str, int] = Field(default_factory=dict)
    """Rank per attribute for the most_trusted survivorship (higher wins)."""

    @model_validator(mode="after")
    def _trust_mapped(self) -> Source:
        for attribute in self.trust:
            if attribute not in self.mapping:
                raise ValueError(f"trust names {attribute!r}, which mapping does not map")
        return self


class Identifier(_Model):
    column: str = Field(min_length=1)
    valid: str = Field(min_length=1)
    """A boolean column: the identifier is a key only where it is true."""


class Blocking(_Model):
    columns: list[str] | None = Field(default=None, min_length=1)
    """Equal on every one of these columns (YAML reads a bare `on` as true: hence `columns`)."""
    sql: str | None = Field(default=None, min_length=1, max_length=2000)

    @model_validator(mode="after")
    def _one_form(self) -> Blocking:
        if (self.columns is None) == (self.sql is None):
            raise ValueError("a blocking rule has exactly one of 'columns' or 'sql'")
        return self


class Comparison(_Model):
    column: str = Field(min_length=1)
    kind: Literal[COMPARISON_KINDS]  # type: ignore[valid-type]
    thresholds: list[float] = Field(default_factory=list, max_length=6)
    """Distances (levenshtein), similarities (jaro*, on the pinyin for pinyin_hanzi), date differences
    in `unit`, or percentages (0-1) of difference, from the closest level to the loosest."""
    unit: Literal["day", "month", "year"] = "day"
    date_format: str | None = None
    """strptime format of a date column held as text; ISO 8601 when omitted."""
    typo_distance: int = Field(default=0, ge=0, le=3)
    """date_difference: a level for dates within this edit distance as text (a mistyped digit)."""
    pinyin_column: str | None = None
    lengths: list[int] = Field(default_factory=list, max_length=6)
    """prefix: equal leading characters, longest first (a region code's 6, 4, 2)."""
    tf: bool = False
    """Term frequency adjustment of the exact level: a shared rare value counts more."""

    @model_validator(mode="after")
    def _kind_parameters(self) -> Comparison:
        needs_thresholds = {"levenshtein", "damerau_levenshtein", "jaro_winkler", "jaro"}
        needs_thresholds |= {"date_difference", "percentage_difference"}
        if self.kind in needs_thresholds and not self.thresholds:
            raise ValueError(f"kind {self.kind} needs thresholds")
        if self.kind == "prefix" and (not self.lengths or any(n < 1 for n in self.lengths)):
            raise ValueError("kind prefix needs lengths (positive integers)")
        if self.kind == "pinyin_hanzi" and self.pinyin_column is None:
            self.pinyin_column = _pinyin_of(self.column)
        return self

    def columns(self) -> list[str]:
        return [self.column] + ([self.pinyin_column] if self.pinyin_column else [])


def _pinyin_of(column: str) -> str:
    stem = column.removesuffix("_norm").removesuffix("_core")
    return "firm_pinyin" if column == "firm_core" else f"{stem}_pinyin"


class USettings(_Model):
    max_pairs: float = Field(default=1e7, gt=0, le=1e10)
    seed: int | None = 42


class Prior(_Model):
    rules: list[Blocking] = Field(min_length=1)
    recall: float = Field(gt=0, le=1)


class Training(_Model):
    u: USettings = Field(default_factory=USettings)
    em_blocking: list[Blocking] = Field(min_length=1)
    em_max_pairs: float | None = Field(default=None, gt=0, le=1e10)
    """Cap on the pairs each EM session reads (a hash sample of the blocked pairs); none: all."""
    prior: Prior | None = None
    max_iterations: int = Field(default=25, ge=1, le=200)
    reuse: bool = True
    """An incremental build scores new and changed records with the last run's model while the
    settings are unchanged (true), or trains again on one record per entry and the candidates (false)."""


class Thresholds(_Model):
    scale: Literal["probability", "weight"] = "probability"
    link: float
    review: float | None = None

    @model_validator(mode="after")
    def _bands(self) -> Thresholds:
        if self.scale == "probability":
            for value in (self.link, self.review):
                if value is not None and not 0 < value < 1:
                    raise ValueError("a probability threshold lies between 0 and 1")
        if self.review is not None and self.review > self.link:
            raise ValueError("the review threshold is below the link threshold")
        return self


REGISTRIES_DIR = Path(__file__).parent / "registries"
"""The settings files shipped with Shuzhi: the demo city's person and enterprise registries."""


class RegistrySettings(_Model):
    name: str = Field(min_length=1, max_length=100)
    kind: Kind
    title_zh: str | None = Field(default=None, min_length=1, max_length=200)
    title_en: str | None = Field(default=None, min_length=1, max_length=200)
    department: str | None = Field(default=None, min_length=1, max_length=64)
    """The stewarding department's code: the published golden table is its dataset (default: the
    department of the admin who registers the registry)."""
    publish: bool = True
    """Publish the golden table as the next version of dataset `registry-<name>` after each build."""
    dedupe_within_sources: bool = True
    build: Literal["full", "incremental"] = "full"
    """How a build runs unless the call says: relink every record, or only the new and changed ones."""
    sources: list[Source] = Field(min_length=1)
    identifiers: list[Identifier] = Field(default_factory=list)
    blocking: list[Blocking] = Field(min_length=1)
    comparisons: list[Comparison] = Field(min_length=1)
    training: Training
    thresholds: Thresholds
    survivorship: dict[str, Literal[SURVIVORSHIP]] = Field(default_factory=dict)  # type: ignore[valid-type]

    def attributes(self) -> set[str]:
        """The canonical attributes some source maps."""
        return {attribute for source in self.sources for attribute in source.mapping}

    def columns(self) -> set[str]:
        """Every column a record of this registry may have: the record's own, the mapped attributes,
        and the derived columns of those attributes."""
        attributes = self.attributes()
        derived = DERIVED[self.kind]
        return set(RECORD_COLUMNS) | attributes | {c for a in attributes for c in derived.get(a, ())}


class _Loader(yaml.SafeLoader):
    """YAML with the booleans of YAML 1.2 (true/false only): YAML 1.1 also reads on/off/yes/no as
    booleans, which would turn a key or a value such as `on` or `no` into true or false unseen."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _refuse(file: str, where: str, problem: str) -> InvalidInput:
    return InvalidInput(
        M_(
            "registry settings %(file)s: %(where)s: %(problem)s",
            file=file,
            where=where or "(top)",
            problem=problem,
        ),
        where=f"{file}:{where}" if where else file,
    )


def parse_settings(raw: Any, file: str = "<settings>") -> RegistrySettings:
    """Check a settings mapping (as read from YAML); refuse the first problem, naming the key path."""
    if not isinstance(raw, dict):
        raise _refuse(file, "", "a registry settings file is a mapping")
    try:
        settings = RegistrySettings.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        raise _refuse(file, _path(loc), first["msg"]) from None
    _check_columns(settings, file)
    return settings


def load_settings(path: str | Path) -> RegistrySettings:
    """Read and check a registry's settings file; a bad file is refused with its name, the key path
    and why (`shuzhi.errors.InvalidInput`)."""
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)  # noqa: S506 - a safe loader
    except OSError as e:
        raise _refuse(str(path), "", e.strerror or str(e)) from None
    except yaml.YAMLError as e:
        raise _refuse(str(path), "", str(e)) from None
    return parse_settings(raw, str(path))


def _check_columns(settings: RegistrySettings, file: str) -> None:
    known = settings.columns()

    def need(column: str, where: str) -> None:
        if column not in known:
            raise _refuse(
                file, where, f"column {column!r} is neither mapped by a source nor derived from one"
            )

    for i, ident in enumerate(settings.identifiers):
        need(ident.column, f"identifiers[{i}].column")
        need(ident.valid, f"identifiers[{i}].valid")
    rule_lists = [("blocking", settings.blocking), ("training.em_blocking", settings.training.em_blocking)]
    if settings.training.prior:
        rule_lists.append(("training.prior.rules", settings.training.prior.rules))
    for name, rules in rule_lists:
        for i, rule in enumerate(rules):
            for j, column in enumerate(rule.columns or ()):
                need(column, f"{name}[{i}].columns[{j}]")
            if rule.sql is not None:
                try:
                    check_sql(rule.sql, known)
                except ValueError as e:
                    raise _refuse(file, f"{name}[{i}].sql", str(e)) from None
    compared: dict[str, int] = {}
    for i, comparison in enumerate(settings.comparisons):
        need(comparison.column, f"comparisons[{i}].column")
        if comparison.column in compared:
            # Splink names a comparison's outputs after its column: one comparison per column.
            first = compared[comparison.column]
            raise _refuse(
                file, f"comparisons[{i}].column", f"comparisons[{first}] compares this column already"
            )
        compared[comparison.column] = i
        if comparison.pinyin_column:
            need(comparison.pinyin_column, f"comparisons[{i}].pinyin_column")
    attributes = settings.attributes()
    for attribute in settings.survivorship:
        if attribute not in attributes:
            raise _refuse(file, f"survivorship.{attribute}", f"attribute {attribute!r} is not mapped")


def check_sql(sql: str, columns: set[str]) -> str:
    """The SQL of a blocking rule, admitted only as a boolean expression over `l.<column>` and
    `r.<column>` of the record table with allowlisted constructs and functions; returns the SQL
    generated from the checked tree (what runs), or raises ValueError saying what is refused."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb", into=exp.Condition)
    except sqlglot.errors.SqlglotError as e:
        raise ValueError(f"not a SQL condition: {str(e).splitlines()[0]}") from None
    for node in tree.walk():
        if not isinstance(node, SQL_NODES):
            raise ValueError(f"{type(node).__name__.lower()} is not allowed in a rule")
        if isinstance(node, exp.Func) and not isinstance(node, _OPERATORS):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name not in SQL_FUNCTIONS:
                raise ValueError(f"function {name} is not allowed in a rule")
        if isinstance(node, exp.Column):
            if node.table not in ("l", "r") or node.args.get("db") or node.args.get("catalog"):
                raise ValueError(f"column {node.sql()} is not l.<column> or r.<column>")
            if node.name not in columns:
                raise ValueError(f"column {node.name!r} is neither mapped by a source nor derived from one")
    if not any(isinstance(n, exp.Column) for n in tree.walk()):
        raise ValueError("a rule compares columns of l and r")
    return tree.sql(dialect="duckdb")
