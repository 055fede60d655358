"""Column-level precision and recall of the detector set on the labelled evaluation set."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from shuzhi.classify.detectors import builtin_detectors
from shuzhi.classify.engine import NONE, UNKNOWN, Scanner

EVAL_SET = Path(__file__).resolve().parents[1] / "data" / "classify_eval.parquet"
HOLDOUT_SET = EVAL_SET.with_name("classify_holdout.parquet")


def evaluate(path: Path = EVAL_SET) -> dict:
    rows = pq.read_table(path).to_pylist()
    scanner = Scanner(builtin_detectors())
    tp, fp, fn = Counter(), Counter(), Counter()
    mistakes = []
    for row in rows:
        result = scanner.scan(pa.table({row["name"]: pa.array(row["values"], pa.string())}))[0]
        got = NONE if result.category == UNKNOWN else result.category
        want = row["label"]
        if got == want:
            if want != NONE:
                tp[want] += 1
            continue
        mistakes.append((row["name"], row["source"], want, got, result.evidence.get("candidates")))
        if got != NONE:
            fp[got] += 1
        if want != NONE:
            fn[want] += 1
    cats = sorted(set(tp) | set(fp) | set(fn))
    per = {
        c: {
            "precision": tp[c] / (tp[c] + fp[c]) if tp[c] + fp[c] else 1.0,
            "recall": tp[c] / (tp[c] + fn[c]) if tp[c] + fn[c] else 1.0,
            "support": tp[c] + fn[c],
        }
        for c in cats
    }
    t, p, n = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "columns": len(rows),
        "precision": t / (t + p),
        "recall": t / (t + n),
        "per_category": per,
        "mistakes": mistakes,
    }


if __name__ == "__main__":
    import sys

    report = evaluate(HOLDOUT_SET if "--holdout" in sys.argv else EVAL_SET)
    for cat, m in report["per_category"].items():
        print(f"{cat:20s} P={m['precision']:.3f} R={m['recall']:.3f} n={m['support']}")
    print(f"columns={report['columns']} precision={report['precision']:.4f} recall={report['recall']:.4f}")
    for m in report["mistakes"]:
        print("MISS", m)
