"""Rule kinds: each a small class from (its parameters, the version's column types) to SQL.

A row kind (`RowKind`) gives two boolean SQL expressions over one row of the version, `applies` (the
row is checked) and `fails` (a checked row violates the rule); the compiler counts both for every
rule in one scan. A key kind (`KeyKind`, uniqueness) gives the key columns; the compiler groups on
them. A version kind (`VersionKind`, timeliness) judges the version's arrival, not its rows.

Semantics shared by the kinds (docs/quality.md lists them per kind):
- *absent*: NULL, and for a text column a value made only of blank characters (`BLANK`). Only
  the completeness kinds count absent values as failures; every other kind does not check them
  (a row with an absent value is not among the rows checked).
- a parameter naming a field must name a field of the dataset; a kind refuses a column whose type
  it cannot check (a range on a text column), when the rule set is saved.

`KINDS` lists the built-in kinds; a plugin adds kinds through the `quality_rule_kinds` hook, as the
built-ins are registered (`shuzhi.quality.plugin`). `rule_kinds()` is the registry of both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import count
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shuzhi.i18n import M_, N_

DIMENSIONS = ("completeness", "accuracy", "consistency", "timeliness", "uniqueness", "validity")
"""The six dimensions of GB/T 36344 / ISO 8000 a score is given on."""

DIMENSION_LABELS = {
    "completeness": N_("completeness"),
    "accuracy": N_("accuracy"),
    "consistency": N_("consistency"),
    "timeliness": N_("timeliness"),
    "uniqueness": N_("uniqueness"),
    "validity": N_("validity"),
}
"""The dimensions in words (msgids, shown in the reader's language)."""

Dimension = Literal["completeness", "accuracy", "consistency", "timeliness", "uniqueness", "validity"]

BLANK = " \t\n\r\f\v\u3000\u00a0"
"""Characters a blank text value is made of: ASCII white space, the ideographic (full-width) space
U+3000 and the no-break space U+00A0. The empty string is blank."""
BLANK_CODES = ", ".join(str(ord(c)) for c in "\0" + BLANK)
"""Code points a value's first character has when the value may be blank (0: the empty string)."""


def _not_blank_starts() -> list[tuple[int, int | None]]:
    """Ranges [low, high) of first code points above the space that no blank character has."""
    codes = sorted(ord(c) for c in BLANK if ord(c) >= 32)
    return [(a + 1, b) for a, b in zip(codes, codes[1:], strict=False) if b > a + 1] + [(codes[-1] + 1, None)]


NOT_BLANK_STARTS = _not_blank_starts()


def _starts_not_blank(c: str) -> str:
    """SQL: the value's first character is none of BLANK (printable ASCII, CJK…), told by comparing
    strings, which DuckDB does on their bytes, and UTF-8's byte order is the code points' order:
    a comparison against a constant costs far less than `ascii()` decoding the first character."""
    tests = [
        f"{c} >= chr({low})" + (f" AND {c} < chr({high})" if high is not None else "")
        for low, high in NOT_BLANK_STARTS
    ]
    return "(" + " OR ".join(f"({t})" for t in tests) + ")"


FAMILIES = ("text", "integer", "number", "date", "timestamp", "boolean", "other")

_FAMILY_PATTERNS = (
    ("text", r"^(varchar|string|large_string|text|char|bpchar|utf8|large_utf8)\b"),
    ("integer", r"^(u?(tiny|small|big|huge)?int(eger)?\d*|u?int\d+|long|short)\b"),
    ("number", r"^(float|double|real|decimal|numeric|halffloat)"),
    ("date", r"^date"),
    ("timestamp", r"^(timestamp|datetime)"),
    ("boolean", r"^bool"),
)


def family(type_name: str) -> str:
    """The family of a DuckDB or Arrow type name (VARCHAR, BIGINT, date32[day], timestamp[us]…)."""
    t = (type_name or "").strip().lower()
    for name, pattern in _FAMILY_PATTERNS:
        if re.match(pattern, t):
            return name
    return "other"


class RuleError(Exception):
    """A rule that cannot be compiled as written: the message (from the catalog) says why."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lit(value: Any) -> str:
    """A SQL literal of a parameter value (never a value from the data)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def in_list(values) -> str:
    return "(" + ", ".join(lit(v) for v in values) + ")" if values else "(NULL)"


@dataclass
class Context:
    """What a kind compiles against: the version's columns (name → family) and what the run knows."""

    columns: dict[str, str]
    as_of: dt.date = field(default_factory=dt.date.today)
    """The day the version arrived: "in the future" means after it (a rerun judges the same)."""
    vocabulary: Callable[[str], list[str] | None] = lambda name: None
    references: dict[int, str] = field(default_factory=dict)
    """For a referential rule (by its position), the SQL source of the referenced version, once resolved."""
    position: int = 0
    derived: dict[str, Derived] = field(default_factory=dict)
    """Values of each row the rules compiled so far compute once (their SQL → the column)."""
    automata: bool = False
    """Whether a pattern of the subset `classify.patterns` compiles runs by its automaton (a compiled
    loop) rather than RE2 alone (`full_match`): the engine asks for it where a scan calls into
    Python anyway (`quality.engine.Runner._riders`)."""
    dictionary: frozenset[str] = frozenset()
    """Text fields the version stores with a small dictionary in every row group (read from its
    Parquet footer: `quality.engine.small_dictionaries`): a pattern over one is judged once per
    distinct value (`full_match`)."""

    def col(self, name: str) -> str:
        return "t." + ident(name)

    def family(self, name: str) -> str:
        return self.columns[name]

    def present(self, name: str) -> str:
        """SQL: the field's value is not absent (not NULL, and for text not blank)."""
        c = self.col(name)
        if self.family(name) == "text":
            # Nearly every value starts with a character that is not blank, which decides it without
            # the regular expression (a call per value, the dearer test): first by comparisons of
            # the string, then (control characters) by its first code point; CASE runs the regular
            # expression on the rest only. ascii('') is 0, so the empty string goes to it too.
            return (
                f"({c} IS NOT NULL AND CASE WHEN {_starts_not_blank(c)} THEN true"
                f" WHEN ascii({c}) NOT IN ({BLANK_CODES}) THEN true"
                f" ELSE NOT regexp_full_match({c}, {lit('[' + BLANK + ']*')}) END)"
            )
        return f"({c} IS NOT NULL)"

    def derive(self, sql: str) -> Derived:
        """A value of each row computed once in the scan, before any rule's conditions, which those
        conditions name by `.ref`: for an expression several conditions (of one rule or of several)
        read, which DuckDB would otherwise compute once per use. The same SQL gets the same column."""
        return self._derived(sql, None)

    def call(self, function: str, *args: str) -> Derived:
        """`derive` of one call of a function: a compiled check (`classify.vectorised.FUNCTIONS`)
        asked for this way shares DuckDB's call into Python per vector with the scan's other
        compiled checks (`quality.engine.fuse`)."""
        return self._derived(f"{function}({', '.join(args)})", (function, args))

    def _derived(self, sql: str, call: tuple[str, tuple[str, ...]] | None) -> Derived:
        # `call` is built here from the same parts as `sql`, never given apart from it: the fused
        # call computes what `sql` would.
        if sql not in self.derived:
            self.derived[sql] = Derived(self.fresh(), sql, call)
        return self.derived[sql]

    def fresh(self) -> str:
        """A name for a column of the row `t` that no column of the version and no derived value has."""
        taken = {c.lower() for c in self.columns} | {d.name for d in self.derived.values()}
        return next(n for i in count() if (n := f"_sz_{i}") not in taken)

    def need(self, name: str, families: tuple[str, ...], kind: str) -> str:
        """The field's family, refused unless one of `families`."""
        fam = self.columns[name]
        if fam not in families:
            raise RuleError(
                M_(
                    "kind %(kind)s does not apply to field %(field)s of type %(type)s (it takes %(types)s)",
                    kind=kind,
                    field=name,
                    type=fam,
                    types=", ".join(families),
                )
            )
        return fam


def full_match(ctx: Context, value: str, pattern: str) -> tuple[str, tuple[Derived, ...]]:
    """SQL: `value` (text) matches the whole of `pattern`, as DuckDB's `regexp_full_match` (RE2) says,
    and the derived values it reads. With `ctx.automata`, a pattern of the subset `classify.patterns`
    compiles is run by its automaton (a compiled loop, in the scan's one call per vector), and RE2
    judges only the values that the automaton leaves undecided (a byte above 127); otherwise RE2
    alone. NULL for a NULL value, as RE2's."""
    from shuzhi.classify import vectorised

    re2 = f"regexp_full_match({value}, {lit(pattern)})"
    if value in {ctx.col(f) for f in ctx.dictionary} and "\\Q" not in pattern:
        return by_dictionary(value, pattern), ()
    name = vectorised.matcher(pattern) if ctx.automata else None
    if name is None:
        return re2, ()
    m = ctx.call(name, value)
    return f"(CASE {m.ref} WHEN 2 THEN {re2} ELSE {m.ref} = 1 END)", (m,)


def by_dictionary(value: str, pattern: str) -> str:
    """SQL: `regexp_full_match(value, pattern)`, written so that DuckDB evaluates it once per entry
    of a dictionary-encoded vector (it does so for functions that cannot fail; `regexp_replace` is
    one, `regexp_full_match` is not): a value matches the whole pattern exactly when replacing the
    pattern anchored at both ends leaves nothing of it. The empty value leaves nothing whatever the
    pattern, so it matches as the pattern matches ''; that constant, folded once, also has RE2
    compile the pattern as written, refusing what it refuses. A valid pattern cannot reach outside
    the group it is wrapped in, except through `\\Q` (quoting to its end), which stays with RE2."""
    anchored = lit(f"^(?:{pattern})$")
    return f"(regexp_replace({value}, {anchored}, '') = '' AND ({value} <> '' OR regexp_full_match('', {lit(pattern)})))"


@dataclass(frozen=True)
class Join:
    """A relation the scan joins (a referential rule's keys): alias and the SQL of the join."""

    alias: str
    sql: str


@dataclass(frozen=True)
class Derived:
    """A value of each row the scan computes once, as column `name` of the row `t` (`Context.derive`)."""

    name: str
    sql: str
    call: tuple[str, tuple[str, ...]] | None = None
    """When `sql` is one call of a function: its name and its arguments' SQL (`Context.call`)."""

    @property
    def ref(self) -> str:
        return "t." + ident(self.name)


@dataclass(frozen=True)
class RowCheck:
    applies: str
    fails: str
    fields: tuple[str, ...]
    """Fields shown in a failing row's sample."""
    joins: tuple[Join, ...] = ()
    derived: tuple[Derived, ...] = ()
    """The derived values `applies` and `fails` read."""


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleKind:
    """A rule kind: its name, the dimension its rules count towards, its parameters and labels."""

    name: ClassVar[str]
    dimension: ClassVar[str]
    label_zh: ClassVar[str]
    label_en: ClassVar[str]
    params: ClassVar[type[Params]] = Params
    field_params: ClassVar[tuple[str, ...]] = ("field",)
    """Parameters that name fields (a str, or a list of str)."""
    value_params: ClassVar[dict[str, str]] = {}
    """Parameters holding values of the data (bounds, enumerations, patterns spelling values), each
    to the parameter naming the field they are values of: masked by that field's grade when shown
    (`shuzhi.quality.masking`)."""

    def fields_of(self, p: Params) -> list[str]:
        out: list[str] = []
        for name in self.field_params:
            value = getattr(p, name, None)
            out += [value] if isinstance(value, str) else list(value or [])
        return out

    def check(self, p: Params, ctx: Context) -> None:
        """Refuse a rule this kind cannot run on these columns (RuleError); compiling checks too."""


class RowKind(RuleKind):
    def compile(self, p: Params, ctx: Context) -> RowCheck:
        raise NotImplementedError

    def check(self, p: Params, ctx: Context) -> None:
        self.compile(p, ctx)


class KeyKind(RuleKind):
    """Rows are grouped on key fields; a row fails when its key is shared with another row."""


class VersionKind(RuleKind):
    """Judges the version as a whole: one thing checked, failed or not."""

    def evaluate(self, p: Params, facts: VersionFacts) -> tuple[int, int, dict]:
        raise NotImplementedError


@dataclass(frozen=True)
class VersionFacts:
    frequency: str | None
    arrived: dt.datetime
    previous: dt.datetime | None
    due: dt.datetime | None
    """When this version was due: the previous version's arrival plus the declared update period."""


# -- completeness ---------------------------------------------------------------------------------


class FieldParams(Params):
    field: str


class NotNull(RowKind):
    name, dimension, label_zh, label_en = "not_null", "completeness", "非空", "not null"
    params = FieldParams

    def compile(self, p: FieldParams, ctx: Context) -> RowCheck:
        return RowCheck("TRUE", f"{ctx.col(p.field)} IS NULL", (p.field,))


class NotBlank(RowKind):
    name, dimension, label_zh, label_en = "not_blank", "completeness", "非空白", "not blank"
    params = FieldParams

    def compile(self, p: FieldParams, ctx: Context) -> RowCheck:
        return RowCheck("TRUE", f"NOT {ctx.present(p.field)}", (p.field,))


# -- validity ---------------------------------------------------------------------------------------

TYPE_PATTERNS = {
    "integer": r"[+-]?[0-9]+",
    "number": r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?",
    "date": r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
    # Hours 00-23: DuckDB's cast reads 24:00 as the next day's midnight.
    "timestamp": r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T]([01][0-9]|2[0-3]):[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?",
    # Either case of ASCII letters only: RE2's (?i) folds Unicode too (the long s "ſ" for an s).
    "boolean": r"[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee]|[Tt]|[Ff]|[Yy][Ee][Ss]|[Nn][Oo]|[Yy]|[Nn]|1|0",
}
"""What a text value of each type looks like (the whole value, no surrounding spaces)."""
_CASTS = {"integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "timestamp": "TIMESTAMP"}
FIRST_DAY = "DATE '0001-01-01'"
"""The calendar's first day: DuckDB reads a year 0000 as 1 BC, which no date of a record is."""


class TypeParams(FieldParams):
    type: Literal["integer", "number", "date", "timestamp", "boolean"]
    format: str | None = Field(default=None, max_length=64)
    """For a date or timestamp: a strptime format (`%Y%m%d`) instead of ISO 8601."""


class TypeKind(RowKind):
    name, dimension, label_zh, label_en = "type", "validity", "类型", "type"
    params = TypeParams

    def compile(self, p: TypeParams, ctx: Context) -> RowCheck:
        fam = ctx.family(p.field)
        same = fam == p.type or (p.type == "number" and fam == "integer")
        if same:
            return RowCheck(ctx.present(p.field), "FALSE", (p.field,))
        ctx.need(p.field, ("text",), self.name)
        c, derived = ctx.col(p.field), ()
        if p.format is not None:
            if p.type not in ("date", "timestamp"):
                raise RuleError(M_("a format applies to a date or timestamp type"))
            ok = f"coalesce(try_strptime({c}, {lit(p.format)}) >= {FIRST_DAY}, false)"
        else:
            ok, derived = full_match(ctx, c, TYPE_PATTERNS[p.type])
            cast = f"TRY_CAST({c} AS {_CASTS[p.type]}) IS NOT NULL" if p.type in _CASTS else None
            if p.type == "integer":
                # Fewer than 19 characters of digits always fit in a BIGINT: the cast (the dearer
                # half of this rule) only judges longer values, inside a CASE, which runs it on them alone.
                ok += f" AND CASE WHEN length({c}) < 19 THEN true ELSE {cast} END"
            elif p.type in ("date", "timestamp"):
                ok += f" AND coalesce(TRY_CAST({c} AS {_CASTS[p.type]}) >= {FIRST_DAY}, false)"
            elif cast:
                ok += f" AND {cast}"
        return RowCheck(ctx.present(p.field), f"NOT ({ok})", (p.field,), derived=derived)


Bound = int | float | dt.date | dt.datetime


class RangeParams(FieldParams):
    min: Bound | None = None
    max: Bound | None = None


class RangeKind(RowKind):
    name, dimension, label_zh, label_en = "range", "validity", "取值范围", "range"
    params = RangeParams
    value_params = {"min": "field", "max": "field"}

    def compile(self, p: RangeParams, ctx: Context) -> RowCheck:
        fam = ctx.need(p.field, ("integer", "number", "date", "timestamp"), self.name)
        if p.min is None and p.max is None:
            raise RuleError(M_("a range needs min, max or both"))
        c, parts = ctx.col(p.field), []
        for bound, op in ((p.min, "<"), (p.max, ">")):
            if bound is None:
                continue
            numeric = isinstance(bound, int | float) and not isinstance(bound, bool)
            if (fam in ("integer", "number")) != numeric:
                raise RuleError(M_("the bounds of a range must have the field's type (%(type)s)", type=fam))
            parts.append(f"{c} {op} {lit(bound)}")
        if p.min is not None and p.max is not None and _after(p.min, p.max):
            raise RuleError(M_("min is greater than max"))
        if fam == "number":
            parts.insert(0, not_a_number(c))
        return RowCheck(ctx.present(p.field), " OR ".join(parts), (p.field,))


def not_a_number(c: str) -> str:
    """SQL: a number field's value is NaN, which lies in no range and in no order (DuckDB orders it
    above every number: by the comparisons alone it would fail a `max` and pass a `min`)."""
    return f"isnan({c})"


def _after(a: Bound, b: Bound) -> bool:
    # A date bound against a timestamp bound compares as the start of that day.
    def widen(x: Bound) -> Bound:
        return dt.datetime.combine(x, dt.time()) if type(x) is dt.date else x

    return widen(a) > widen(b)


class RegexParams(FieldParams):
    pattern: str = Field(min_length=1, max_length=1000)


class RegexKind(RowKind):
    name, dimension, label_zh, label_en = "regex", "validity", "正则格式", "pattern"
    params = RegexParams
    value_params = {"pattern": "field"}

    def compile(self, p: RegexParams, ctx: Context) -> RowCheck:
        ctx.need(p.field, ("text",), self.name)
        ok, derived = full_match(ctx, ctx.col(p.field), p.pattern)
        return RowCheck(ctx.present(p.field), f"NOT {ok}", (p.field,), derived=derived)


class EnumParams(FieldParams):
    values: list[str | int] | None = Field(default=None, max_length=10000)
    vocabulary: str | None = Field(default=None, max_length=64)
    """A controlled vocabulary of the catalog: its codes and Chinese labels are the allowed values."""


class EnumKind(RowKind):
    name, dimension, label_zh, label_en = "enum", "validity", "枚举值", "enumeration"
    params = EnumParams
    value_params = {"values": "field"}

    def compile(self, p: EnumParams, ctx: Context) -> RowCheck:
        fam = ctx.need(p.field, ("text", "integer"), self.name)
        if (p.values is None) == (p.vocabulary is None):
            raise RuleError(M_("an enumeration takes either values or a vocabulary"))
        allowed = p.values
        if p.vocabulary is not None:
            allowed = ctx.vocabulary(p.vocabulary)
            if allowed is None:
                raise RuleError(M_("no vocabulary %(name)s", name=p.vocabulary))
        if fam == "integer" and any(not isinstance(v, int) for v in allowed):
            raise RuleError(
                M_("the values of an enumeration must have the field's type (%(type)s)", type=fam)
            )
        values = allowed if fam == "integer" else [str(v) for v in allowed]
        return RowCheck(ctx.present(p.field), f"{ctx.col(p.field)} NOT IN {in_list(values)}", (p.field,))


REGIONS = "(SELECT code FROM sz_regions)"
"""GB/T 2260 codes of any year: the engine registers `sz_regions` (shuzhi.quality.regions.table)."""


def id_facts(ctx: Context, name: str) -> Derived:
    """What the field's resident IDs state (shape, check character, birth date, sex digit), read
    once per row for every rule on that field (`classify.vectorised.resident_id_facts`)."""
    return ctx.call("sz_gb11643_facts", ctx.col(name), "current_date")


FACTS_EPOCH = "DATE '1970-01-01'"
FACTS_DAY_OFFSET = 1_000_000
"""`classify.kernels.FACTS_DAY_OFFSET`, here so that compiling rules does not load the compiled loops."""


class ResidentIdKind(RowKind):
    """GB 11643: 18 characters with a valid check character, or 15 digits (legacy); the birth date a
    real date from 1890 to today; the first six digits a GB/T 2260 code of any year. As
    `classify.checksums.is_resident_id`, except that the value is checked as stored (no trimming);
    a lower-case x check character is accepted."""

    name, dimension, label_zh, label_en = "resident_id", "validity", "身份证号校验", "resident ID checksum"
    params = FieldParams

    def compile(self, p: FieldParams, ctx: Context) -> RowCheck:
        ctx.need(p.field, ("text",), self.name)
        facts = id_facts(ctx, p.field)
        # The region digits looked up by a compiled loop (fused with the facts: one call per vector)
        # rather than `left(…, 6) IN` the codes: a hash join probed by every row.
        region = ctx.call("sz_gb2260_prefix", ctx.col(p.field))
        ok = f"({facts.ref} & 2) = 2 AND {region.ref}"
        derived = (facts, region)
        return RowCheck(ctx.present(p.field), f"NOT coalesce({ok}, false)", (p.field,), derived=derived)


class CreditCodeKind(RowKind):
    """GB 32100 unified social credit code: 18 characters of its alphabet, digits 3–8 a region,
    the check character right (`classify.checksums.is_uscc` on the value as stored, either case)."""

    name, dimension, label_zh, label_en = (
        "credit_code",
        "validity",
        "统一社会信用代码校验",
        "credit code checksum",
    )
    params = FieldParams

    def compile(self, p: FieldParams, ctx: Context) -> RowCheck:
        ctx.need(p.field, ("text",), self.name)
        # The alphabet (either case, ASCII only: no Kelvin sign for a K), the region digits and the
        # check character in one vectorised function; a regular expression for the shape cost as
        # much again per value.
        ok = ctx.call("sz_uscc", ctx.col(p.field))
        return RowCheck(ctx.present(p.field), f"NOT coalesce({ok.ref}, false)", (p.field,), derived=(ok,))


class RegionParams(FieldParams):
    year: int | None = Field(default=None, ge=1949, le=2200)
    """The year the codes must be in force (see shuzhi.quality.regions); any year when not given."""


class RegionCodeKind(RowKind):
    name, dimension, label_zh, label_en = "region_code", "validity", "行政区划代码", "GB/T 2260 region code"
    params = RegionParams

    def compile(self, p: RegionParams, ctx: Context) -> RowCheck:
        fam = ctx.need(p.field, ("text", "integer"), self.name)
        c = ctx.col(p.field) if fam == "text" else f"CAST({ctx.col(p.field)} AS VARCHAR)"
        codes = (
            REGIONS
            if p.year is None
            else f"(SELECT code FROM sz_regions WHERE {p.year} BETWEEN first AND last)"
        )
        return RowCheck(ctx.present(p.field), f"{c} NOT IN {codes}", (p.field,))


def date_expr(ctx: Context, name: str, kind: str) -> str:
    """SQL: the field as a DATE (text read leniently by `sz_date`; NULL when it cannot be read)."""
    fam = ctx.need(name, ("date", "timestamp", "text"), kind)
    c = ctx.col(name)
    return f"sz_date({c})" if fam == "text" else f"CAST({c} AS DATE)"


class NotFutureKind(RowKind):
    name, dimension, label_zh, label_en = (
        "not_future",
        "validity",
        "日期不晚于到达日",
        "date not in the future",
    )
    params = FieldParams

    def compile(self, p: FieldParams, ctx: Context) -> RowCheck:
        d = date_expr(ctx, p.field, self.name)
        return RowCheck(f"{d} >= {FIRST_DAY}", f"{d} > {lit(ctx.as_of)}", (p.field,))


PHONE_PATTERNS = {
    "mobile": r"(\+?86[ -]?)?1[3-9][0-9]{9}",
    "landline": r"0[1-9][0-9]{1,2}-?[1-9][0-9]{6,7}(-[0-9]{1,6})?",
}


class PhoneParams(FieldParams):
    kinds: list[Literal["mobile", "landline"]] = Field(default=["mobile", "landline"], min_length=1)


class PhoneKind(RowKind):
    name, dimension, label_zh, label_en = "phone", "validity", "电话号码", "phone number"
    params = PhoneParams

    def compile(self, p: PhoneParams, ctx: Context) -> RowCheck:
        fam = ctx.need(p.field, ("text", "integer"), self.name)
        c = ctx.col(p.field) if fam == "text" else f"CAST({ctx.col(p.field)} AS VARCHAR)"
        pattern = "|".join(f"({PHONE_PATTERNS[k]})" for k in dict.fromkeys(p.kinds))
        ok, derived = full_match(ctx, c, pattern)
        return RowCheck(ctx.present(p.field), f"NOT {ok}", (p.field,), derived=derived)


# -- uniqueness ---------------------------------------------------------------------------------------


class UniqueParams(Params):
    fields: list[str] = Field(min_length=1, max_length=8)


class UniqueKind(KeyKind):
    """Rows whose key (every field present) equals another row's key all fail, every copy of it;
    a row with an absent key field is not checked."""

    name, dimension, label_zh, label_en = "unique", "uniqueness", "唯一性", "unique key"
    params = UniqueParams
    field_params = ("fields",)


# -- consistency ---------------------------------------------------------------------------------------

MALE = ["男", "男性", "M", "m", "male", "Male", "1"]
FEMALE = ["女", "女性", "F", "f", "female", "Female", "2"]


class IdMatchParams(Params):
    id: str
    birth: str | None = None
    sex: str | None = None
    male: list[str] = Field(default=MALE, min_length=1, max_length=50)
    female: list[str] = Field(default=FEMALE, min_length=1, max_length=50)


class IdMatchesKind(RowKind):
    """The birth date and sex a row states agree with its resident ID number (digits 7–14, or 7–12
    of a 15-digit number; the 17th digit, the 15th of a 15-digit one, odd for a man). A row is
    checked when its ID has an ID's shape and at least one of the other fields can be read (a date;
    a sex value in `male` or `female`); it fails when one that can be read disagrees."""

    name, dimension, label_zh, label_en = (
        "id_matches",
        "consistency",
        "身份证号与出生日期、性别一致",
        "ID agrees with birth date and sex",
    )
    params = IdMatchParams
    field_params = ("id", "birth", "sex")
    value_params = {"male": "sex", "female": "sex"}

    def compile(self, p: IdMatchParams, ctx: Context) -> RowCheck:
        if p.birth is None and p.sex is None:
            raise RuleError(M_("name a birth field, a sex field or both"))
        ctx.need(p.id, ("text",), self.name)
        facts = id_facts(ctx, p.id)
        f, derived = facts.ref, [facts]
        readable, wrong = [], []
        if p.birth is not None:
            b = date_expr(ctx, p.birth, self.name)
            if ctx.family(p.birth) == "text":  # read leniently: dear, and read twice below
                derived.append(ctx.derive(b))
                b = derived[-1].ref
            readable.append(f"{b} IS NOT NULL")
            # The ID's birth date as a day number: no date is built from it per row.
            wrong.append(f"({b} IS NOT NULL AND {b} - {FACTS_EPOCH} <> ({f} >> 2) - {FACTS_DAY_OFFSET})")
        if p.sex is not None:
            fam = ctx.need(p.sex, ("text", "integer"), self.name)
            s = ctx.col(p.sex) if fam == "text" else f"CAST({ctx.col(p.sex)} AS VARCHAR)"
            is_male, is_female = f"{s} IN {in_list(p.male)}", f"{s} IN {in_list(p.female)}"
            readable.append(f"({is_male} OR {is_female})")
            wrong.append(f"((({f} & 1) = 0 AND {is_male}) OR (({f} & 1) = 1 AND {is_female}))")
        # At least 4: an ID's shape and a real birth date (the facts' day number is above 0).
        applies = f"{f} >= 4 AND ({' OR '.join(readable)})"
        fields = tuple(x for x in (p.id, p.birth, p.sex) if x)
        return RowCheck(applies, " OR ".join(wrong), fields, derived=tuple(derived))


class OrderParams(Params):
    start: str
    end: str
    strict: bool = False
    """End strictly after start (equal fails); by default equal passes."""


class FieldOrderKind(RowKind):
    name, dimension, label_zh, label_en = "field_order", "consistency", "先后顺序", "end not before start"
    params = OrderParams
    field_params = ("start", "end")

    def compile(self, p: OrderParams, ctx: Context) -> RowCheck:
        kinds = ("integer", "number", "date", "timestamp")
        a, b = ctx.need(p.start, kinds, self.name), ctx.need(p.end, kinds, self.name)
        numeric = {"integer", "number"}
        if (a in numeric) != (b in numeric):
            raise RuleError(M_("fields %(a)s and %(b)s cannot be compared", a=p.start, b=p.end))
        s, e = ctx.col(p.start), ctx.col(p.end)
        op = "<=" if p.strict else "<"
        nan = [not_a_number(c) for c, fam in ((s, a), (e, b)) if fam == "number"]
        return RowCheck(
            f"{s} IS NOT NULL AND {e} IS NOT NULL", " OR ".join([*nan, f"{e} {op} {s}"]), (p.start, p.end)
        )


class ReferenceParams(FieldParams):
    dataset: str = Field(min_length=1, max_length=100)
    """The referenced dataset (identifier); its newest version at run time is read."""
    ref_field: str = Field(min_length=1, max_length=200)


class ReferencesKind(RowKind):
    """Every present value exists among the referenced dataset's values of `ref_field` (compared as
    text, exactly)."""

    name, dimension, label_zh, label_en = (
        "references",
        "consistency",
        "参照完整性",
        "exists in another dataset",
    )
    params = ReferenceParams

    def compile(self, p: ReferenceParams, ctx: Context) -> RowCheck:
        source = ctx.references.get(ctx.position, "(SELECT NULL AS k WHERE FALSE)")
        alias = f"r{ctx.position}"
        c = ctx.col(p.field)
        text = c if ctx.family(p.field) == "text" else f"CAST({c} AS VARCHAR)"
        join = Join(alias, f"LEFT JOIN {source} AS {alias} ON {text} = {alias}.k")
        return RowCheck(ctx.present(p.field), f"{alias}.k IS NULL", (p.field,), (join,))


# -- timeliness ---------------------------------------------------------------------------------------


class TimelyParams(Params):
    grace_days: int = Field(default=0, ge=0, le=3660)


class TimelinessKind(VersionKind):
    """The version arrived by its due date (previous version's arrival plus the dataset's update
    period, plus `grace_days`). Not checked for the first version or a frequency with no period
    (real-time, irregular)."""

    name, dimension, label_zh, label_en = "timeliness", "timeliness", "按期更新", "arrived on time"
    params = TimelyParams
    field_params = ()

    def evaluate(self, p: TimelyParams, facts: VersionFacts) -> tuple[int, int, dict]:
        if facts.due is None:
            return 0, 0, {"frequency": facts.frequency}
        due = facts.due + dt.timedelta(days=p.grace_days)
        late = facts.arrived > due
        detail = {"frequency": facts.frequency, "due": due.isoformat(), "arrived": facts.arrived.isoformat()}
        if late:
            detail["late_days"] = (facts.arrived - due).days
        return 1, int(late), detail


KINDS: tuple[RuleKind, ...] = (
    NotNull(),
    NotBlank(),
    TypeKind(),
    RangeKind(),
    RegexKind(),
    EnumKind(),
    ResidentIdKind(),
    CreditCodeKind(),
    RegionCodeKind(),
    NotFutureKind(),
    PhoneKind(),
    UniqueKind(),
    IdMatchesKind(),
    FieldOrderKind(),
    ReferencesKind(),
    TimelinessKind(),
)
"""The built-in kinds, registered through the `quality_rule_kinds` hook like a plugin's."""


def rule_kinds() -> dict[str, RuleKind]:
    """Every registered kind by name: the built-ins, then the plugins'. Two kinds of one name are a
    deployment error."""
    from shuzhi.hooks import collect

    found: dict[str, RuleKind] = {}
    for kind in collect("quality_rule_kinds"):
        if kind.name in found:
            raise ValueError(f"two quality rule kinds are named {kind.name!r}")
        if kind.dimension not in DIMENSIONS:
            raise ValueError(f"quality rule kind {kind.name!r} counts towards no dimension")
        found[kind.name] = kind
    return found
