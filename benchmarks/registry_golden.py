"""Golden records and stable entry ids at registry scale: a million person records from five departments.

    .venv/bin/python benchmarks/registry_golden.py [--records 1000000] [--per-person 4]

A seeded table in the registry's record shape (the derived columns filled as normalisation would) is
grouped into people of about `--per-person` records each. Timed, in this process (wall time; peak
RSS from getrusage at the end):

- `golden`: `golden.build` with the default people rules (six attributes, three conflict-checked);
- `ids first run`: `identity.assign` on an empty registry;
- `ids next run`: the same people after 1% of the records left, 1% arrived as new people, and 0.5%
  of the people were merged in pairs and 0.5% split in two.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shuzhi.registry import golden, identity

DATASETS = np.array(["psb", "hrss", "health", "civil", "tax"])
SEED = 20261206


def records(n: int, per_person: int, rng: np.random.Generator) -> tuple[pa.Table, np.ndarray]:
    person = rng.integers(0, max(1, n // per_person), n)
    dataset = DATASETS[rng.integers(0, len(DATASETS), n)]
    day = 1 + (person % 28)
    born = np.char.add(
        np.char.add("19", (50 + person % 50).astype(str)),
        np.char.add("-03-", np.char.zfill(day.astype(str), 2)),
    )
    # one record in twenty carries a different birth date: conflicts to list
    born = np.where(rng.random(n) < 0.05, "1970-01-01", born)
    name = np.char.add("张", (person % 9973).astype(str))
    keys = np.char.add(np.char.add(dataset, "#"), np.arange(n).astype(str))
    ric = np.char.zfill(person.astype(str), 18)
    valid = rng.random(n) > 0.1
    table = pa.table(
        {
            "record_key": keys,
            "source_dataset": dataset,
            "source_version": rng.integers(1, 5, n),
            "source_row": np.arange(n).astype(str),
            "name": name,
            "name_norm": name,
            "ric": ric,
            "ric18": pa.array(np.where(valid, ric, None)),
            "ric_valid": valid,
            "birth_date": born,
            "birth_date_norm": born,
            "sex": np.where(person % 2 == 0, "男", "女"),
            "sex_norm": np.where(person % 2 == 0, "M", "F"),
            "phone": np.char.add("138", np.char.zfill((person % 10**8).astype(str), 8)),
            "address": np.char.add("中山路", (person % 500).astype(str)),
        }
    )
    return table, person


def timed(label: str, fn):
    start = time.perf_counter()
    out = fn()
    print(f"{label:<16} {time.perf_counter() - start:7.2f} s")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--per-person", type=int, default=4)
    args = parser.parse_args()
    rng = np.random.default_rng(SEED)
    table, person = records(args.records, args.per_person, rng)
    clusters = pa.table({"record_key": table["record_key"], "cluster_id": person})
    print(f"{args.records:,} records, {len(np.unique(person)):,} people")

    g = timed("golden", lambda: golden.build(table, clusters, golden.PEOPLE))
    print(f"  {g.attributes.num_rows:,} golden attributes, {g.conflicts.num_rows:,} conflict candidates")
    first = timed("ids first run", lambda: identity.assign(identity.no_members(), clusters, prefix="P"))

    n, people = args.records, int(person.max()) + 1
    merging = rng.choice(people, 2 * (people // 400), replace=False).reshape(-1, 2)
    remap = np.arange(people)
    remap[merging[:, 1]] = merging[:, 0]  # each pair becomes one person
    changed = remap[person]
    splitting = np.isin(changed, rng.choice(people, people // 200, replace=False)) & (rng.random(n) < 0.5)
    changed[splitting] += 10 * people
    keep = rng.random(n) > 0.01
    arrived = n // 100
    next_clusters = pa.concat_tables(
        [
            pa.table({"record_key": table["record_key"], "cluster_id": changed}).filter(pa.array(keep)),
            pa.table(
                {
                    "record_key": pc.binary_join_element_wise(
                        "new", pa.array(np.arange(arrived).astype(str)), "#"
                    ),
                    "cluster_id": np.arange(arrived) + 20 * people,
                }
            ),
        ]
    )
    nxt = timed(
        "ids next run", lambda: identity.assign(first.members, next_clusters, prefix="P", issued=first.issued)
    )
    print("  " + ", ".join(f"{k} {v:,}" for k, v in nxt.report.counts.items()))
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
