"""Data quality at scale: 20 rules over a 10,000,000-row version, Shuzhi against the same checks elsewhere.

    .venv/bin/python benchmarks/quality.py [--rows 10000000] [--rounds 3]
        [--only shuzhi,hand,pandera,pandera-polars,gx,soda] [--library-rows gx=1000000]

A seeded table of 20 columns is written as Parquet the way versions are (LZ4), with a second table
of department codes for the referential rule; violations are planted in disjoint sets of rows of
known sizes, so every rule's failing count is known before anything runs. Then, each side in a
child process of its own (wall time, CPU and peak RSS from wait4):

- `shuzhi`: the rule set run through `quality.service.execute`, the step the service runs on a
  version (one scan for the row rules, one grouped pass per uniqueness rule, the failing-row samples);
- `hand`: the same checks written by hand as ONE DuckDB statement (a `count_if` per rule, the two
  uniqueness counts as scalar subqueries of it), `--rounds` times, interleaved with `shuzhi`;
- `pandera` (pandas backend, and its polars backend), `gx` (Great Expectations 1.x, pandas), `soda`
  (Soda Core 3 on DuckDB): the same rules in each library, each in a venv of its own under the cache
  directory (their pins are not ours), reading the same Parquet files; once each. Checksum and
  ID-agreement rules are custom vectorised checks there (`quality_baselines.py` says how).

Every tool's failing-row count of every rule must equal the planted count; a difference is printed
and the script exits non-zero. `--library-rows gx=N` runs a library on a smaller file of the same
generator when it cannot run the full size on this machine; Shuzhi is then also run on that file, and
that library's ratio is against it (the table names the rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from opendata import venv  # noqa: E402 (the baselines' venvs, made once under the cache directory)

AS_OF = dt.date(2026, 12, 1)
"""The day the version arrived: `not_future` judges against it."""
SEED = 20261201
BASELINES = Path(__file__).with_name("quality_baselines.py")
PACKAGES = {
    "pandera": ["pandera[polars]", "pandas", "pyarrow", "polars"],
    "gx": ["great_expectations>=1.0,<2", "pyarrow"],
    "soda": ["soda-core-duckdb", "pandas", "pyarrow"],
}

RULES = [
    {"kind": "not_null", "field": "name"},
    {"kind": "not_blank", "field": "address"},
    {"kind": "type", "field": "score_text", "type": "integer"},
    {"kind": "range", "field": "age", "min": 0, "max": 120},
    {"kind": "range", "field": "amount", "min": 0},
    {"kind": "regex", "field": "email", "pattern": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"},
    {"kind": "regex", "field": "postcode", "pattern": "[0-9]{6}"},
    {"kind": "enum", "field": "sex", "values": ["男", "女"]},
    {"kind": "enum", "field": "status", "values": [1, 2, 3]},
    {"kind": "resident_id", "field": "resident_id"},
    {"kind": "credit_code", "field": "credit_code"},
    {"kind": "region_code", "field": "region"},
    {"kind": "not_future", "field": "issue_date"},
    {"kind": "not_future", "field": "updated_at"},
    {"kind": "phone", "field": "phone", "kinds": ["mobile"]},
    {"kind": "unique", "fields": ["id"]},
    {"kind": "unique", "fields": ["credit_code"]},
    {"kind": "id_matches", "id": "resident_id", "birth": "birth_date", "sex": "sex"},
    {"kind": "field_order", "start": "start_date", "end": "end_date"},
    {"kind": "references", "field": "dept_code", "dataset": "depts", "ref_field": "code"},
]
"""20 rules of the 15 row and key kinds (timeliness judges a version's arrival and reads no row)."""

# -- the data -------------------------------------------------------------------------------------

GB11643_WEIGHTS = np.array([pow(2, 17 - i, 11) for i in range(17)])
GB32100_ALPHABET = b"0123456789ABCDEFGHJKLMNPQRTUWXY"
GB32100_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国"
DEPTS = [f"D{i:04d}" for i in range(1, 501)]


def fixed(mat: np.ndarray) -> pa.Array:
    """Rows of a uint8 matrix as a string array, built from buffers (no Python string per value)."""
    n, w = mat.shape
    offsets = np.arange(0, (n + 1) * w, w, dtype=np.int64)
    data = np.ascontiguousarray(mat, dtype=np.uint8)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data)).cast(pa.string())


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as a (n, width) matrix of their decimal digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers) % 10


def replace(arr: pa.Array, rows: np.ndarray, values: list) -> pa.Array:
    """`arr` with the rows at `rows` set to `values` cycled (None: null)."""
    mask = np.zeros(len(arr), dtype=bool)
    mask[rows] = True
    order = np.sort(rows)
    new = pa.array([values[i % len(values)] for i in range(len(order))], arr.type)
    return pc.replace_with_mask(arr, pa.array(mask), new)


class Planter:
    """Disjoint sets of rows, one per planted violation, and the count each rule must find."""

    def __init__(self, rng: np.random.Generator, rows: int) -> None:
        self.perm, self.used, self.rows = rng.permutation(rows), 0, rows
        self.expected = [0] * len(RULES)

    def take(self, per_million: int, *rules: int) -> np.ndarray:
        k = max(2, self.rows * per_million // 1_000_000) // 2 * 2  # even: duplicates come in pairs
        picked = self.perm[self.used : self.used + k]
        self.used += k
        for r in rules:
            self.expected[r] += k
        return picked


def generate(rows: int, seed: int = SEED) -> tuple[pa.Table, list[int]]:
    """The version's table and the failing count each rule of RULES must report."""
    from shuzhi.quality import regions

    rng = np.random.default_rng(seed)
    plant = Planter(rng, rows)
    region_pool = np.array(sorted(regions.valid_codes()), dtype="S6").view(np.uint8).reshape(-1, 6)
    cols: dict[str, pa.Array] = {"id": pa.array([], pa.int64())}  # set last, with its duplicates

    names = [s + g + h for s in SURNAMES for g in GIVEN for h in ("", "明", "华")]
    cols["name"] = pa.array(names).take(pa.array(rng.integers(0, len(names), rows)))
    cols["name"] = replace(cols["name"], plant.take(900, 0), [None])
    addresses = [
        f"杭州市{d}区{s}路{n}号" for d in "上下西东北南" for s in "文体延建解凤" for n in range(1, 60)
    ]
    cols["address"] = pa.array(addresses).take(pa.array(rng.integers(0, len(addresses), rows)))
    cols["address"] = replace(cols["address"], plant.take(700, 1), [None, "", "  ", "\u3000", "\t\u00a0"])

    # Resident IDs: a real region, the birth date, a sequence whose parity is the sex, the check char.
    birth = np.datetime64("1930-01-01") + rng.integers(0, 78 * 365, rows).astype("timedelta64[D]")
    y = birth.astype("datetime64[Y]").astype(int) + 1970
    m = birth.astype("datetime64[M]").astype(int) % 12 + 1
    d = (birth - birth.astype("datetime64[M]")).astype(int) + 1
    seq = rng.integers(0, 1000, rows)
    first17 = np.concatenate(
        [
            region_pool[rng.integers(0, len(region_pool), rows)] - 48,
            digits(y * 10000 + m * 100 + d, 8),
            digits(seq, 3),
        ],
        axis=1,
    )
    check = (first17 * GB11643_WEIGHTS).sum(axis=1) % 11
    bad = plant.take(800, 9)
    check[bad] = (check[bad] + 1 + rng.integers(0, 10, len(bad))) % 11  # any other check char
    ident = np.concatenate([first17 + 48, np.frombuffer(b"10X98765432", np.uint8)[check][:, None]], axis=1)
    cols["resident_id"] = fixed(ident.astype(np.uint8))
    male = seq % 2 == 1
    sex = np.where(male, "男", "女").astype(object)
    flip = plant.take(300, 17)
    sex[flip] = np.where(male[flip], "女", "男")
    sex[plant.take(400, 7)] = "未知"
    birth_date = birth.copy()
    shifted = plant.take(350, 17)
    birth_date[shifted] += rng.integers(1, 300, len(shifted)).astype("timedelta64[D]")
    cols["sex"] = pa.array(sex, pa.string())
    cols["birth_date"] = pa.array(birth_date, pa.date32())
    cols["resident_id"] = replace(cols["resident_id"], plant.take(500), [None])  # absent: not checked

    # Credit codes: authority and type, 6 region digits, 9 characters of the alphabet, the check char.
    alphabet = np.frombuffer(GB32100_ALPHABET, np.uint8)
    idx = np.concatenate(
        [
            np.array([[9, 1], [9, 2], [1, 1], [5, 2]])[rng.integers(0, 4, rows)],
            region_pool[rng.integers(0, len(region_pool), rows)] - 48,
            rng.integers(0, 31, (rows, 9)),
        ],
        axis=1,
    )
    cc_check = (31 - (idx * GB32100_WEIGHTS).sum(axis=1) % 31) % 31
    bad = plant.take(600, 10)
    cc_check[bad] = (cc_check[bad] + 1 + rng.integers(0, 30, len(bad))) % 31
    codes = np.concatenate([alphabet[idx], alphabet[cc_check][:, None]], axis=1)
    dup = plant.take(250, 16).reshape(2, -1)  # both rows of a pair fail
    codes[dup[0]] = codes[dup[1]]
    cols["credit_code"] = fixed(codes)
    cols["region"] = fixed(region_pool[rng.integers(0, len(region_pool), rows)])
    cols["region"] = replace(cols["region"], plant.take(450, 11), ["999999", "000000", "12345", "3301X6"])

    mobile = np.concatenate(
        [np.full((rows, 1), 1), rng.integers(3, 10, (rows, 1)), rng.integers(0, 10, (rows, 9))], axis=1
    )
    cols["phone"] = fixed((mobile + 48).astype(np.uint8))
    cols["phone"] = replace(
        cols["phone"], plant.take(550, 14), ["12345", "23800001111", "1381234567", "139-1234"]
    )
    cols["phone"] = replace(cols["phone"], plant.take(300), [None])
    emails = [f"{u}{i}@{h}" for u in ("li", "wang", "z.y") for i in range(300) for h in ("gov.cn", "qq.com")]
    cols["email"] = pa.array(emails).take(pa.array(rng.integers(0, len(emails), rows)))
    cols["email"] = replace(cols["email"], plant.take(650, 5), ["li@", "wang.gov.cn", "a b@c.cn", "x@y"])
    cols["email"] = replace(cols["email"], plant.take(1000), [None])
    cols["postcode"] = fixed((digits(rng.integers(100000, 999999, rows), 6) + 48).astype(np.uint8))
    cols["postcode"] = replace(cols["postcode"], plant.take(420, 6), ["31000", "3100OO", "3100001"])

    age = rng.integers(0, 101, rows)
    bad = plant.take(380, 3)
    age[bad] = rng.choice([-1, 121, 150, -20], len(bad))
    cols["age"] = pa.array(age)
    amount = np.round(rng.gamma(2.0, 5000.0, rows), 2)
    amount[plant.take(330, 4)] = -1.5
    cols["amount"] = pa.array(amount)
    cols["amount"] = replace(cols["amount"], plant.take(300), [None])
    cols["score_text"] = pc.cast(pa.array(rng.integers(-500, 100000, rows)), pa.string())
    cols["score_text"] = replace(cols["score_text"], plant.take(360, 2), ["12.5", "abc", "1e3", "十"])
    status = rng.integers(1, 4, rows)
    status[plant.take(310, 8)] = 9
    cols["status"] = pa.array(status)

    start = np.datetime64("2015-01-01") + rng.integers(0, 3000, rows).astype("timedelta64[D]")
    end = start + rng.integers(0, 600, rows).astype("timedelta64[D]")
    late = plant.take(370, 18)
    end[late] = start[late] - rng.integers(1, 90, len(late)).astype("timedelta64[D]")
    cols["start_date"] = pa.array(start, pa.date32())
    cols["end_date"] = replace(pa.array(end, pa.date32()), plant.take(500), [None])
    as_of = np.datetime64(AS_OF.isoformat())
    issue = as_of - rng.integers(0, 9000, rows).astype("timedelta64[D]")
    issue[plant.take(290, 12)] = as_of + rng.integers(1, 400)
    cols["issue_date"] = pa.array(issue, pa.date32())
    updated = (
        as_of.astype("datetime64[us]")
        + np.timedelta64(86_399_999_999, "us")
        - rng.integers(0, 10**15, rows).astype("timedelta64[us]")
    )
    future = plant.take(270, 13)
    updated[future] = (as_of + 1).astype("datetime64[us]") + rng.integers(0, 10**11, len(future)).astype(
        "timedelta64[us]"
    )
    cols["updated_at"] = pa.array(updated, pa.timestamp("us"))
    cols["dept_code"] = pa.array(DEPTS).take(pa.array(rng.integers(0, len(DEPTS), rows)))
    cols["dept_code"] = replace(cols["dept_code"], plant.take(480, 19), ["D9999", "d0001", "D000", "X0001"])

    ids = np.arange(1, rows + 1, dtype=np.int64)
    dup = plant.take(200, 15).reshape(2, -1)
    ids[dup[0]] = ids[dup[1]]
    cols["id"] = pa.array(ids)
    return pa.table(cols), plant.expected


def write(rows: int, folder: Path) -> list[int]:
    """The version and the referenced table as Parquet files in `folder`; the planted counts."""
    table, expected = generate(rows)
    from shuzhi.engine.parquet import statistics_columns

    # As the platform writes versions: no minimum or maximum of floating-point columns (NaN).
    kept = statistics_columns(table.schema)
    pq.write_table(
        table, folder / "version.parquet", compression="lz4", row_group_size=500_000, write_statistics=kept
    )
    pq.write_table(pa.table({"code": DEPTS}), folder / "depts.parquet", compression="lz4")
    (folder / "expected.json").write_text(json.dumps(expected))
    from shuzhi.quality import regions

    (folder / "regions.json").write_text(json.dumps(sorted(regions.valid_codes())))
    from shuzhi.classify.sqlfuncs import PORTABLE_MACROS

    (folder / "macros.json").write_text(json.dumps(PORTABLE_MACROS))  # for Soda's own DuckDB
    return expected


# -- Shuzhi and the hand-written query (each run in a child of its own) -------------------------------


def shuzhi_child(folder: Path) -> dict:
    """The rule set saved as the service saves it, then run as the service runs it on a version."""
    from shuzhi.quality import engine, ruleset, service
    from shuzhi.quality.kinds import Context, VersionFacts, family, rule_kinds

    version = folder / "version.parquet"
    con = engine.connect()
    columns = {n: family(t) for n, t in engine.describe(con, version).items()}
    con.close()
    saved = ruleset.parse({"rules": RULES}, rule_kinds(), Context(columns, vocabulary=service.vocabulary))
    arrived = dt.datetime.combine(AS_OF, dt.time(9))
    references = {
        i: (folder / "depts.parquet", "code", "depts", 1)
        for i, r in enumerate(RULES)
        if r["kind"] == "references"
    }
    plan = service.Plan(
        dataset_id=1,
        department_id=1,
        version_id=1,
        version_number=1,
        path=version,
        revision_id=1,
        revision=1,
        body=saved.as_dict(),
        facts=VersionFacts(None, arrived, None, None),
        as_of=AS_OF,
        references=references,
        grades={},
        levels=[],
    )
    t0 = time.perf_counter()
    done = service.execute(plan)
    seconds = time.perf_counter() - t0
    errors = [o.error for o in done.outcomes if o.error]
    if errors:
        raise SystemExit(f"rules in error: {errors}")
    return {
        "seconds": seconds,
        "failed": [o.failed for o in done.outcomes],
        "statements": len(done.statements),
    }


BLANKS = "[[:space:]\u3000\u00a0]*"


def hand_sql(version: Path, depts: Path) -> str:
    """The 20 checks as one statement, written the way one writes them by hand: the resident ID's
    facts (`sz_gb11643_facts`: shape, validity, birth date, sex digit) computed once per row below
    the checks that read them."""
    v = f"read_parquet('{version}')"
    unique = "(SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {v} GROUP BY {k} HAVING n > 1))"
    from shuzhi.quality.kinds import FACTS_DAY_OFFSET

    born = f"(f >> 2) - {FACTS_DAY_OFFSET}"  # the ID's birth date as days from 1970-01-01
    checks = [
        "name IS NULL",
        f"address IS NULL OR regexp_full_match(address, '{BLANKS}')",
        "NOT regexp_full_match(score_text, '[+-]?[0-9]+')",
        "age < 0 OR age > 120",
        "amount < 0",
        f"NOT regexp_full_match(email, '{RULES[5]['pattern']}')",
        "NOT regexp_full_match(postcode, '[0-9]{6}')",
        "sex NOT IN ('男', '女')",
        "status NOT IN (1, 2, 3)",
        "resident_id IS NOT NULL AND NOT coalesce((f & 2) = 2 AND left(resident_id, 6) IN (SELECT code FROM regions), false)",
        "NOT coalesce(sz_uscc(credit_code), false)",
        "region NOT IN (SELECT code FROM regions)",
        f"issue_date > DATE '{AS_OF}'",
        f"CAST(updated_at AS DATE) > DATE '{AS_OF}'",
        r"NOT regexp_full_match(phone, '(\+?86[ -]?)?1[3-9][0-9]{9}')",
        None,
        None,
        f"f >= 4 AND (birth_date - DATE '1970-01-01' <> {born}"
        " OR (sex = '男' AND (f & 1) = 0) OR (sex = '女' AND (f & 1) = 1))",
        "end_date < start_date",
        f"dept_code NOT IN (SELECT code FROM read_parquet('{depts}'))",
    ]
    parts = [
        f"count_if({c})" if c else unique.format(v=v, k=RULES[i]["fields"][0]) for i, c in enumerate(checks)
    ]
    rows = f"(SELECT *, sz_gb11643_facts(resident_id, current_date) AS f FROM {v})"
    return f"SELECT {', '.join(parts)} FROM {rows}"


def hand_child(folder: Path) -> dict:
    import duckdb

    from shuzhi.classify import sqlfuncs
    from shuzhi.quality import regions

    codes = regions.table().select(["code"])
    sql = hand_sql(folder / "version.parquet", folder / "depts.parquet")
    t0 = time.perf_counter()
    con = duckdb.connect()
    sqlfuncs.install(con)  # the same check-character functions and macros as Shuzhi's engine
    con.register("regions", codes)
    failed = list(con.execute(sql).fetchone())
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "failed": failed}


# -- running the sides --------------------------------------------------------------------------------


def run_child(argv: list[str], env: dict | None = None) -> dict:
    """One side in a child process: its own report (JSON, last line), wall time, CPU and peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{argv[:4]} failed:\n{err.read()[-3000:]}")
        report = json.loads(out.read().strip().splitlines()[-1])
    report.update(wall=elapsed, rss=usage.ru_maxrss / 1024, cpu=usage.ru_utime + usage.ru_stime)
    return report


def make(rows: int, folder: Path) -> list[int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(rows), str(folder)], check=True, capture_output=True
    )
    return json.loads(out.stdout.decode().strip().splitlines()[-1])


def ours(side: str, folder: Path) -> dict:
    return run_child([sys.executable, __file__, "--child", side, str(folder)])


def library(tool: str, folder: Path) -> dict:
    name = "pandera" if tool.startswith("pandera") else tool
    python = venv(name, PACKAGES[name])
    env = dict(os.environ, GX_ANALYTICS_ENABLED="false")  # no usage reports sent from the run
    return run_child([str(python), str(BASELINES), tool, str(folder), AS_OF.isoformat()], env)


def check(tool: str, runs: list[dict], expected: list[int]) -> bool:
    """Every run's failing counts against the planted ones; each difference printed."""
    same = all(list(r["failed"]) == list(expected) for r in runs)
    for r in runs:
        r["same"] = list(r["failed"]) == list(expected)
    failed = next((r["failed"] for r in runs if not r["same"]), expected)
    if not same:
        for i, (a, b) in enumerate(zip(failed, expected, strict=True)):
            if a != b:
                print(f"  {tool}: rule {i + 1} {RULES[i]} failed {a:,} rows, planted {b:,}")
    return same


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="shuzhi,hand,pandera,pandera-polars,gx,soda")
    ap.add_argument(
        "--library-rows",
        action="append",
        default=[],
        metavar="TOOL=N",
        help="run a library on a file of N rows instead (Shuzhi is run on that file too, as its reference)",
    )
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        side, folder = args.child
        if side.isdigit():  # the data, made in a child so that this process stays small (its RSS
            print(json.dumps(write(int(side), Path(folder))))  # is every later child's starting peak)
        else:
            print(json.dumps((shuzhi_child if side == "shuzhi" else hand_child)(Path(folder))))
        return
    tools = args.only.split(",")
    sizes = {t: int(n) for t, n in (x.split("=") for x in args.library_rows)}
    with tempfile.TemporaryDirectory(prefix="shuzhi-quality-") as tmp:
        files: dict[int, tuple[Path, list[int]]] = {}

        def data(rows: int) -> tuple[Path, list[int]]:
            if rows not in files:
                folder = Path(tmp) / str(rows)
                folder.mkdir()
                t0 = time.perf_counter()
                expected = make(rows, folder)
                mib = (folder / "version.parquet").stat().st_size / 2**20
                print(
                    f"{rows:,} rows × 20 columns written in {time.perf_counter() - t0:.1f} s ({mib:,.0f} MiB LZ4)"
                )
                print(f"planted failing rows per rule: {expected}", flush=True)
                files[rows] = folder, expected
            return files[rows]

        folder, expected = data(args.rows)
        results: dict[tuple[str, int], list[dict]] = {}
        ok = True
        for _ in range(args.rounds):
            for side in ("shuzhi", "hand"):
                if side in tools:
                    results.setdefault((side, args.rows), []).append(ours(side, folder))
                    print(f"{side}: {results[side, args.rows][-1]['seconds']:.2f} s", flush=True)
        for (side, _), runs in results.items():
            ok &= check(side, runs, expected)
        for tool in ("pandera", "pandera-polars", "gx", "soda"):
            if tool not in tools:
                continue
            rows = sizes.get(tool, args.rows)
            folder, expected = data(rows)
            if ("shuzhi", rows) not in results:
                results["shuzhi", rows] = [ours("shuzhi", folder) for _ in range(args.rounds)]
                ok &= check("shuzhi", results["shuzhi", rows], expected)
            try:
                r = library(tool, folder)
            except SystemExit as e:  # one library failing (memory) does not lose the others' figures
                print(f"{tool} at {rows:,} rows failed: {e}", flush=True)
                ok = False
                continue
            print(f"{tool} at {rows:,} rows: {r['seconds']:.1f} s, counts {r['failed']}", flush=True)
            ok &= check(tool, [r], expected)
            results[tool, rows] = [r]
        table(results)
    if not ok:
        raise SystemExit("failing-row counts differ (above)")


def table(results: dict) -> None:
    med = {k: statistics.median(r["seconds"] for r in runs) for k, runs in results.items()}
    print("\n| tool | rows | time (median) | vs Shuzhi | CPU of the process | peak RSS | counts identical |")
    print("|---|---|---|---|---|---|---|")
    for (tool, rows), runs in results.items():
        ref = med.get(("shuzhi", rows))
        cpu = statistics.median(r["cpu"] for r in runs)
        rss = max(r["rss"] for r in runs)
        load = f" (load {statistics.median(r['load'] for r in runs):.1f} s)" if "load" in runs[0] else ""
        ratio = f"{med[tool, rows] / ref:.2f}×" if ref else "—"
        same = "yes" if all(r["same"] for r in runs) else "NO"
        print(
            f"| {tool} | {rows:,} | {med[tool, rows]:.2f} s{load} | {ratio} | {cpu:.1f} s | {rss:,.0f} MiB | {same} |"
        )
    for (tool, rows), runs in results.items():
        if tool == "hand":
            ours_ = results["shuzhi", rows]
            times = ", ".join(
                f"{a['seconds']:.2f}/{b['seconds']:.2f}" for a, b in zip(ours_, runs, strict=True)
            )
            ratio = med["shuzhi", rows] / med["hand", rows]
            print(f"\nShuzhi / hand-written per round: {times}; ratio of medians {ratio:.2f} (target ≤ 1.3)")


if __name__ == "__main__":
    main()
