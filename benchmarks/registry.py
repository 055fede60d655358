"""A whole person-registry build from 5 departments' datasets, at 100k, 300k and 1M records, beside a plain Splink dedupe.

    .venv/bin/python benchmarks/registry.py                              # 100,000 / 300,000 / 1,000,000
    .venv/bin/python benchmarks/registry.py --sizes 100000 --keep /tmp/reg

For each size, a fresh store (a SQLite file in a temporary data directory, or `--database-url`) gets
five departments' person datasets drawn from the demo city's residents with the demo's flaws
(misspelt, homophone and traditional names, broken, blanked and 15-digit ID numbers, stale addresses,
dates in three styles, sex as words or codes, phones with +86), each loaded by the real ingest path.
Then, each timed as its own process (`shuzhi registry build`, the real CLI: wall time and peak RSS
from wait4):

  full         `shuzhi registry build persons --full`: read, normalise, link, assign ids, golden
               records, store (entries, members, golden attributes, conflicts, the ledger entry)
  incremental  after a new version of every dataset with 1 % of its records changed (0.6 % edited:
               a new phone, a move, a corrected name; 0.3 % new; 0.1 % gone):
               `shuzhi registry build persons --incremental`
  rebuild      `shuzhi registry build persons --full` of the new versions, to compare the entries
               of the incremental build with those of a retrained model
  splink       a plain Splink 5 dedupe of the same records (already normalised by the registry's own
               step, so only linking is compared): the same comparisons and blocking, an identifier
               blocking rule instead of the registry's deterministic step, u by random sampling, EM,
               predict, connected components

Printed per size: records, seconds and peak memory of each, the ratio of the full build to the plain
dedupe, the steps of each build as the run stored them, and pairwise precision and recall of the
registry's entries and of the plain dedupe's clusters against the generator's truth.
Targets (1,000,000 records): full build under 10 minutes and 8 GiB; incremental under 1 minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
SETTINGS = HERE / "registry" / "persons_5.yaml"
AS_OF = dt.date(2026, 6, 30)
RECORDS_PER_PERSON = 2.2
FULL_TARGET_S, FULL_TARGET_RSS, INCREMENTAL_TARGET_S = 600, 8 * 1024**3, 60


# (dataset, department, theme, share of residents it holds, column names, name/ID flaw rates,
#  ID missing rate, stale-address rate, date style, sex as codes, phone with +86)
DEPARTMENTS = [
    ("bench-psb-population", "GA", "公安局", "safety", 0.95,
     {"name": "姓名", "ric": "公民身份号码", "sex": "性别", "birth_date": "出生日期", "phone": "联系电话",
      "address": "现住址"}, 0.02, 0.01, 0.005, 0.03, "slash", False, False),
    ("bench-hrss-insurance", "SC", "人力资源和社会保障局", "employment", 0.5,
     {"name": "姓名", "ric": "身份证号", "sex": "性别代码", "birth_date": "出生日期", "phone": "手机号"},
     0.06, 0.03, 0.03, 0.0, "compact", True, False),
    ("bench-health-family-doctor", "WJ", "卫生健康委员会", "health", 0.45,
     {"name": "居民姓名", "ric": "身份证号", "birth_date": "出生日期", "phone": "联系电话", "address": "住址"},
     0.08, 0.03, 0.10, 0.10, "cn", False, True),
    ("bench-ca-assistance", "MZ", "民政局", "civil", 0.1,
     {"name": "姓名", "ric": "身份证号", "sex": "性别", "address": "家庭住址"},
     0.08, 0.03, 0.02, 0.15, "slash", False, False),
    ("bench-housing-contract", "ZJ", "住房和城乡建设局", "housing", 0.2,
     {"name": "买受人姓名", "ric": "证件号码", "phone": "联系电话", "address": "房屋坐落"},
     0.05, 0.02, 0.05, 0.20, "slash", False, True),
]  # fmt: skip
KEY = "记录编号"


# -- the departments' datasets ----------------------------------------------------------------------


def residents_for(records: int, seed: int):
    from shuzhi.demo.geography import load_city
    from shuzhi.demo.population import make_residents

    rng = np.random.default_rng(seed)
    city = load_city()
    return rng, city, make_residents(rng, city, max(10, round(records / RECORDS_PER_PERSON)), AS_OF)


def department_rows(dept, people: np.ndarray, residents, city, rng, start: int = 0) -> dict[str, list]:
    """The columns a department writes for `people` (indexes into residents), with its flaws."""
    from shuzhi.demo.flaws import corrupt_rics, stale_addresses, vary_person_names
    from shuzhi.demo.tables import fmt_dates

    _, code, _, _, _, cols, name_rate, bad_id, no_id, stale, style, sex_codes, plus86 = dept
    n = len(people)
    out: dict[str, list] = {KEY: [f"{code}-{start + i:08d}" for i in range(n)]}
    names, _ = vary_person_names(residents.name[people], name_rate, rng)
    out[cols["name"]] = names.tolist()
    rics, _ = corrupt_rics(residents.ric[people], bad_id, no_id, rng)
    out[cols["ric"]] = [r or None for r in rics.tolist()]
    if "sex" in cols:
        male = residents.male[people]
        out[cols["sex"]] = (
            np.where(male, "1", "2").tolist() if sex_codes else np.where(male, "男", "女").tolist()
        )
    if "birth_date" in cols:
        out[cols["birth_date"]] = fmt_dates(residents.birth[people], style).tolist()
    if "phone" in cols:
        phone = residents.phone[people].astype(object)
        if plus86:
            phone = np.where(phone != "", np.char.add("+86 ", phone.astype(str)), phone)
        out[cols["phone"]] = [p or None for p in phone.tolist()]
    if "address" in cols:
        address, _ = stale_addresses(
            residents.address[people],
            residents.previous_address[people],
            residents.district[people],
            city,
            stale,
            rng,
        )
        out[cols["address"]] = address.tolist()
    return out


def write_sources(folder: Path, records: int, seed: int = 7) -> tuple[dict[str, Path], dict[str, int], tuple]:
    """Each department's file, and the true person of every record (`dataset#key` → person)."""
    rng, city, residents = residents_for(records, seed)
    share = sum(d[4] for d in DEPARTMENTS)
    paths, truth = {}, {}
    for dept in DEPARTMENTS:
        count = round(records * dept[4] / share)
        people = rng.choice(len(residents), size=count, replace=dept[0].endswith("contract"))
        rows = department_rows(dept, people, residents, city, rng)
        paths[dept[0]] = folder / f"{dept[0]}.parquet"
        pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()}), paths[dept[0]])
        truth.update({f"{dept[0]}#{k}": int(p) for k, p in zip(rows[KEY], people, strict=True)})
    return paths, truth, (rng, city, residents)


def next_versions(folder: Path, paths: dict[str, Path], truth: dict[str, int], world) -> dict[str, Path]:
    """A new file per department: 0.6 % of its rows edited (new phone, moved, name corrected), 0.1 %
    gone, 0.3 % new rows (of residents, some already known). `truth` is updated in place."""
    rng, city, residents = world
    out = {}
    for dept in DEPARTMENTS:
        cols = dept[5]
        table = pq.read_table(paths[dept[0]]).to_pydict()
        n = len(table[KEY])
        pick = rng.permutation(n)
        edited, gone = pick[: int(n * 0.006)], set(pick[int(n * 0.006) : int(n * 0.007)].tolist())
        for i in edited.tolist():
            person = truth[f"{dept[0]}#{table[KEY][i]}"]
            what = i % 3
            if what == 0 and "phone" in cols:
                table[cols["phone"]][i] = "139" + f"{int(rng.integers(0, 10**8)):08d}"
            elif what == 1 and "address" in cols:
                table[cols["address"]][i] = residents.address[int(rng.integers(0, len(residents)))]
            else:
                table[cols["name"]][i] = residents.name[person]
        keep = [i for i in range(n) if i not in gone]
        table = {k: [v[i] for i in keep] for k, v in table.items()}
        people = rng.integers(0, len(residents), int(n * 0.003))
        new = department_rows(dept, people, residents, city, rng, start=n)
        for k in table:
            table[k] += new[k]
        truth.update({f"{dept[0]}#{k}": int(p) for k, p in zip(new[KEY], people, strict=True)})
        out[dept[0]] = folder / f"{dept[0]}.v2.parquet"
        pq.write_table(pa.table({k: pa.array(v, pa.string()) for k, v in table.items()}), out[dept[0]])
    return out


# -- the store --------------------------------------------------------------------------------------


def open_store(data_dir: Path, database_url: str | None):
    from shuzhi.config import Settings
    from shuzhi.store.db import Database

    settings = Settings(data_dir=data_dir, database_url=database_url)
    db = Database(settings.db_url)
    db.upgrade()
    return settings, db


def load_sources(settings, db, paths: dict[str, Path]) -> float:
    """Departments, datasets and one version of each file through the ingest path; seconds taken."""
    from sqlalchemy import select

    from shuzhi.catalog import service as catalog
    from shuzhi.catalog.models import Dataset
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.ingest import service as ingest
    from shuzhi.orgs import service as orgs
    from shuzhi.orgs.models import Department

    started = time.perf_counter()
    builder = orgs.system_principal("bench", "benchmark")
    with db.write() as s:
        for _, code, name, *_ in DEPARTMENTS:
            if s.scalar(select(Department.id).where(Department.code == code)) is None:
                orgs.create_department(s, code=code, name_zh=name, name_en=code)
    for dataset, code, name, theme, *_ in DEPARTMENTS:

        def target(s, dataset=dataset, code=code, name=name, theme=theme):
            found = s.scalar(select(Dataset).where(Dataset.identifier == dataset))
            return found or catalog.create_dataset(
                s,
                builder,
                DatasetIn(identifier=dataset, title_zh=f"{name}人员信息", department=code, theme=theme),
            )

        staged = ingest.stage_source(settings, paths[dataset], fmt="parquet", name=paths[dataset].name)
        ingest.commit_to(db, settings, staged, target, user_id=None)
    return time.perf_counter() - started


# -- timed children ---------------------------------------------------------------------------------


def run_child(argv: list[str], env: dict) -> tuple[float, int]:
    """Wall time and peak RSS (bytes) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv[:5])} failed: {proc.stderr.read().decode()[-3000:]}")
    return elapsed, usage.ru_maxrss * 1024


def shuzhi(env: dict, *args: str) -> tuple[float, int]:
    return run_child([str(Path(sys.executable).with_name("shuzhi")), *args], env)


def last_run(db) -> dict:
    from shuzhi.registry import service

    with db.read() as s:
        return service.status(s, "persons", runs=1, conflicts=0)["runs"][0]


def entries_of(db) -> dict[str, str]:
    from sqlalchemy import select

    from shuzhi.registry.models import RegistryEntry, RegistryMember

    with db.read() as s:
        rows = s.execute(
            select(RegistryMember.record_key, RegistryEntry.entry_key).join(
                RegistryEntry, RegistryEntry.id == RegistryMember.entry_id
            )
        ).all()
    return dict(rows)


# -- the plain Splink dedupe ------------------------------------------------------------------------


def prepared_records(settings, db, out: Path) -> None:
    """The records the registry read, normalised by its own step, as Parquet (not timed)."""
    from shuzhi.registry import service
    from shuzhi.registry.pipeline import prepare
    from shuzhi.registry.sources import locate, read_records

    with db.read() as s:
        conf = service.settings_of(service.get_registry(s, "persons"))
        located = [(src, locate(s, settings, src)) for src in conf.sources]
    parts = [read_records(loc, src) for src, loc in located]
    pq.write_table(prepare(conf, pa.concat_tables(parts, promote_options="default")), out)


PLAIN_SPLINK = """
import json, logging, sys
import duckdb, pyarrow.parquet as pq
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from splink.clustering import cluster_pairwise_predictions_at_threshold

records, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
table = pq.read_table(records, columns=[
    "record_key", "name_norm", "name_pinyin", "ric", "ric18", "birth_date_norm", "sex_norm",
    "phone_norm", "addr_street", "addr_region_code"])
db_api = DuckDBAPI(con)
settings = SettingsCreator(
    link_type="dedupe_only",
    unique_id_column_name="record_key",
    comparisons=[
        cl.JaroWinklerAtThresholds("name_norm", [0.9]).configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds("ric", [1]),
        cl.AbsoluteDateDifferenceAtThresholds("birth_date_norm", input_is_string=True,
                                              metrics=["day", "day"], thresholds=[31, 366]),
        cl.ExactMatch("sex_norm"),
        cl.LevenshteinAtThresholds("phone_norm", [1]),
        cl.ExactMatch("addr_street").configure(term_frequency_adjustments=True),
        cl.ExactMatch("addr_region_code"),
    ],
    blocking_rules_to_generate_predictions=[
        block_on("ric18"), block_on("name_pinyin", "birth_date_norm"), block_on("phone_norm"),
        block_on("birth_date_norm", "addr_region_code", "sex_norm"),
    ],
    retain_matching_columns=False,
    retain_intermediate_calculation_columns=False,
    max_iterations=10,
)
linker = Linker(db_api.register(table, table_name="people"), settings, log_level=logging.WARNING)
linker.training.estimate_probability_two_random_records_match(
    [block_on("name_norm", "birth_date_norm")], recall=0.8)
linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=42)
for rule in (block_on("birth_date_norm"), block_on("name_pinyin")):
    linker.training.estimate_parameters_using_expectation_maximisation(rule, max_pairs=2e6)
pairs = linker.inference.predict(threshold_match_probability=0.5)
clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, 0.5)
con.sql(f"COPY (SELECT record_key, cluster_id FROM {clusters.physical_name}) TO '{out}' (FORMAT parquet)")
"""


# -- scores -----------------------------------------------------------------------------------------


def pairwise(found: dict[str, str], truth: dict[str, int]) -> tuple[float, float]:
    """Pairwise precision and recall of clusters `found` (record → cluster) against the truth."""
    keys = list(found)

    def pairs(counts) -> int:
        return sum(n * (n - 1) // 2 for n in counts)

    both = pairs(Counter((found[k], truth[k]) for k in keys).values())
    said = pairs(Counter(found[k] for k in keys).values())
    true = pairs(Counter(truth[k] for k in keys).values())
    return (both / said if said else 1.0), (both / true if true else 1.0)


def differing(a: dict[str, str], b: dict[str, str]) -> int:
    """Records whose entry-mates differ between two clusterings (record → cluster) of the same records."""

    def canonical(found: dict[str, str]) -> dict[str, str]:
        first: dict[str, str] = {}
        for key, cluster in found.items():
            first[cluster] = min(first.get(cluster, key), key)
        return {key: first[cluster] for key, cluster in found.items()}

    ca, cb = canonical(a), canonical(b)
    return sum(ca[k] != cb.get(k) for k in ca)


# -- one size ---------------------------------------------------------------------------------------


def one_size(records: int, root: Path, database_url: str | None, splink: bool) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    env = {**os.environ, "SHUZHI_DATA_DIR": str(data)}
    if database_url:
        env["SHUZHI_DATABASE_URL"] = database_url
    out: dict = {"records": records}
    t0 = time.perf_counter()
    paths, truth, world = write_sources(root, records)
    out["generate_s"] = time.perf_counter() - t0
    settings, db = open_store(data, database_url)
    out["load_s"] = load_sources(settings, db, paths)
    shuzhi(env, "registry", "register", str(SETTINGS))
    out["full_s"], out["full_rss"] = shuzhi(env, "registry", "build", "persons", "--full")
    out["full_run"] = last_run(db)
    found = entries_of(db)
    out["records"] = len(found)
    out["full_p"], out["full_r"] = pairwise(found, truth)
    if splink:
        prepared, clusters = root / "prepared.parquet", root / "splink.parquet"
        prepared_records(settings, db, prepared)
        out["splink_s"], out["splink_rss"] = run_child(
            [sys.executable, "-c", PLAIN_SPLINK, str(prepared), str(clusters)], env
        )
        got = pq.read_table(clusters).to_pydict()
        plain = dict(zip(got["record_key"], map(str, got["cluster_id"]), strict=True))
        out["splink_p"], out["splink_r"] = pairwise(plain, truth)
    out["load2_s"] = load_sources(settings, db, next_versions(root, paths, truth, world))
    out["inc_s"], out["inc_rss"] = shuzhi(env, "registry", "build", "persons", "--incremental")
    out["inc_run"] = last_run(db)
    found = entries_of(db)
    out["inc_p"], out["inc_r"] = pairwise(found, {k: truth[k] for k in found})
    out["rebuild_s"], out["rebuild_rss"] = shuzhi(env, "registry", "build", "persons", "--full")
    rebuilt = entries_of(db)
    out["rebuild_p"], out["rebuild_r"] = pairwise(rebuilt, {k: truth[k] for k in rebuilt})
    out["differ"] = differing(found, rebuilt)
    db.engine.dispose()
    return out


def report(r: dict) -> None:
    gib = 1024**3
    print(f"\n== {r['records']:,} records from {len(DEPARTMENTS)} departments ==")
    print(f"  generated in {r['generate_s']:.1f} s; loaded (ingest, 5 datasets) in {r['load_s']:.1f} s")
    full, inc = r["full_run"], r["inc_run"]
    print(
        f"  full build         {r['full_s']:7.1f} s  {r['full_rss'] / gib:5.2f} GiB  "
        f"P {r['full_p']:.4f} R {r['full_r']:.4f}  entries {full['counts']['entries']:,}"
    )
    print(f"    steps: {json.dumps(full['timings'])}")
    if "splink_s" in r:
        print(
            f"  plain Splink dedupe{r['splink_s']:7.1f} s  {r['splink_rss'] / gib:5.2f} GiB  "
            f"P {r['splink_p']:.4f} R {r['splink_r']:.4f}   full build / plain Splink: "
            f"{r['full_s'] / r['splink_s']:.2f}×"
        )
    counts = {
        k: inc["counts"].get(k)
        for k in (
            "records_normalised",
            "records_linked",
            "created",
            "merged",
            "split",
            "retired",
            "attributes_changed",
        )
    }
    print(
        f"  incremental build  {r['inc_s']:7.1f} s  {r['inc_rss'] / gib:5.2f} GiB  "
        f"P {r['inc_p']:.4f} R {r['inc_r']:.4f}  (new versions loaded in {r['load2_s']:.1f} s)"
    )
    print(f"    steps: {json.dumps(inc['timings'])}")
    print(f"    counts: {json.dumps(counts)}")
    print(
        f"  full rebuild of the new versions {r['rebuild_s']:7.1f} s  {r['rebuild_rss'] / gib:5.2f} GiB  "
        f"P {r['rebuild_p']:.4f} R {r['rebuild_r']:.4f}; records whose entry-mates differ from the "
        f"incremental build: {r['differ']:,} ({r['differ'] / r['records']:.3%})"
    )
    if r["records"] >= 1_000_000:
        met = lambda ok: "met" if ok else "NOT met"  # noqa: E731
        print(
            f"  targets at 1M: full < 10 min {met(r['full_s'] < FULL_TARGET_S)}, < 8 GiB "
            f"{met(r['full_rss'] < FULL_TARGET_RSS)}; incremental < 1 min {met(r['inc_s'] < INCREMENTAL_TARGET_S)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,300000,1000000", help="records per run, comma-separated")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL store instead of SQLite")
    parser.add_argument("--no-splink", action="store_true", help="skip the plain Splink dedupe")
    parser.add_argument("--keep", type=Path, default=None, help="keep each size's data directory here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    base = args.keep or Path(tempfile.mkdtemp(prefix="shuzhi-registry-bench-"))
    try:
        for size in sizes:
            report(one_size(size, base / str(size), args.database_url, not args.no_splink))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
