"""Accuracy on the held-out set (tests/data/classify_holdout.parquet), built apart from the tuning set."""

import pyarrow.parquet as pq
from tests.classify.evaluation import EVAL_SET, HOLDOUT_SET, evaluate


def _sensitive_values(path) -> set[str]:
    rows = pq.read_table(path).to_pylist()
    return {v for r in rows if r["label"] != "none" for v in r["values"] if v}


def test_holdout_is_big_and_apart_from_the_tuning_set():
    t = pq.read_table(HOLDOUT_SET)
    assert t.num_rows >= 150
    assert t.column("label").to_pylist().count("none") >= 60
    # Different generators: only chance collisions in small domains (汉族, 佛教, short names) are shared.
    held = _sensitive_values(HOLDOUT_SET)
    assert len(held & _sensitive_values(EVAL_SET)) < 0.01 * len(held)


def test_holdout_precision_and_recall():
    report = evaluate(HOLDOUT_SET)
    assert report["precision"] >= 0.97, report["mistakes"]
    assert report["recall"] >= 0.95, report["mistakes"]
