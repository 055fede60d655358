"""Golden records of a registry: the surviving value of each attribute of each entry, its provenance, and conflicts.

Input: the linked records (the shape of the registry contract: `record_key`, `source_dataset`,
`source_version`, `source_row`, the mapped attributes and their derived `*_norm` columns) and a
membership table (`record_key` → `entry_id`, or `cluster_id` straight from linkage). A record that
the membership does not name is an entry of its own, whose id is its record key.

Values are compared on their normalised form (`compare`, by default `<column>_norm` when the records
have it) and the written value of the winning record is kept, with the record it came from and the
rule that chose it. Everything runs as set-based SQL in DuckDB over Arrow tables.

How a value wins (the order in which candidates of one entry and one attribute are ranked):

1. A readable value before an unreadable one: readable means its normalised form is not null (for
   `valid_identifier`: the declared validity column is true). An unreadable written value survives only
   where no readable one exists.
2. The strategy:
   - `most_recent`: the latest `date_column` (when declared; values that are no date count as oldest),
     then the highest `source_version`, then the most frequent value. Source versions number each
     dataset's own loads: across datasets they order nothing unless a date column is declared.
   - `most_trusted`: the first dataset of `trusted` (datasets not listed come after all listed ones),
     then the most frequent value, then the highest `source_version`.
   - `most_frequent` and `valid_identifier`: the normalised value held by most records of the entry,
     then the highest `source_version`.
3. Ties left after that go to the smallest normalised value (code-point order), then to the record
   with the smallest `record_key`: the same input always gives the same golden record, in any row order.

A steward's resolution (`Resolution`: entry, attribute, chosen value) overrides the strategy while the
chosen value (compared with each candidate's normalised and written forms) is among the entry's
candidates; the best-ranked candidate holding it supplies the provenance, and the rule reads `steward`.
When the value is no longer a candidate (its source row changed or left, the entry was merged away) the
resolution is not applied but reported in `Golden.stale`, and a conflict it had settled is listed again
with the state `reopened`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.registry.checks import filled, need, record_keys

IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
STRATEGIES = ("most_recent", "most_trusted", "most_frequent", "valid_identifier")
BASE_COLUMNS = ("record_key", "source_dataset", "source_version", "source_row")
RESERVED = ("rid", "eid", "entry_id")
"""Names the computation gives to columns of its own: a records table may not use them."""
STEWARD = "steward"


class AttributeRule(BaseModel):
    """How one attribute of an entry survives (a registry's settings file declares one per attribute)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attribute: str = Field(pattern=IDENT)
    strategy: Literal["most_recent", "most_trusted", "most_frequent", "valid_identifier"] = "most_frequent"
    column: str | None = None
    """The column holding the written value; by default the attribute's name."""
    compare: str | None = None
    """The normalised column values are compared on; by default `<column>_norm` when present, else `column`."""
    date_column: str | None = None
    """`most_recent`: a date column of the records ordering them in time (else `source_version`)."""
    trusted: tuple[str, ...] = ()
    """`most_trusted`: source datasets, most trusted first."""
    valid: str | None = None
    """`valid_identifier`: the boolean validity column; by default `<column>_valid`."""
    conflict: bool = False
    """List entries whose sources hold two or more different normalised values for stewards."""

    @model_validator(mode="after")
    def _fits_strategy(self) -> AttributeRule:
        name = self.attribute
        if self.strategy == "most_trusted" and not self.trusted:
            raise ValueError(
                M_(
                    "survivorship of %(attribute)s: most_trusted needs a list of trusted datasets",
                    attribute=name,
                )
            )
        if self.trusted and self.strategy != "most_trusted":
            raise ValueError(
                M_(
                    "survivorship of %(attribute)s: trusted datasets apply to most_trusted only",
                    attribute=name,
                )
            )
        if self.date_column and self.strategy != "most_recent":
            raise ValueError(
                M_("survivorship of %(attribute)s: a date column applies to most_recent only", attribute=name)
            )
        if self.valid and self.strategy != "valid_identifier":
            raise ValueError(
                M_(
                    "survivorship of %(attribute)s: a validity column applies to valid_identifier only",
                    attribute=name,
                )
            )
        return self


class Survivorship(BaseModel):
    """The survivorship rules of a registry, one per attribute of its golden records."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    attributes: tuple[AttributeRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Survivorship:
        seen: set[str] = set()
        for rule in self.attributes:
            if rule.attribute in seen:
                raise ValueError(
                    M_("survivorship: attribute %(attribute)s is declared twice", attribute=rule.attribute)
                )
            seen.add(rule.attribute)
        return self


PEOPLE = Survivorship(
    attributes=(
        AttributeRule(attribute="name", strategy="most_frequent"),
        AttributeRule(attribute="ric", strategy="valid_identifier", compare="ric18", conflict=True),
        AttributeRule(attribute="birth_date", strategy="most_frequent", conflict=True),
        AttributeRule(attribute="sex", strategy="most_frequent", conflict=True),
        AttributeRule(attribute="phone", strategy="most_recent"),
        AttributeRule(attribute="address", strategy="most_recent"),
    )
)
"""A default for residents: conflicts on identity attributes that must not differ between sources."""

ENTERPRISES = Survivorship(
    attributes=(
        AttributeRule(attribute="name", strategy="most_recent"),
        AttributeRule(attribute="uscc", strategy="valid_identifier", conflict=True),
        AttributeRule(attribute="legal_rep", strategy="most_recent", conflict=True),
        AttributeRule(attribute="registered_capital", strategy="most_recent"),
        AttributeRule(attribute="industry_code", strategy="most_frequent"),
        AttributeRule(attribute="address", strategy="most_recent"),
        AttributeRule(attribute="established", strategy="most_frequent", conflict=True),
    )
)
"""A default for enterprises."""


@dataclass(frozen=True)
class Resolution:
    """A steward's choice of the value of one attribute of one entry."""

    entry_id: str
    attribute: str
    value: str


@dataclass(frozen=True)
class Golden:
    """The golden records of one run.

    - `attributes`: one row per entry and attribute with a value: entry_id, attribute, value (the
      written value, as text), value_norm, source_dataset, source_version, source_row, record_key,
      rule (the strategy, or `steward`), candidates (records of the entry holding a value).
    - `conflicts`: for conflict-checked attributes whose entry holds ≥ 2 different normalised values,
      every candidate: entry_id, attribute, value, value_norm, provenance, record_key, chosen (bool),
      state (`open`, `resolved` by a steward, or `reopened`: a resolution no longer applies).
    - `stale`: resolutions not applied: entry_id, attribute, value, reason (`entry_gone`,
      `attribute_unknown`, `value_gone`).
    - `entries`: entry_id, records, datasets (how many distinct source datasets).
    """

    attributes: pa.Table
    conflicts: pa.Table
    stale: pa.Table
    entries: pa.Table

    def wide(self) -> pa.Table:
        """One row per entry, one text column per attribute (entries without any value are kept)."""
        con = duckdb.connect()
        try:
            con.register("a", self.attributes)
            con.register("e", self.entries)
            names = sorted(set(self.attributes.column("attribute").to_pylist()))
            cols = ", ".join(f"max(value) FILTER (WHERE attribute = {_lit(n)}) AS {_q(n)}" for n in names)
            sql = f"SELECT e.entry_id{', ' + cols if cols else ''} FROM e LEFT JOIN a USING (entry_id) GROUP BY e.entry_id ORDER BY e.entry_id"
            return con.sql(sql).to_arrow_table()
        finally:
            con.close()


def build(
    records: pa.Table,
    members: pa.Table,
    rules: Survivorship,
    resolutions: Iterable[Resolution] = (),
) -> Golden:
    """The golden records of `records` grouped by `members` (`record_key` with `entry_id` or
    `cluster_id`) under `rules`, with the steward's `resolutions` (later ones win for the same entry
    and attribute). Bad input raises `InvalidInput` before anything is computed."""
    members = _members(members)
    plan = [_resolve(rule, records.schema) for rule in rules.attributes]
    for column in BASE_COLUMNS:
        _need(records.schema, column)
    for column in RESERVED:
        if column in records.schema.names:
            raise InvalidInput(
                M_("%(table)s: the column name %(column)s is reserved", table="records", column=column)
            )
    record_keys(records, "records")
    con = duckdb.connect()
    try:
        con.register("records", records)
        con.register("members", members)
        con.register("res", _resolutions_table(resolutions))
        con.register("trust", _trust_table(plan))
        con.register("attrs", _attrs_table(plan))
        _base(con)
        con.execute(
            "CREATE TEMP TABLE cand AS " + " UNION ALL ".join(_ranked(i, p) for i, p in enumerate(plan))
        )
        _choose(con)
        return Golden(
            attributes=con.sql(ATTRIBUTES_SQL).to_arrow_table(),
            conflicts=con.sql(CONFLICTS_SQL).to_arrow_table(),
            stale=con.sql(STALE_SQL).to_arrow_table(),
            entries=con.sql(ENTRIES_SQL).to_arrow_table(),
        )
    finally:
        con.close()


def changed_attributes(before: pa.Table, after: pa.Table) -> pa.Table:
    """Attributes of entries present in both runs whose golden value changed (compared on the
    normalised form, else the written one): entry_id, attribute, before, after (written values; null
    where the attribute had or has no value). Takes two `Golden.attributes` tables."""
    con = duckdb.connect()
    try:
        con.register("b", before)
        con.register("a", after)
        return con.sql(CHANGED_SQL).to_arrow_table()
    finally:
        con.close()


# --- input checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    rule: AttributeRule
    column: str
    compare: str
    valid: str | None


def _resolve(rule: AttributeRule, schema: pa.Schema) -> _Plan:
    """The columns a rule reads, defaults filled in, each checked against the records."""
    column = rule.column or rule.attribute
    where = M_("survivorship of %(attribute)s", attribute=rule.attribute)
    _need(schema, column, where=where)
    compare = rule.compare or (f"{column}_norm" if f"{column}_norm" in schema.names else column)
    _need(schema, compare, where=where)
    valid = None
    if rule.strategy == "valid_identifier":
        valid = rule.valid or f"{column}_valid"
        _need(schema, valid, where=where)
    if rule.date_column:
        _need(schema, rule.date_column, where=where)
    return _Plan(rule, column, compare, valid)


def _need(schema: pa.Schema, column: str, *, where: str | None = None) -> None:
    need(schema, column, table="records", where=where)


def _members(members: pa.Table) -> pa.Table:
    """`record_key`, `entry_id` (text) out of a membership or cluster table."""
    group = "entry_id" if "entry_id" in members.schema.names else "cluster_id"
    need(members.schema, group, table="members")
    ids = filled(members.column(group).cast(pa.string()), table="members", column=group).combine_chunks()
    # entries are grouped by a dense integer: cheaper to partition than text
    eid = ids.dictionary_encode().indices.cast(pa.int64())
    return pa.table({"record_key": record_keys(members, "members"), "entry_id": ids, "eid": eid})


def _resolutions_table(resolutions: Iterable[Resolution]) -> pa.Table:
    last = {(r.entry_id, r.attribute): r.value for r in resolutions}  # a later choice replaces an earlier one
    return pa.table(
        {
            "entry_id": pa.array([k[0] for k in last], pa.string()),
            "attribute": pa.array([k[1] for k in last], pa.string()),
            "value": pa.array(list(last.values()), pa.string()),
        }
    )


def _trust_table(plan: list[_Plan]) -> pa.Table:
    rows = [(i, d, rank) for i, p in enumerate(plan) for rank, d in enumerate(p.rule.trusted)]
    return pa.table(
        {
            "attr": pa.array([r[0] for r in rows], pa.int16()),
            "source_dataset": pa.array([r[1] for r in rows], pa.string()),
            "trust": pa.array([r[2] for r in rows], pa.int32()),
        }
    )


def _attrs_table(plan: list[_Plan]) -> pa.Table:
    return pa.table(
        {
            "attr": pa.array(range(len(plan)), pa.int16()),
            "attribute": [p.rule.attribute for p in plan],
            "strategy": [p.rule.strategy for p in plan],
            "conflict": [p.rule.conflict for p in plan],
        }
    )


# --- SQL --------------------------------------------------------------------------------------


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(column: str) -> str:
    # Blank text is no value; numbers (registered capital) are compared and kept as text.
    return f"NULLIF(trim(CAST(r.{_q(column)} AS VARCHAR)), '')"


def _base(con: duckdb.DuckDBPyConnection) -> None:
    """`base`: the records, each with its entry (its own record key when unlinked; `eid` numbers the
    entries) and a row number the candidates carry instead of their provenance; `ents`: the entries."""
    con.execute(
        """
        CREATE TEMP TABLE base AS
        SELECT rid, coalesce(eid, (SELECT count(*) FROM members) + rid) AS eid, * EXCLUDE (rid, eid)
        FROM (
            SELECT row_number() OVER () AS rid, m.eid, coalesce(m.entry_id, r.record_key) AS entry_id, r.*
            FROM records r LEFT JOIN members m USING (record_key)
        )
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE ents AS
        SELECT eid, any_value(entry_id) AS entry_id, count(*) AS records,
               count(DISTINCT source_dataset) AS datasets
        FROM base GROUP BY eid
        """
    )


ORDER = {
    "most_recent": "stamp DESC NULLS LAST, source_version DESC, freq DESC",
    "most_trusted": "trust ASC, freq DESC, source_version DESC",
    "most_frequent": "freq DESC, source_version DESC",
    "valid_identifier": "freq DESC, source_version DESC",
}


def _ranked(i: int, p: _Plan) -> str:
    """The candidates of attribute `i`, each with its rank in its entry (1 survives)."""
    readable = (
        f"coalesce(CAST(r.{_q(p.valid)} AS BOOLEAN), false)" if p.valid else f"{_text(p.compare)} IS NOT NULL"
    )
    stamp = f"TRY_CAST(r.{_q(p.rule.date_column)} AS TIMESTAMP)" if p.rule.date_column else "NULL::TIMESTAMP"
    return f"""
    SELECT rid, eid, attr, value, norm, readable, count(*) OVER (PARTITION BY eid) AS candidates,
           row_number() OVER (PARTITION BY eid ORDER BY readable DESC, {ORDER[p.rule.strategy]},
                              coalesce(norm, value), record_key) AS rank
    FROM (
        SELECT *, count(*) OVER (PARTITION BY eid, readable, coalesce(norm, value)) AS freq
        FROM (
            SELECT r.rid, r.eid, r.record_key, r.source_version, CAST({i} AS SMALLINT) AS attr,
                   {_text(p.column)} AS value, {_text(p.compare)} AS norm, {readable} AS readable,
                   {stamp} AS stamp, coalesce(t.trust, 2147483647) AS trust
            FROM base r
            LEFT JOIN trust t ON t.attr = {i} AND t.source_dataset = r.source_dataset
        ) WHERE value IS NOT NULL
    )"""


def _choose(con: duckdb.DuckDBPyConnection) -> None:
    """`applied`: resolutions matched to their best-ranked candidate; `stale`: those that match none;
    `chosen`: the surviving candidate of each entry and attribute."""
    con.execute(
        """
        CREATE TEMP TABLE applied AS
        SELECT DISTINCT ON (c.eid, c.attr) c.eid, c.attr, c.rid
        FROM res JOIN attrs a USING (attribute) JOIN ents e USING (entry_id)
        JOIN cand c ON c.eid = e.eid AND c.attr = a.attr AND (c.norm = res.value OR c.value = res.value)
        ORDER BY c.eid, c.attr, c.rank
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE stale AS
        SELECT res.entry_id, res.attribute, res.value,
               CASE WHEN e.eid IS NULL THEN 'entry_gone'
                    WHEN a.attr IS NULL THEN 'attribute_unknown'
                    ELSE 'value_gone' END AS reason,
               e.eid, a.attr
        FROM res LEFT JOIN attrs a USING (attribute) LEFT JOIN ents e USING (entry_id)
        WHERE NOT EXISTS (SELECT 1 FROM applied p WHERE p.eid = e.eid AND p.attr = a.attr)
        """
    )
    con.execute(
        """
        CREATE TEMP TABLE chosen AS
        SELECT c.eid, c.attr, coalesce(p.rid, c.rid) AS rid, p.rid IS NOT NULL AS by_steward
        FROM cand c LEFT JOIN applied p USING (eid, attr)
        WHERE c.rank = 1
        """
    )


ATTRIBUTES_SQL = f"""
SELECT b.entry_id, a.attribute, c.value, c.norm AS value_norm, b.source_dataset, b.source_version,
       CAST(b.source_row AS VARCHAR) AS source_row, b.record_key,
       CASE WHEN ch.by_steward THEN '{STEWARD}' ELSE a.strategy END AS rule, c.candidates
FROM chosen ch JOIN attrs a USING (attr)
JOIN cand c ON c.eid = ch.eid AND c.attr = ch.attr AND c.rid = ch.rid
JOIN base b ON b.rid = ch.rid
ORDER BY b.entry_id, ch.attr
"""

CONFLICTS_SQL = """
WITH disputed AS (
    SELECT c.eid, c.attr FROM cand c JOIN attrs a USING (attr)
    WHERE a.conflict AND c.norm IS NOT NULL
    GROUP BY c.eid, c.attr HAVING count(DISTINCT c.norm) >= 2
)
SELECT b.entry_id, a.attribute, c.value, c.norm AS value_norm, b.source_dataset, b.source_version,
       CAST(b.source_row AS VARCHAR) AS source_row, b.record_key, c.rid = ch.rid AS chosen,
       CASE WHEN ch.by_steward THEN 'resolved'
            WHEN EXISTS (SELECT 1 FROM stale s WHERE s.eid = c.eid AND s.attr = c.attr) THEN 'reopened'
            ELSE 'open' END AS state
FROM disputed d JOIN cand c USING (eid, attr) JOIN attrs a USING (attr)
JOIN chosen ch USING (eid, attr) JOIN base b ON b.rid = c.rid
ORDER BY b.entry_id, c.attr, c.rank
"""

STALE_SQL = "SELECT entry_id, attribute, value, reason FROM stale ORDER BY entry_id, attribute"

ENTRIES_SQL = "SELECT entry_id, records, datasets FROM ents ORDER BY entry_id"

CHANGED_SQL = """
WITH both_runs AS (SELECT DISTINCT entry_id FROM b INTERSECT SELECT DISTINCT entry_id FROM a)
SELECT entry_id, attribute, b.value AS before, a.value AS after
FROM (SELECT * FROM b WHERE entry_id IN (SELECT entry_id FROM both_runs)) b
FULL JOIN (SELECT * FROM a WHERE entry_id IN (SELECT entry_id FROM both_runs)) a USING (entry_id, attribute)
WHERE coalesce(b.value_norm, b.value) IS DISTINCT FROM coalesce(a.value_norm, a.value)
ORDER BY entry_id, attribute
"""
