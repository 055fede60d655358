"""Accuracy on the labelled evaluation set (tests/data/classify_eval.parquet)."""

import pyarrow.parquet as pq
from tests.classify.evaluation import EVAL_SET, evaluate


def test_eval_set_is_big_and_varied():
    t = pq.read_table(EVAL_SET)
    assert t.num_rows >= 300
    sources = set(t.column("source").to_pylist())
    assert any("zh_TW" in s for s in sources) and any("en_US" in s for s in sources)
    assert t.column("label").to_pylist().count("none") >= 80


def test_precision_and_recall_per_category():
    report = evaluate()
    assert report["precision"] >= 0.97, report["mistakes"]
    assert report["recall"] >= 0.95, report["mistakes"]
    for cat, m in report["per_category"].items():
        assert m["precision"] >= 0.8 and m["recall"] >= 0.8, (cat, m)
