"""Masking rules: what a grant does to each field, compiled to SQL expression trees.

Every rule becomes a sqlglot expression over the raw column, so the same rule runs in DuckDB
and transpiles to Spark; nothing is masked row by row in Python.

Keyed hash: HMAC-SHA256 written out in SQL from the RFC 2104 definition,
``sha256((K xor opad) || unhex(sha256((K xor ipad) || value)))``, with the two padded keys
as constant blobs. It is DuckDB's vectorised ``sha256`` on BLOBs (Spark's ``sha2``) — no Python
UDF, so it runs at engine speed — and it yields exactly ``hmac.new(key, value, sha256)``. The key
is derived per grant, so digests join within one grant and never across grants. The padded key
appears only in the rewritten SQL, which is never shown to the consumer.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, Pair

REDACTED = "***"

GRADE_DEFAULTS: dict[str, str] = {"L1": "clear", "L2": "clear", "L3": "clear", "L4": "hash"}
"""Mask a field gets when its grant names none: L4 is hashed unless the grant says clear."""

# Functions a custom mask or a row filter may call: scalar, deterministic, no I/O.
SAFE_FUNCTIONS = frozenset(
    {
        "abs",
        "ceil",
        "ceiling",
        "coalesce",
        "concat",
        "date_trunc",
        "datetrunc",
        "day",
        "floor",
        "greatest",
        "if",
        "ifnull",
        "least",
        "left",
        "length",
        "lower",
        "lpad",
        "ltrim",
        "md5",
        "month",
        "nullif",
        "regexp_replace",
        "regexp_matches",
        "regexp_like",
        "repeat",
        "replace",
        "right",
        "round",
        "rpad",
        "rtrim",
        "sha256",
        "sha2",
        "strpos",
        "substr",
        "substring",
        "trim",
        "upper",
        "year",
        "starts_with",
        "startswith",
        "ends_with",
        "contains",
        "str_position",
        "timestamp_trunc",
        "date_part",
        "extract",
        "currentdate",
        "current_date",
        "sign",
        "mod",
        "datediff",
        "date_diff",
        "dateadd",
        "date_add",
        "date_sub",
        "todays",
        "to_days",
        "strftime",
        "timetostr",
        "strtotime",
        "strptime",
        "tsordstodate",
        "tsordstotimestamp",
    }
)

# Expression node types a custom mask or row filter may contain beyond functions and literals.
_SAFE_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Paren,
    exp.Neg,
    exp.Not,
    exp.Binary,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
    exp.DataTypeParam,
    exp.Case,
    exp.If,
    exp.In,
    exp.Between,
    exp.Is,
    exp.Interval,
    exp.Var,
    exp.Tuple,
    exp.Array,
)


# Syntax sqlglot models as function classes: AND/OR/XOR, CASE, CAST.
_SYNTAX_FUNCS = (exp.Connector, exp.Cast, exp.TryCast, exp.Case)


@dataclass(frozen=True)
class MaskRule:
    """One field's masking: a kind of `KINDS` and its parameters."""

    kind: str = "clear"
    n: int | None = None
    """Characters kept (keep_first/keep_last), decimal places (round, may be negative)."""
    width: float | None = None
    """Band width (band)."""
    expr: str | None = None
    """The custom expression; `value` names the field."""
    params: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_clear(self) -> bool:
        return self.kind == "clear"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        for key in PARAM_TYPES:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    def label(self, lang: str = "zh") -> str:
        return KINDS[self.kind].label(lang, self)


PARAM_TYPES: dict[str, type] = {"n": int, "width": float, "expr": str}
"""The parameters a rule can carry (MaskRule's fields), as stored and submitted."""


def parse_rule(raw: MaskRule | dict[str, Any] | str | None) -> MaskRule:
    """A MaskRule from its stored or submitted form ('hash', {'kind': 'keep_first', 'n': 3}, …)."""
    if raw is None:
        return MaskRule()
    if isinstance(raw, MaskRule):
        rule = raw
    elif isinstance(raw, str):
        kind, _, arg = raw.partition(":")
        rule = _from_dict({"kind": kind.strip(), **_shorthand_arg(kind.strip(), arg.strip())})
    elif isinstance(raw, dict):
        rule = _from_dict(raw)
    else:
        raise InvalidInput(M_("unrecognised mask rule: %(raw)r", raw=raw))
    validate_rule(rule)
    return rule


def _shorthand_arg(kind: str, arg: str) -> dict[str, Any]:
    """'keep_first:3' names the kind's first parameter (`n` for a kind that takes none)."""
    if not arg:
        return {}
    found = KINDS.get(kind)
    return {found.params[0].name if found is not None and found.params else "n": arg}


def _from_dict(raw: dict[str, Any]) -> MaskRule:
    try:
        n = int(raw["n"]) if raw.get("n") not in (None, "") else None
        width = float(raw["width"]) if raw.get("width") not in (None, "") else None
    except (TypeError, ValueError) as e:
        raise InvalidInput(M_("mask parameter is not a number: %(e)s", e=e)) from None
    return MaskRule(kind=str(raw.get("kind", "clear")), n=n, width=width, expr=raw.get("expr") or None)


def validate_rule(rule: MaskRule) -> None:
    """Refuse a rule whose kind is unknown or whose parameters are missing or unsafe."""
    kind = KINDS.get(rule.kind)
    if kind is None:
        raise InvalidInput(M_("unknown mask kind: %(kind)s", kind=rule.kind), hint=", ".join(KINDS))
    kind.validate(rule)


def default_rule(grade: str | None) -> MaskRule:
    """The mask a field of this grade gets when its grant names none (missing grade: L2)."""
    return MaskRule(kind=GRADE_DEFAULTS.get((grade or "L2").upper(), "clear"))


def _unsafe_function(node: exp.Func) -> str | None:
    name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
    return None if name in SAFE_FUNCTIONS or node.key in SAFE_FUNCTIONS else name


def parse_safe_expression(
    text: str,
    *,
    columns: set[str],
    what: str,
    dialect: str = "duckdb",
    refused_function: Callable[[exp.Func], str | None] = _unsafe_function,
) -> exp.Expression:
    """Parse one scalar expression and refuse anything but safe functions over `columns`.

    `columns` are compared lower-cased (DuckDB identifiers are case-insensitive). Used for
    custom masks (column `value` only; `SAFE_FUNCTIONS`) and grant row filters (the dataset's
    fields; the policy passes the allowlist's scalar functions as `refused_function`, which
    returns the name of a call that is not allowed).
    """
    try:
        tree = sqlglot.parse_one(text, read=dialect, into=exp.Condition)
    except (ParseError, Exception) as e:  # sqlglot raises several types for bad input
        raise InvalidInput(M_("%(what)s: cannot parse expression: %(e)s", what=what, e=e)) from None
    allowed = {c.lower() for c in columns}
    for node in tree.walk():
        if isinstance(node, exp.Column):
            if node.table or node.name.lower() not in allowed:
                raise InvalidInput(
                    M_("%(what)s: column not allowed: %(sql)s", what=what, sql=node.sql(dialect)),
                    hint=", ".join(sorted(allowed)),
                )
        elif isinstance(node, exp.Func) and not isinstance(node, _SYNTAX_FUNCS):
            name = refused_function(node)
            if name is not None:
                raise InvalidInput(M_("%(what)s: function not allowed: %(name)s", what=what, name=name))
        elif not isinstance(node, _SAFE_NODES):
            raise InvalidInput(M_("%(what)s: construct not allowed: %(key)s", what=what, key=node.key))
    return tree


# -- compilation to SQL ------------------------------------------------------------------


def grant_key(master: bytes, scope: str) -> bytes:
    """The hashing key of one grant (or one unconditional reader), derived from the master key."""
    return hmac.new(master, f"shuzhi-mask:{scope}".encode(), hashlib.sha256).digest()


def hmac_hex(key: bytes, value: str) -> str:
    """The digest the SQL hash mask yields for `value` (used by tests and exports)."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _blob(data: bytes) -> exp.Expression:
    return exp.Unhex(this=exp.Literal.string(data.hex()))


def _hmac_sql(value: exp.Expression, key: bytes) -> exp.Expression:
    block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest().ljust(64, b"\0")
    inner_pad = bytes(b ^ 0x36 for b in block)
    outer_pad = bytes(b ^ 0x5C for b in block)
    message = exp.Encode(this=_as_text(value), charset=exp.Literal.string("utf-8"))
    inner = exp.SHA2(
        this=exp.DPipe(this=_blob(inner_pad), expression=message), length=exp.Literal.number(256)
    )
    outer_msg = exp.DPipe(this=_blob(outer_pad), expression=exp.Unhex(this=inner))
    return exp.SHA2(this=outer_msg, length=exp.Literal.number(256))


def _as_text(value: exp.Expression) -> exp.Expression:
    return exp.Cast(this=value, to=exp.DataType.build("VARCHAR"))


def _pad(kept: exp.Expression, text: exp.Expression, *, left: bool) -> exp.Expression:
    """`kept` padded with '*' to the original length (the whole value when it is short)."""
    length = exp.Cast(this=exp.Length(this=text.copy()), to=exp.DataType.build("INT"))
    return exp.Pad(this=kept, expression=length, fill_pattern=exp.Literal.string("*"), is_left=left)


def _date_trunc(unit: str, value: exp.Expression) -> exp.Expression:
    as_date = exp.Cast(this=value, to=exp.DataType.build("DATE"))
    trunc = exp.DateTrunc(unit=exp.Literal.string(unit), this=as_date)
    return exp.Cast(this=trunc, to=exp.DataType.build("DATE"))


def _region(value: exp.Expression, keep: int) -> exp.Expression:
    head = exp.Left(this=_as_text(value), expression=exp.Literal.number(keep))
    return exp.DPipe(this=head, expression=exp.Literal.string("0" * (6 - keep)))


def _custom(rule: MaskRule, value: exp.Expression) -> exp.Expression:
    tree = parse_safe_expression(rule.expr or "", columns={"value"}, what=M_("custom mask"))

    def swap(node: exp.Expression) -> exp.Expression:
        return value.copy() if isinstance(node, exp.Column) else node

    return exp.paren(tree.transform(swap), copy=False)


def mask_expression(rule: MaskRule, value: exp.Expression, *, key: bytes) -> exp.Expression:
    """The SQL expression that masks `value` (a column expression) under `rule`."""
    kind = KINDS.get(rule.kind)
    if kind is None:
        raise InvalidInput(M_("unknown mask kind: %(kind)s", kind=rule.kind))
    return kind.compile(rule, value, key)


def _num(x: float | None) -> str:
    x = float(x or 0)
    return str(int(x)) if x.is_integer() else repr(x)


# -- the kinds -----------------------------------------------------------------------------

Validate = Callable[[MaskRule], None]
Compile = Callable[[MaskRule, exp.Expression, bytes], exp.Expression]


@dataclass(frozen=True)
class Param:
    """One parameter of a mask kind: its name in the stored rule, type, meaning and bounds."""

    name: str
    zh: str
    en: str
    minimum: float | None = None
    positive: bool = False

    def __post_init__(self) -> None:
        if self.name not in PARAM_TYPES:
            raise ValueError(f"mask parameter {self.name!r} is not one of {', '.join(PARAM_TYPES)}")

    def check(self, kind: str, value: Any) -> None:
        """Refuse a missing or out-of-bounds value, saying which kind and parameter."""
        if value is None:
            raise InvalidInput(
                M_(
                    "%(kind)s needs %(name)s (%(label)s)",
                    kind=kind,
                    name=self.name,
                    label=Pair(self.zh, self.en),
                )
            )
        if isinstance(value, float) and not math.isfinite(value):  # `band:nan` parses as a float
            raise InvalidInput(M_("%(kind)s: %(name)s must be a finite number", kind=kind, name=self.name))
        if self.minimum is not None and value < self.minimum:
            raise InvalidInput(
                M_(
                    "%(kind)s: %(name)s must be >= %(minimum)s",
                    kind=kind,
                    name=self.name,
                    minimum=format(self.minimum, "g"),
                )
            )
        if self.positive and value <= 0:
            raise InvalidInput(M_("%(kind)s: %(name)s must be positive", kind=kind, name=self.name))


@dataclass(frozen=True)
class MaskKind:
    """One way of masking a field. Every part is required: a kind declared without one of them
    (labels in both languages, parameter schema, validate, compile) fails when the module loads."""

    name: str
    zh: str
    en: str
    params: tuple[Param, ...]
    """The parameters a rule of this kind needs, in shorthand order (``keep_first:3``)."""
    validate: Validate
    """Refuses a rule of this kind whose parameters are missing or unsafe (InvalidInput)."""
    compile: Compile
    """(rule, column expression, grant key) -> the masking SQL expression."""
    choices: tuple[tuple[str, str, str], ...] | None = None
    """(rule, 中文, English) offered in the approval form; default: the kind itself when it takes
    no parameters, nothing otherwise."""

    def __post_init__(self) -> None:
        for part in ("name", "zh", "en"):
            if not isinstance(getattr(self, part), str) or not getattr(self, part).strip():
                raise TypeError(f"mask kind {self.name!r}: {part} is missing")
        if not isinstance(self.params, tuple) or not all(isinstance(p, Param) for p in self.params):
            raise TypeError(f"mask kind {self.name!r}: params must be a tuple of Param")
        for part in ("validate", "compile"):
            if not callable(getattr(self, part)):
                raise TypeError(f"mask kind {self.name!r}: {part} is missing")
        if self.choices is None:
            offered = () if self.params else ((self.name, self.zh, self.en),)
            object.__setattr__(self, "choices", offered)

    def label(self, lang: str, rule: MaskRule | None = None) -> str:
        base = self.zh if lang == "zh" else self.en
        shown = [getattr(rule, p.name) for p in self.params if rule is not None and p.name != "expr"]
        if not shown or shown[0] is None:
            return base
        value = shown[0]
        return f"{base} (N={value})" if isinstance(value, int) else f"{base} ({value:g})"


KINDS: dict[str, MaskKind] = {}
"""Every mask kind, by name: the one place a kind is defined."""


def register(kind: MaskKind) -> MaskKind:
    if kind.name in KINDS:
        raise ValueError(f"mask kind {kind.name!r} is declared twice")
    KINDS[kind.name] = kind
    return kind


def check_params(rule: MaskRule) -> None:
    """The validation of a kind whose parameters need only their schema."""
    for param in KINDS[rule.kind].params:
        param.check(rule.kind, getattr(rule, param.name))


def _check_custom(rule: MaskRule) -> None:
    check_params(rule)
    parse_safe_expression(rule.expr or "", columns={"value"}, what=M_("custom mask"))


def _keep(*, last: bool) -> Compile:
    def compile_(rule: MaskRule, value: exp.Expression, key: bytes) -> exp.Expression:
        text = _as_text(value)
        part = exp.Right if last else exp.Left
        return _pad(part(this=text, expression=exp.Literal.number(rule.n)), text, left=last)

    return compile_


def _redact(rule: MaskRule, value: exp.Expression, key: bytes) -> exp.Expression:
    return exp.Case(
        ifs=[exp.If(this=exp.Is(this=value, expression=exp.Null()), true=exp.Null())],
        default=exp.Literal.string(REDACTED),
    )


def _band(rule: MaskRule, value: exp.Expression, key: bytes) -> exp.Expression:
    width = exp.Literal.number(_num(rule.width))
    return exp.Mul(this=exp.Floor(this=exp.Div(this=value, expression=width)), expression=width.copy())


KEEP_N = Param("n", "保留字符数", "characters kept", minimum=0)
for _kind in (
    MaskKind("clear", "明文", "clear text", (), check_params, lambda rule, value, key: value),
    MaskKind("redact", "全部遮盖", "redact all", (), check_params, _redact),
    MaskKind(
        "keep_first",
        "保留前N位",
        "keep first N",
        (KEEP_N,),
        check_params,
        _keep(last=False),
        choices=(("keep_first:1", "保留首字", "Keep first 1"),),
    ),
    MaskKind(
        "keep_last",
        "保留后N位",
        "keep last N",
        (KEEP_N,),
        check_params,
        _keep(last=True),
        choices=(("keep_last:4", "保留后4位", "Keep last 4"),),
    ),
    MaskKind(
        "hash",
        "加密哈希（HMAC-SHA256）",
        "keyed hash (HMAC-SHA256)",
        (),
        check_params,
        lambda rule, value, key: _hmac_sql(value, key),
    ),
    MaskKind(
        "null",
        "置空",
        "null",
        (),
        check_params,
        lambda rule, value, key: exp.Nullif(this=value, expression=value.copy()),
    ),
    MaskKind(
        "year", "日期保留到年", "date to year", (), check_params, lambda r, v, k: _date_trunc("YEAR", v)
    ),
    MaskKind(
        "month", "日期保留到月", "date to month", (), check_params, lambda r, v, k: _date_trunc("MONTH", v)
    ),
    MaskKind(
        "region_city",
        "区划泛化到地市",
        "region code to city",
        (),
        check_params,
        lambda r, v, k: _region(v, 4),
    ),
    MaskKind(
        "region_province",
        "区划泛化到省",
        "region code to province",
        (),
        check_params,
        lambda r, v, k: _region(v, 2),
    ),
    MaskKind(
        "round",
        "数值取整",
        "numeric rounding",
        (Param("n", "小数位数（可为负）", "decimal places (may be negative)"),),
        check_params,
        lambda rule, value, key: exp.Round(this=value, decimals=exp.Literal.number(rule.n)),
    ),
    MaskKind(
        "band",
        "数值分段",
        "numeric banding",
        (Param("width", "分段宽度", "band width", positive=True),),
        check_params,
        _band,
    ),
    MaskKind(
        "custom",
        "自定义表达式",
        "custom SQL expression",
        (Param("expr", "以 value 表示字段的表达式", "expression over `value`"),),
        _check_custom,
        lambda rule, value, key: _custom(rule, value),
    ),
):
    register(_kind)
