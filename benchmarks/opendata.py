"""De-identification on UCI Adult against anjana (greedy full-domain) and anonypy (Mondrian), in one run.

    .venv/bin/python benchmarks/opendata.py path/to/adult [--repeat 3] [--rows 1000000]

`path/to/adult` holds ARX's `adult.csv` and `adult_hierarchy_<column>.csv`. The baselines pin their own
numpy and pandas, so each gets a venv of its own under the cache directory (made on first use with
`python -m venv` and pip) and runs in a subprocess that prints its time and output as JSON.
1. k=5, all 9 columns quasi-identifiers, no suppression: ours (full-domain, least discernibility) vs anjana,
   and ARX's published optimum (levels [1,2,1,1,3,2,2,1,1]) costed the same way.
2. k=10, 8 quasi-identifiers (salary-class sensitive): our Mondrian vs anonypy's.
3. k=5 over a synthetic population of `--rows` rows (birth date, sex, district): time and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from shuzhi.opendata.disclosure import Dates, Hierarchy, Plan, Regions, generalise, mondrian
from shuzhi.opendata.disclosure.encoding import encode
from shuzhi.opendata.disclosure.fulldomain import Lattice

ARX_LEVELS = [1, 2, 1, 1, 3, 2, 2, 1, 1]
ARX_LEVELS_4 = [1, 0, 1, 1, 3, 2, 2, 0, 1]  # k=5 with 4% suppression
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shuzhi-benchmarks"

ANJANA = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from anjana.anonymity import k_anonymity_inner
    d, k, supp = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    data = pd.read_csv(f"{d}/adult.csv", sep=";")
    qis = list(data.columns)
    hier = {c: dict(pd.read_csv(f"{d}/adult_hierarchy_{c}.csv", sep=";", header=None)) for c in qis}
    t0 = time.perf_counter()
    out, suppressed, levels = k_anonymity_inner(data, [], qis, k, supp, hier)
    seconds = time.perf_counter() - t0
    sizes = out.groupby(qis).size().to_numpy()
    print(json.dumps({"seconds": seconds, "suppressed": int(suppressed), "levels": [int(levels[c]) for c in qis],
                      "sizes": [int(s) for s in sizes]}))
    """
)

ANONYPY = textwrap.dedent(
    """
    import json, sys, time
    import pandas as pd
    from anonypy import anonypy
    d, k = sys.argv[1], int(sys.argv[2])
    data = pd.read_csv(f"{d}/adult.csv", sep=";")
    qis = [c for c in data.columns if c != "salary-class"]
    for c in qis + ["salary-class"]:
        if not pd.api.types.is_numeric_dtype(data[c]):
            data[c] = data[c].astype("category")
    t0 = time.perf_counter()
    p = anonypy.Preserver(data, qis, "salary-class")
    rows = p.anonymize_k_anonymity(k)
    seconds = time.perf_counter() - t0
    parts = p.modrian.partition(k)
    loss = {}
    for c in qis:
        col = data[c]
        if col.dtype.name == "category":
            total = max(col.nunique() - 1, 1)
            loss[c] = sum((col.loc[q].nunique() - 1) / total * len(q) for q in parts) / len(data)
        else:
            span = col.max() - col.min()
            loss[c] = sum((col.loc[q].max() - col.loc[q].min()) / span * len(q) for q in parts) / len(data)
    print(json.dumps({"seconds": seconds, "sizes": [len(q) for q in parts], "ncp": loss, "rows": len(rows)}))
    """
)


PACKAGES = {"anjana": ["anjana"], "anonypy": ["anonypy", "pandas"]}  # anonypy does not declare pandas


def venv(name: str, packages: list[str] | None = None) -> Path:
    """A venv holding one baseline (`packages`, by default this script's for `name`), made once
    under the cache directory; other benchmarks make theirs with it too."""
    path = CACHE / name
    python = path / "bin" / "python"
    if not (path / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *(packages or PACKAGES[name])], check=True
        )
        (path / ".installed").touch()
    return python


def baseline(name: str, script: str, adult: Path, *args) -> dict:
    out = subprocess.run(
        [str(venv(name)), "-c", script, str(adult), *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def read_adult(adult: Path) -> tuple[pa.Table, dict[str, Hierarchy]]:
    table = pcsv.read_csv(adult / "adult.csv", parse_options=pcsv.ParseOptions(delimiter=";"))
    hier = {c: Hierarchy.from_csv(adult / f"adult_hierarchy_{c}.csv") for c in table.column_names}
    return table, hier


def costed(table: pa.Table, plan: Plan, levels: list[int]) -> tuple[float, float, int]:
    """Discernibility, NCP and rows suppressed at a given combination of levels, measured as our search
    measures them."""
    qis = [encode(table, c, h) for c, h in plan.quasi_identifiers.items()]
    lattice = Lattice(qis, [], plan, table.num_rows)
    index = int(np.ravel_multi_index(levels, tuple(lattice.heights + 1)))
    node = lattice.evaluate(index)
    return node.discernibility, lattice.ncp(index), node.suppressed


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def row(name: str, seconds: float | None, dm: float, ncp: float | None, suppressed: int, ref: float) -> str:
    t = f"{seconds:.3f} s" if seconds is not None else "—"
    n = f"{ncp:.4f}" if ncp is not None else "—"
    return f"| {name} | {t} | {dm:,.0f} | {dm / ref:.3f}× | {n} | {suppressed} |"


def full_domain(adult: Path, repeat: int) -> None:
    table, hier = read_adult(adult)
    for share, arx_levels in ((0, ARX_LEVELS), (4, ARX_LEVELS_4)):
        plan = Plan(hier, k=5, suppression=share / 100)
        seconds, ours = timed(lambda plan=plan: generalise(table, plan), repeat)
        theirs = baseline("anjana", ANJANA, adult, 5, share)
        arx = costed(table, plan, arx_levels)
        anjana = costed(table, plan, theirs["levels"])
        ref = ours.report.discernibility
        levels = [ours.report.generalisation[c]["level"] for c in table.column_names]
        print(f"\nk=5, 9 quasi-identifiers, {share}% suppression (full-domain)")
        print("| method | time | discernibility | vs ours | NCP | suppressed |\n|---|---|---|---|---|---|")
        print(row(f"ours, levels {levels}", seconds, ref, ours.report.ncp, ours.report.suppressed, ref))
        print(
            row(f"anjana, levels {theirs['levels']}", theirs["seconds"], anjana[0], anjana[1], anjana[2], ref)
        )
        print(row(f"ARX optimum (by entropy), levels {arx_levels}", None, arx[0], arx[1], arx[2], ref))
        measured = float(np.sum(np.square(theirs["sizes"], dtype=np.float64)))
        print(
            f"anjana's own output: {theirs['suppressed']} rows suppressed, classes' squares {measured:,.0f}; "
            f"time ratio {theirs['seconds'] / seconds:.1f}×"
        )


def multidimensional(adult: Path, repeat: int) -> None:
    table, hier = read_adult(adult)
    qis = {c: (None if c == "age" else hier[c]) for c in table.column_names if c != "salary-class"}
    plan = Plan(qis, k=10, sensitive=("salary-class",))
    seconds, ours = timed(lambda: mondrian(table, plan), repeat)
    theirs = baseline("anonypy", ANONYPY, adult, 10)
    dm = float(np.sum(np.square(theirs["sizes"], dtype=np.float64)))
    ncp = float(np.mean(list(theirs["ncp"].values())))
    ref = ours.report.discernibility
    print("\nk=10, 8 quasi-identifiers (Mondrian)")
    print("| method | time | discernibility | vs ours | NCP | suppressed |\n|---|---|---|---|---|---|")
    print(
        row(f"ours ({ours.report.classes} classes, k={ours.report.k})", seconds, ref, ours.report.ncp, 0, ref)
    )
    print(row(f"anonypy ({len(theirs['sizes'])} partitions)", theirs["seconds"], dm, ncp, 0, ref))
    print(f"time ratio {theirs['seconds'] / seconds:.1f}×")


def population(rows: int, seed: int = 11) -> pa.Table:
    rng = np.random.default_rng(seed)
    districts = [
        f"{p:02d}{c:02d}{d:02d}" for p in (11, 31, 44, 51, 61) for c in range(1, 5) for d in range(1, 6)
    ]
    birth = np.datetime64("1940-01-01") + rng.integers(0, 80 * 365, rows).astype("timedelta64[D]")
    return pa.table(
        {
            "birth_date": pa.array(birth, pa.date32()),
            "sex": pa.array(np.array(["F", "M"])[rng.integers(0, 2, rows)]),
            "district": pa.array(np.array(districts)[rng.integers(0, len(districts), rows)]),
        }
    )


def synthetic(rows: int) -> None:
    """Run in a child of its own so that its peak memory is its own."""
    table = population(rows)
    sex = Hierarchy.from_rows([["F", "*"], ["M", "*"]])
    plan = Plan({"birth_date": Dates(), "sex": sex, "district": Regions()}, k=5)
    t0 = time.perf_counter()
    release = generalise(table, plan)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    r = release.report
    levels = {c: g["level"] for c, g in r.generalisation.items()}
    print(
        f"\nk=5 over {rows:,} synthetic people (birth date, sex, district): {seconds:.2f} s, peak RSS "
        f"{peak:,.0f} MiB (the table itself included); levels {levels}, k={r.k}, {r.classes:,} classes, "
        f"discernibility {r.discernibility:,.0f}, NCP {r.ncp:.4f}, suppressed {r.suppressed}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("adult", type=Path, nargs="?", help="folder with adult.csv and its hierarchies")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--synthetic-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.synthetic_only:
        synthetic(args.rows)
        return
    if args.adult is None:
        ap.error("give the folder holding adult.csv")
    full_domain(args.adult, args.repeat)
    multidimensional(args.adult, args.repeat)
    subprocess.run([sys.executable, __file__, "--synthetic-only", "--rows", str(args.rows)], check=True)


if __name__ == "__main__":
    main()
