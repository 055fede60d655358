"""Rules proposed from a version: its column statistics (one DuckDB scan) and what grading found.

As Deequ's constraint suggestion does, each heuristic reads the statistics of one column and
proposes a rule of an existing kind that the version passes as it is, with the counts behind it:

- no NULL (text: no absent value) → `not_null` (text: `not_blank`);
- a number, date or timestamp field → `range` from the observed minimum to the maximum;
- few distinct values, repeated (`enum_max_values`, `enum_max_ratio`) → `enum` of those values;
- every value present and different, in enough rows (`unique_min_rows`) → `unique`;
- grading detected an identifier or a date of a category with a kind of its own (resident ID,
  credit code, mobile or landline number, date of birth) → that kind.

A proposal whose key (`kind(fields)`, as a rule's default name) is covered already — by the rule
set in force, or by a proposal a steward rejected — is not made. The functions here are pure but
for `column_stats`, which reads the version file.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shuzhi.i18n import M_, Message, Pair
from shuzhi.quality.kinds import BLANK, ident, lit

ORDERED = ("integer", "number", "date", "timestamp")
"""Families a range applies to."""
ENUMERABLE = ("text", "integer")
KEYABLE = ("text", "integer", "date", "timestamp")
"""Families a uniqueness rule is proposed for (not floating point numbers: equal amounts are no duplicates)."""


@dataclass(frozen=True)
class ColumnStats:
    """Exact statistics of one column of a version."""

    name: str
    family: str
    nulls: int
    blanks: int = 0
    """Text only: non-NULL values made only of blank characters."""
    distinct: int | None = None
    """Distinct non-NULL values (None where not counted: nested types)."""
    min: Any = None
    max: Any = None
    values: list | None = None
    """The distinct present values, sorted, when there are few enough for an enumeration."""


@dataclass(frozen=True)
class Detected:
    """What grading found in a column of the version: its category and the detector's confidence."""

    category: str
    label: Pair
    detector: str | None = None
    confidence: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    enum_max_values: int = 20
    enum_max_ratio: float = 0.1
    unique_min_rows: int = 10


@dataclass(frozen=True)
class Proposal:
    """A rule of an existing kind, why it is proposed and the counts behind it."""

    rule: dict
    reason: Message
    evidence: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return rule_key(self.rule)


FIELD_KEYS = ("field", "fields", "id", "birth", "sex", "start", "end")
"""Parameters of the built-in kinds that name fields, in the order a rule's default name lists them."""


def rule_key(rule: dict) -> str:
    """`kind(field, …)`: what a proposal is about, whatever its parameters (a rule's default name)."""
    fields: list[str] = []
    for name in FIELD_KEYS:
        value = rule.get(name)
        fields += [value] if isinstance(value, str) else list(value or [])
    return f"{rule.get('kind')}({', '.join(fields)})"


def covered_keys(rules: list[dict]) -> set[str]:
    """The keys a rule set covers: its rules' own, and `not_null` where it has `not_blank`."""
    keys = {rule_key(r) for r in rules}
    keys |= {rule_key({**r, "kind": "not_null"}) for r in rules if r.get("kind") == "not_blank"}
    return keys


def _n(count: int) -> str:
    return f"{count:,}"


def jsonable(value: Any) -> Any:
    """A value from DuckDB as JSON holds it (and a rule parameter reads it back): dates as ISO text."""
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


# -- the heuristics -----------------------------------------------------------------------------------


def completeness(rows: int, c: ColumnStats) -> Proposal | None:
    if rows == 0 or c.nulls:
        return None
    if c.family == "text" and not c.blanks:
        reason = M_("no absent values (%(absent)s of %(rows)s)", absent="0", rows=_n(rows))
        return Proposal(
            {"kind": "not_blank", "field": c.name}, reason, {"rows": rows, "nulls": 0, "blanks": 0}
        )
    reason = M_("no NULL values (%(nulls)s of %(rows)s)", nulls="0", rows=_n(rows))
    evidence = {"rows": rows, "nulls": 0} | ({"blanks": c.blanks} if c.family == "text" else {})
    return Proposal({"kind": "not_null", "field": c.name}, reason, evidence)


def _finite(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def value_range(rows: int, c: ColumnStats) -> Proposal | None:
    if c.family not in ORDERED or not (_finite(c.min) and _finite(c.max)):
        return None
    lo, hi = jsonable(c.min), jsonable(c.max)
    if c.family == "number":
        lo, hi = float(lo), float(hi)
    present = rows - c.nulls
    reason = M_("the observed minimum and maximum of %(present)s values", present=_n(present))
    return Proposal(
        {"kind": "range", "field": c.name, "min": lo, "max": hi},
        reason,
        {"rows": rows, "present": present, "min": lo, "max": hi},
    )


def enumeration(rows: int, c: ColumnStats, limits: Thresholds) -> Proposal | None:
    if c.family not in ENUMERABLE or not c.values:
        return None
    present = rows - c.nulls - c.blanks
    few = len(c.values) <= limits.enum_max_values
    if not few or len(c.values) > limits.enum_max_ratio * present:
        return None
    reason = M_(
        "only %(distinct)s distinct values among %(present)s", distinct=len(c.values), present=_n(present)
    )
    values = [jsonable(v) for v in c.values]
    return Proposal(
        {"kind": "enum", "field": c.name, "values": values},
        reason,
        {"rows": rows, "present": present, "distinct": len(c.values)},
    )


def uniqueness(rows: int, c: ColumnStats, limits: Thresholds) -> Proposal | None:
    if c.family not in KEYABLE or rows < limits.unique_min_rows or c.nulls or c.blanks:
        return None
    if c.distinct != rows:
        return None
    reason = M_("every value differs (%(distinct)s of %(rows)s)", distinct=_n(rows), rows=_n(rows))
    return Proposal({"kind": "unique", "fields": [c.name]}, reason, {"rows": rows, "distinct": rows})


DETECTED_KINDS: dict[str, tuple[str, dict, tuple[str, ...]]] = {
    "resident_id": ("resident_id", {}, ("text",)),
    "uscc": ("credit_code", {}, ("text",)),
    "mobile": ("phone", {"kinds": ["mobile"]}, ("text", "integer")),
    "phone": ("phone", {"kinds": ["landline"]}, ("text", "integer")),
    "birth_date": ("not_future", {}, ("text", "date", "timestamp")),
}
"""Grading category → the kind (and parameters) that checks values of it, and the families it takes."""

DETECTORS_WITHOUT_KIND = frozenset({"phone_intl"})
"""Detectors of a category above whose values that category's kind would refuse (international numbers)."""


def detected(c: ColumnStats, found: Detected | None) -> Proposal | None:
    if found is None or found.detector in DETECTORS_WITHOUT_KIND:
        return None
    kind = DETECTED_KINDS.get(found.category)
    if kind is None or c.family not in kind[2]:
        return None
    confidence = format(found.confidence, ".2f")
    reason = M_(
        "grading found %(category)s here (detector %(detector)s, confidence %(confidence)s)",
        category=found.label,
        detector=found.detector or "-",
        confidence=confidence,
    )
    evidence = {"category": found.category, "detector": found.detector, "confidence": found.confidence}
    return Proposal({"kind": kind[0], "field": c.name, **kind[1]}, reason, evidence)


def propose(
    rows: int,
    columns: list[ColumnStats],
    found: dict[str, Detected],
    limits: Thresholds,
    covered: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[Proposal]:
    """Every proposal the statistics support, column by column, but those whose key is covered."""
    out: list[Proposal] = []
    for c in columns:
        for p in (
            completeness(rows, c),
            value_range(rows, c),
            enumeration(rows, c, limits),
            uniqueness(rows, c, limits),
            detected(c, found.get(c.name)),
        ):
            if p is not None and p.key not in covered:
                out.append(p)
    return out


# -- the statistics -----------------------------------------------------------------------------------


def _present(name: str, fam: str) -> str:
    c = ident(name)
    if fam == "text":
        return f"({c} IS NOT NULL AND NOT regexp_full_match({c}, {lit('[' + BLANK + ']*')}))"
    return f"({c} IS NOT NULL)"


def column_stats(path, columns: dict[str, str], limits: Thresholds) -> tuple[int, list[ColumnStats]]:
    """Rows and exact statistics of every column of a version file (name → family), in one scan;
    then, for the few text and integer columns with few enough distinct values, one bounded pass
    over those columns only for the values themselves."""
    from shuzhi.quality.engine import connect

    source = f"read_parquet({lit(str(path))})"
    parts, slots = ["count(*)"], {}
    for name, fam in columns.items():
        c = ident(name)
        wanted = {"count": f"count({c})"}
        if fam == "text":
            wanted["blanks"] = f"count(*) FILTER (WHERE {c} IS NOT NULL AND NOT {_present(name, fam)})"
        if fam != "other":
            wanted["distinct"] = f"count(DISTINCT {c})"
        if fam in ORDERED:
            wanted |= {"min": f"min({c})", "max": f"max({c})"}
        for what, sql in wanted.items():
            slots[(name, what)] = len(parts)
            parts.append(sql)
    con = connect()
    try:
        found = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchall()[0]
        rows = int(found[0])

        def got(name: str, what: str):
            return found[slots[(name, what)]] if (name, what) in slots else None

        few = [
            n
            for n, fam in columns.items()
            if fam in ENUMERABLE
            and got(n, "distinct") is not None
            and got(n, "distinct") <= limits.enum_max_values
        ]
        values: dict[str, list] = {}
        if few:
            lists = ", ".join(
                f"list(DISTINCT {ident(n)}) FILTER (WHERE {_present(n, columns[n])})" for n in few
            )
            picked = con.execute(f"SELECT {lists} FROM {source}").fetchall()[0]
            values = {n: sorted(v or []) for n, v in zip(few, picked, strict=True)}
    finally:
        con.close()
    stats = [
        ColumnStats(
            name=n,
            family=fam,
            nulls=rows - int(got(n, "count")),
            blanks=int(got(n, "blanks") or 0),
            distinct=got(n, "distinct"),
            min=got(n, "min"),
            max=got(n, "max"),
            values=values.get(n),
        )
        for n, fam in columns.items()
    ]
    return rows, stats
