"""Stable entry ids of a registry across runs: this run's clusters matched to the previous run's entries.

Ids are a prefix per registry kind and a monotone number (`P-00000042`): the registry keeps the last
number it issued, every new entry takes the next one, and a number once issued is never given again,
so the id of a retired or merged-away entry never comes back.

Steward decisions bind the clusters first, in the order they were taken (a later decision overrides an
earlier one it contradicts), and they are keyed on record keys, which stay the same across runs:

- `Merge(records)`: these records are one entry (must-link): the clusters holding them become one.
- `Split(records, apart_from)`: `records` must not be with `apart_from` (cannot-link): where a cluster
  holds both, the `records` leave it together as a cluster of their own.

Then each cluster is matched to at most one previous entry and each previous entry to at most one
cluster, greedily, largest overlap (records in common) first; on equal overlap the oldest id (smallest
number) first, then the cluster holding the smallest record key. What that gives:

- a cluster holding records of exactly one previous entry, and all of that entry's current records,
  keeps its id (new records joining it change nothing);
- a cluster joining several previous entries (MERGE) keeps the id of the entry holding most of its
  records (a tie: the oldest id); the others are retired and reported as merged into it;
- a previous entry whose records now lie in several clusters (SPLIT) keeps its id on its largest part
  (a tie: the part holding the smallest record key); the other parts get new ids;
- a merge followed by the reverse split gives the surviving id back to the larger part, while the part
  that had been merged away gets a new id (the old one stays retired);
- clusters left without an id get new ones, numbered in the order of their smallest record key;
- records no longer in the sources leave their entries; an entry left with no record is retired.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.registry.checks import filled, need, record_keys

PREFIXES = {"people": "P", "enterprises": "E"}
"""The id prefix of each registry kind."""
WIDTH = 8
"""Digits of an id's number (zero-padded; more digits once the numbers outgrow them)."""


def _record_list(decision: object, field: str) -> None:
    """A decision's records as a tuple of keys; a lone string or an empty list is refused."""
    keys = getattr(decision, field)
    if not isinstance(keys, list | tuple) or not keys or not all(isinstance(k, str) and k for k in keys):
        kind = type(decision).__name__.lower()
        raise InvalidInput(M_("a %(kind)s decision needs record keys in %(field)s", kind=kind, field=field))
    object.__setattr__(decision, field, tuple(keys))


@dataclass(frozen=True)
class Merge:
    """A steward's decision: these records belong to one entry."""

    records: tuple[str, ...]

    def __post_init__(self) -> None:
        _record_list(self, "records")


@dataclass(frozen=True)
class Split:
    """A steward's decision: `records` must not share an entry with `apart_from`."""

    records: tuple[str, ...]
    apart_from: tuple[str, ...]

    def __post_init__(self) -> None:
        _record_list(self, "records")
        _record_list(self, "apart_from")


Decision = Merge | Split


@dataclass(frozen=True)
class Report:
    """What a run did to the entries.

    - `kept`: entry_id of every previous entry that keeps its id.
    - `created`: entry_id, records of every new entry (parts split off included).
    - `merged`: from_entry (retired), into_entry, records: where the records of an entry whose id did
      not survive went.
    - `split`: from_entry, part (an entry id, the kept one included), records: every previous entry
      now spread over several entries.
    - `retired`: entry_id, reason (`merged`, or `emptied`: all its records left the sources).
    - `counts`: how many of each, and records joined (new to this run) and left (gone from the sources).
    - `attributes_changed`: filled in by `with_changes` from two runs' golden records.
    """

    kept: pa.Table
    created: pa.Table
    merged: pa.Table
    split: pa.Table
    retired: pa.Table
    counts: dict
    attributes_changed: pa.Table | None = None

    def with_changes(self, changed: pa.Table) -> Report:
        """This report with `golden.changed_attributes(before, after)` attached."""
        counts = {**self.counts, "attributes_changed": changed.num_rows}
        return Report(self.kept, self.created, self.merged, self.split, self.retired, counts, changed)


@dataclass(frozen=True)
class Assignment:
    """The entries of this run: `members` (entry_id, record_key), the last number issued (to keep for
    the next run), and the report."""

    members: pa.Table
    issued: int
    report: Report


def assign(
    previous: pa.Table,
    clusters: pa.Table,
    *,
    prefix: str,
    issued: int = 0,
    decisions: Iterable[Decision] = (),
) -> Assignment:
    """Entry ids for this run's `clusters` (record_key, cluster_id: every current record) given the
    `previous` run's members (entry_id, record_key; empty on a first run) and the last id number the
    registry `issued`. Bad input raises `InvalidInput` before anything is computed."""
    current = _bind(_clusters(clusters), decisions)
    previous = _previous(previous)
    con = duckdb.connect()
    try:
        con.register("cur", current)
        con.register("prev", previous)
        issued = max(issued, con.execute(HIGHEST_SQL).fetchall()[0][0])
        for sql in OVERLAP_SQL:
            con.execute(sql)
        con.register("matched", _match(con))
        con.execute(NEW_IDS_SQL, [prefix + "-", f"%0{WIDTH}d", issued])
        con.execute(FINAL_SQL)
        members = con.sql(MEMBERS_SQL).to_arrow_table()
        created = con.execute("SELECT count(*) FROM fresh").fetchall()[0][0]
        return Assignment(members, issued + created, _report(con))
    finally:
        con.close()


def _bind(clusters: pa.Table, decisions: Iterable[Decision]) -> pa.Table:
    """`clusters` (record_key, cluster: int64) with the steward decisions applied in order. Only the
    clusters holding a decided record are touched; decided records absent from this run are ignored."""
    decisions = list(decisions)
    decided = {k for d in decisions for k in (*d.records, *getattr(d, "apart_from", ()))}
    if not decided:
        return clusters
    touched = pc.is_in(
        clusters["cluster"],
        pc.unique(
            clusters.filter(pc.is_in(clusters["record_key"], pa.array(decided, pa.string())))["cluster"]
        ),
    )
    part = clusters.filter(touched)
    where = dict(zip(part["record_key"].to_pylist(), part["cluster"].to_pylist(), strict=True))
    fresh = iter(range((pc.max(clusters["cluster"]).as_py() or 0) + 1, 2**62))
    for d in decisions:
        if isinstance(d, Merge):
            _merge(where, d)
        else:
            _split(where, d, fresh)
    bound = pa.table(
        {
            "record_key": pa.array(list(where), pa.string()),
            "cluster": pa.array(list(where.values()), pa.int64()),
        }
    )
    return pa.concat_tables([clusters.filter(pc.invert(touched)), bound])


def _merge(where: dict[str, int], d: Merge) -> None:
    joined = {where[k] for k in d.records if k in where}
    if len(joined) > 1:
        into = min(joined)
        for key, cluster in where.items():
            if cluster in joined:
                where[key] = into


def _split(where: dict[str, int], d: Split, fresh) -> None:
    others = {where[k] for k in d.apart_from if k in where}
    moving: dict[int, int] = {}  # cluster shared with `apart_from` → the new cluster its `records` go to
    for key in d.records:
        cluster = where.get(key)
        if cluster in others:
            where[key] = moving.setdefault(cluster, next(fresh))


# --- input checks -----------------------------------------------------------------------------


def _clusters(clusters: pa.Table) -> pa.Table:
    """record_key (text) and cluster (int64, dense) out of linkage's cluster table."""
    need(clusters.schema, "cluster_id", table="clusters")
    keys = record_keys(clusters, "clusters")
    ids = filled(clusters.column("cluster_id"), table="clusters", column="cluster_id").combine_chunks()
    return pa.table({"record_key": keys, "cluster": ids.dictionary_encode().indices.cast(pa.int64())})


def _previous(previous: pa.Table) -> pa.Table:
    need(previous.schema, "entry_id", table="previous")
    ids = filled(previous.column("entry_id").cast(pa.string()), table="previous", column="entry_id")
    return pa.table({"entry_id": ids, "record_key": record_keys(previous, "previous")})


_NUMBER = re.compile(r"(\d+)$")


def number(entry_id: str) -> int:
    """The number of an id (`P-00000042` → 42); ids without one count as 0 (oldest)."""
    found = _NUMBER.search(entry_id)
    return int(found.group(1)) if found else 0


# --- matching ---------------------------------------------------------------------------------

HIGHEST_SQL = "SELECT coalesce(max(TRY_CAST(regexp_extract(entry_id, '(\\d+)$', 1) AS BIGINT)), 0) FROM prev"

OVERLAP_SQL = (
    "CREATE TEMP TABLE firsts AS SELECT cluster, min(record_key) AS first FROM cur GROUP BY cluster",
    """CREATE TEMP TABLE overlap AS
       SELECT o.*, count(*) OVER (PARTITION BY cluster) AS entries, count(*) OVER (PARTITION BY entry_id) AS parts
       FROM (SELECT c.cluster, p.entry_id, count(*) AS n FROM cur c JOIN prev p USING (record_key) GROUP BY ALL) o""",
)


def _match(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """cluster → previous entry id: uncontested pairs (a cluster from one entry that lies in that one
    cluster) in SQL; the rest greedily, largest overlap first, then oldest id, then smallest record key."""
    plain = con.sql("SELECT cluster, entry_id FROM overlap WHERE entries = 1 AND parts = 1").to_arrow_table()
    contested = con.execute(
        """SELECT o.cluster, o.entry_id, o.n, f.first FROM overlap o JOIN firsts f USING (cluster)
           WHERE o.entries > 1 OR o.parts > 1"""
    ).fetchall()
    contested.sort(key=lambda r: (-r[2], number(r[1]), r[1], r[3]))
    taken_clusters: set[int] = set()
    taken_ids: set[str] = set()
    pairs: list[tuple[int, str]] = []
    for cluster, entry_id, _n, _first in contested:
        if cluster not in taken_clusters and entry_id not in taken_ids:
            taken_clusters.add(cluster)
            taken_ids.add(entry_id)
            pairs.append((cluster, entry_id))
    greedy = pa.table(
        {
            "cluster": pa.array([p[0] for p in pairs], pa.int64()),
            "entry_id": pa.array([p[1] for p in pairs], pa.string()),
        }
    )
    return pa.concat_tables([plain.cast(greedy.schema), greedy])


NEW_IDS_SQL = """
CREATE TEMP TABLE fresh AS
SELECT f.cluster, $1 || printf($2, $3 + row_number() OVER (ORDER BY f.first)) AS entry_id
FROM firsts f ANTI JOIN matched m USING (cluster)
"""

FINAL_SQL = "CREATE TEMP TABLE final AS SELECT cluster, entry_id FROM matched UNION ALL SELECT cluster, entry_id FROM fresh"

MEMBERS_SQL = "SELECT f.entry_id, c.record_key FROM cur c JOIN final f USING (cluster) ORDER BY f.entry_id, c.record_key"


# --- report -----------------------------------------------------------------------------------

REPORT_SQL = {
    "kept": "SELECT entry_id FROM matched ORDER BY entry_id",
    "created": """SELECT f.entry_id, count(*) AS records FROM fresh f JOIN cur c USING (cluster)
                  GROUP BY f.entry_id ORDER BY f.entry_id""",
    "merged": """SELECT o.entry_id AS from_entry, f.entry_id AS into_entry, o.n AS records
                 FROM overlap o JOIN final f USING (cluster)
                 WHERE o.entry_id NOT IN (SELECT entry_id FROM matched) ORDER BY 1, 2""",
    "split": """SELECT o.entry_id AS from_entry, f.entry_id AS part, o.n AS records
                FROM overlap o JOIN final f USING (cluster) WHERE o.parts > 1 ORDER BY 1, 2""",
    "retired": """SELECT DISTINCT p.entry_id,
                         CASE WHEN p.entry_id IN (SELECT entry_id FROM overlap) THEN 'merged' ELSE 'emptied' END AS reason
                  FROM prev p WHERE p.entry_id NOT IN (SELECT entry_id FROM matched) ORDER BY 1""",
}

COUNTS_SQL = """
SELECT (SELECT count(*) FROM cur ANTI JOIN prev USING (record_key)) AS records_joined,
       (SELECT count(*) FROM prev ANTI JOIN cur USING (record_key)) AS records_left
"""


def _report(con: duckdb.DuckDBPyConnection) -> Report:
    tables = {name: con.sql(sql).to_arrow_table() for name, sql in REPORT_SQL.items()}
    joined, left = con.execute(COUNTS_SQL).fetchall()[0]
    counts = {
        "kept": tables["kept"].num_rows,
        "created": tables["created"].num_rows,
        "merged": len(pc.unique(tables["merged"]["from_entry"])),
        "split": len(pc.unique(tables["split"]["from_entry"])),
        "retired": tables["retired"].num_rows,
        "records_joined": joined,
        "records_left": left,
    }
    return Report(**tables, counts=counts)


def no_members() -> pa.Table:
    """The previous members of a registry's first run."""
    return pa.table({"entry_id": pa.array([], pa.string()), "record_key": pa.array([], pa.string())})
