"""Accuracy of the demo city's person and enterprise registries against the city's ground truth.

    PYTHONPATH=src python benchmarks/registry_accuracy.py --scale 0.2

Generates the demo city (shuzhi.demo.generate) at `--scale`, reads each source file named by the
shipped settings (src/shuzhi/registry/registries/{persons,enterprises}.yaml) into records, prepares
and links them, and scores the clusters against truth/ground_truth.parquet: pairwise precision,
recall and F1 (over pairs of records put in one cluster) and B-cubed precision, recall and F1 (per
record, averaged). A record whose row names no entity of the registry's kind in the truth is a
singleton of its own in the truth.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REGISTRIES = Path(__file__).resolve().parents[1] / "src" / "shuzhi" / "registry" / "registries"
KINDS = {"persons": "person", "enterprises": "enterprise"}
# Rows that name several people or firms: the role a source's mapping reads (see the YAML comments).
ROLES = {
    "hz-xh-psb-rental": "tenant",
    "hz-health-birth": "child",
    "hz-health-family-doctor": "resident",
    "hz-ca-marriage": "wife",
    "hz-samr-enterprise": "subject",
}


def read_file(spec) -> pa.Table:
    """A demo dataset's file as the department wrote it, every cell as text (as a registry reads it)."""
    path, fmt = Path(spec.path), spec.format
    if fmt == "csv":
        df = pd.read_csv(path, dtype=str, encoding=spec.encoding or "utf-8", keep_default_na=False)
        df = df.replace("", None)
    elif fmt == "xlsx":
        df = pd.read_excel(path, dtype=str, engine="calamine")
    elif fmt == "jsonl":
        df = pd.read_json(path, lines=True, dtype=False, convert_dates=False)
    else:
        return pq.read_table(path)
    df = df.astype(object).where(df.notna(), None)
    return pa.Table.from_pandas(df, preserve_index=False)


def registry_records(settings, manifest) -> tuple[pa.Table, list[tuple[str, int]]]:
    """The registry's raw records from the city's files, and (dataset, row) of each record in order."""
    from shuzhi.registry.sources import table_records

    specs = {d.identifier: d for d in manifest.datasets}
    tables, rows = [], []
    for source in settings.sources:
        table = table_records(source, read_file(specs[source.dataset]))
        tables.append(table)
        rows += [(source.dataset, i) for i in range(table.num_rows)]
    return pa.concat_tables(tables, promote_options="default"), rows


def truth_of(manifest, kind: str, rows: list[tuple[str, int]]) -> list[str]:
    """The true entity of each record's row (its role's), or a singleton id of its own."""
    truth = pq.read_table(manifest.ground_truth).to_pandas()
    truth = truth[truth.entity_type == kind]
    entity = {}
    for dataset, row, role, eid in zip(truth.dataset, truth.row, truth.role, truth.entity_id, strict=True):
        if ROLES.get(dataset, role) == role:
            entity[(dataset, int(row))] = eid
    return [entity.get(r, f"none:{r[0]}#{r[1]}") for r in rows]


def _pairs(counts) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def scores(found: list[str], truth: list[str]) -> dict[str, float]:
    """Pairwise and B-cubed precision, recall and F1 of clusters `found` against `truth` (per record)."""
    cells = Counter(zip(found, truth, strict=True))
    by_found, by_truth = Counter(found), Counter(truth)
    both = _pairs(cells.values())
    p = both / _pairs(by_found.values()) if _pairs(by_found.values()) else 1.0
    r = both / _pairs(by_truth.values()) if _pairs(by_truth.values()) else 1.0
    n = len(found)
    bp = sum(k * k / by_found[f] for (f, _), k in cells.items()) / n
    br = sum(k * k / by_truth[t] for (_, t), k in cells.items()) / n
    return {
        "precision": p,
        "recall": r,
        "f1": _f1(p, r),
        "b3_precision": bp,
        "b3_recall": br,
        "b3_f1": _f1(bp, br),
    }


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def measure(manifest, name: str, settings_dir: Path = REGISTRIES) -> dict:
    """Link one registry of the city and score it; the figures with records, entities and seconds."""
    from shuzhi.registry.pipeline import resolve
    from shuzhi.registry.settings import load_settings

    settings = load_settings(settings_dir / f"{name}.yaml")
    records, rows = registry_records(settings, manifest)
    truth = truth_of(manifest, KINDS[name], rows)
    started = time.perf_counter()
    linkage = resolve(settings, records)
    seconds = time.perf_counter() - started
    cluster = dict(zip(*linkage.clusters.to_pydict().values(), strict=True))
    found = [cluster[k] for k in records.column("record_key").to_pylist()]
    return {
        "registry": name,
        "records": records.num_rows,
        "entities": len(set(truth)),
        "clusters": len(set(found)),
        **scores(found, truth),
        "seconds": seconds,
    }


def city(out: Path, scale: float, seed: int | None = None):
    from shuzhi.demo.generate import DEFAULT_SEED, generate

    return generate(out, seed=DEFAULT_SEED if seed is None else seed, scale=scale)


def _city(out: Path, scale: float, seed: int | None):
    from shuzhi.demo.generate import CityManifest

    if (out / "manifest.json").exists():
        manifest = CityManifest.load(out)
        if manifest.scale == scale and seed in (None, manifest.seed):
            return manifest
    return city(out, scale, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.2, help="demo city scale (1.0: 50,000 residents)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--settings", type=Path, default=REGISTRIES, help="folder of persons/enterprises.yaml"
    )
    parser.add_argument("--only", choices=sorted(KINDS), default=None)
    parser.add_argument("--city", type=Path, default=None, help="keep the city here; reuse it if there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        manifest = _city(args.city or Path(tmp) / "city", args.scale, args.seed)
        print(f"demo city at scale {args.scale}: {time.perf_counter() - started:.1f} s to generate")
        head = f"{'registry':<12}{'records':>9}{'entities':>9}{'clusters':>9}"
        head += "".join(f"{h:>8}" for h in ("P", "R", "F1", "B3-P", "B3-R", "B3-F1", "s"))
        print(head)
        for name in [args.only] if args.only else list(KINDS):
            m = measure(manifest, name, args.settings)
            figures = [m[k] for k in ("precision", "recall", "f1", "b3_precision", "b3_recall", "b3_f1")]
            line = f"{name:<12}{m['records']:>9}{m['entities']:>9}{m['clusters']:>9}"
            print(line + "".join(f"{v:>8.4f}" for v in figures) + f"{m['seconds']:>8.1f}")


if __name__ == "__main__":
    main()
