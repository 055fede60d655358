"""Time and memory of linking a synthetic population (the registry tests' generator) at a chosen size.

    PYTHONPATH=src:. python benchmarks/registry_scale.py 100000     # persons; ~2.2 records each

Settings as a city registry would block at scale: name and birth date, phone, identifier, with the
comparisons of the tests' person registry. Prints seconds per stage, peak RSS, precision and recall.
"""

from __future__ import annotations

import copy
import resource
import sys
import time

from tests.registry.conftest import PERSON_SETTINGS, make_population

from shuzhi.registry.linkage import link
from shuzhi.registry.settings import parse_settings

SCALE_BLOCKING = [
    {"columns": ["name_pinyin", "birth_date_norm"]},
    {"columns": ["phone_norm"]},
    {"columns": ["birth_date_norm", "addr_region_code", "sex_norm"]},
]


def main(persons: int) -> None:
    raw = copy.deepcopy(PERSON_SETTINGS)
    raw["blocking"] = SCALE_BLOCKING
    raw["training"]["u"] = {"max_pairs": 1e7, "seed": 7}
    raw["training"]["em_blocking"] = [
        {"columns": ["phone_norm"]},
        {"columns": ["name_pinyin", "birth_date_norm"]},
    ]
    raw["training"]["em_max_pairs"] = 2e6
    settings = parse_settings(raw)
    started = time.perf_counter()
    population = make_population(persons, seed=3)
    table = population.table()
    made = time.perf_counter()
    linkage = link(settings, table)
    linked = time.perf_counter()
    clusters = dict(
        zip(
            linkage.clusters["record_key"].to_pylist(),
            linkage.clusters["cluster_id"].to_pylist(),
            strict=True,
        )
    )
    members: dict[str, list[str]] = {}
    for key, cluster in clusters.items():
        members.setdefault(cluster, []).append(key)
    found = {(a, b) for ks in members.values() for a in ks for b in ks if a < b}
    truth = population.true_pairs()
    hit = len(found & truth)
    print(
        f"{table.num_rows} records of {persons} persons: generated in {made - started:.1f} s, linked in {linked - made:.1f} s"
    )
    print(
        f"pairs {linkage.pairs.num_rows}, precision {hit / max(len(found), 1):.4f}, recall {hit / len(truth):.4f}"
    )
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
