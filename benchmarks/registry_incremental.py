"""An incremental registry build against a full one: linking time and whether they give the same entries.

    PYTHONPATH=src:. python benchmarks/registry_incremental.py 50000     # persons; ~2.2 records each

The tests' synthetic population is linked in full (the previous run); then a new version arrives:
1% of the records change their phone, 0.5% leave, and 1% new records arrive (new people, and new
records of existing people). Timed: the full link of the new version, and `incremental_clusters`
(the delta linked with the representatives and candidates). Printed: records linked and seconds of
each, and how many records' entry-mates differ between the two.
"""

from __future__ import annotations

import copy
import random
import sys
import time

import pyarrow as pa
from tests.registry.conftest import PERSON_SETTINGS, make_population
from tests.registry.test_service import partition

from shuzhi.registry.linkage import link
from shuzhi.registry.service import digests, incremental_clusters
from shuzhi.registry.settings import parse_settings

BLOCKING = [
    {"columns": ["name_pinyin", "birth_date_norm"]},
    {"columns": ["phone_norm"]},
    {"columns": ["birth_date_norm", "addr_region_code", "sex_norm"]},
]
ATTRIBUTES = ["name", "ric", "birth_date", "sex", "phone", "address"]


def with_digest(table: pa.Table) -> pa.Table:
    return table.append_column("digest", digests(table, ATTRIBUTES))


def new_version(old: pa.Table, persons: int, rnd: random.Random) -> pa.Table:
    rows = old.to_pylist()
    for r in rnd.sample(rows, len(rows) // 100):
        r["phone"] = r["phone_norm"] = f"1{rnd.choice('3589')}{rnd.randrange(10**9):09d}"
    gone = set(rnd.sample(range(len(rows)), len(rows) // 200))
    rows = [r for i, r in enumerate(rows) if i not in gone]
    extra = make_population(max(1, persons // 40), seed=99).rows  # ~1% of the records
    for i, r in enumerate(extra):
        r["record_key"] = f"{r['source_dataset']}#new{i}"
    return pa.Table.from_pylist(rows + extra, schema=old.schema)


def main(persons: int) -> None:
    raw = copy.deepcopy(PERSON_SETTINGS)
    raw["blocking"] = BLOCKING
    conf = parse_settings(raw)
    first = with_digest(make_population(persons, seed=5).table())
    t0 = time.perf_counter()
    prev = link(conf, first).clusters
    print(f"v1: {first.num_rows} records linked in {time.perf_counter() - t0:.1f}s")
    entry = dict(zip(prev["record_key"].to_pylist(), map(str, prev["cluster_id"].to_pylist()), strict=True))
    keys = first["record_key"].to_pylist()
    previous = pa.table({"entry_id": [entry[k] for k in keys], "record_key": keys, "digest": first["digest"]})
    second = with_digest(new_version(first.drop_columns(["digest"]), persons, random.Random(7)))
    t0 = time.perf_counter()
    full = link(conf, second).clusters
    full_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    inc, linked, _ = incremental_clusters(conf, second, previous)
    inc_s = time.perf_counter() - t0
    print(f"v2 full:        {second.num_rows} records linked in {full_s:.1f}s")
    print(f"v2 incremental: {linked} records linked in {inc_s:.1f}s")

    def mates(t: pa.Table) -> dict[str, frozenset]:
        by = dict(zip(t["record_key"].to_pylist(), map(str, t["cluster_id"].to_pylist()), strict=True))
        return {k: g for g in partition(by) for k in g}

    a, b = mates(full), mates(inc)
    differ = sum(1 for k in a if a[k] != b[k])
    print(f"records whose entry-mates differ: {differ} of {len(a)} ({differ / len(a):.4%})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50000)
