"""Open data at scale: a release of the demo's population register, package_search, datastore paging.

    .venv/bin/python benchmarks/opendata_scale.py release [--scale 20]
    .venv/bin/python benchmarks/opendata_scale.py search [--sizes 10000,300000] [--pg-url URL]
    .venv/bin/python benchmarks/opendata_scale.py datastore [--rows 10000000] [--limit 10000]

1. `release`: the demo city's residents at `--scale` (20: 1,000,000 people) as the population register
   the demo writes (hz-psb-population, with the code of the district each lives in), released at k=5
   with birth date, sex and district as quasi-identifiers through the release service's own steps —
   read the version's Parquet, build (drop, mask, generalise, anonymise, shuffle), write, read the
   written file back and check its k, hash. Timed in a child process of its own, with its peak RSS and
   Arrow's peak allocation.
2. `search`: `--sizes` published datasets seeded in bulk (SQLite, and PostgreSQL with `--pg-url`), then
   package_search through the CKAN action (facets on) with a mix of queries, warm: p50/p95, a first
   (cold) call, and the same query on the listing rebuilt per call as before the cache.
3. `datastore`: a `--rows`-row release file walked through datastore_search's `_links.next` (keyset
   pages of `--limit`): rows/s, the first and the last page, their ratio; a sample of offset pages.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

# -- 1. a k=5 release of the population register ----------------------------------------------------

DISTRICT = "现住区县代码"
"""The register writes the district inside the address; the benchmark gives it its own column."""


def register(scale: float, path: Path) -> int:
    """The demo's population register at `scale`, with the district code of each resident, as Parquet."""
    from shuzhi.demo.builders import psb_population
    from shuzhi.demo.catalog import DEFINITIONS
    from shuzhi.demo.generate import AS_OF, BASE_RESIDENTS, DEFAULT_SEED, _rng
    from shuzhi.demo.geography import DEFAULT_CITY, load_city
    from shuzhi.demo.population import make_residents
    from shuzhi.demo.tables import Context
    from shuzhi.demo.writers import to_arrow

    city = load_city(DEFAULT_CITY)
    residents = make_residents(_rng(DEFAULT_SEED, "residents"), city, round(BASE_RESIDENTS * scale), AS_OF)
    definition = next(d for d in DEFINITIONS if d.identifier == "hz-psb-population")
    ctx = Context(city, residents, None, AS_OF, _rng(DEFAULT_SEED, definition.identifier))
    built = psb_population(ctx)
    table = to_arrow(built.columns, [(f[0], f[1]) for f in definition.fields])
    codes = np.array([d.code for d in city.districts], dtype=object)[residents.district]
    table = table.append_column(DISTRICT, pa.array(codes, pa.string()))
    pq.write_table(table, path, compression="zstd")
    return table.num_rows


PLAN = {
    "fields": {
        "人员编号": {"action": "drop"},
        "姓名": {"action": "drop"},
        "性别": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["男", "*"], ["女", "*"]]}},
        "民族": {"action": "keep"},
        "出生日期": {"action": "qi", "hierarchy": {"kind": "dates"}},
        "公民身份号码": {"action": "drop"},
        "户籍地址": {"action": "drop"},
        "现住址": {"action": "drop"},
        "联系电话": {"action": "mask", "mask": "keep_first:3"},
        "人口状态": {"action": "keep"},
        "状态变更日期": {"action": "generalise", "hierarchy": {"kind": "dates"}, "level": 1},
        "登记日期": {"action": "generalise", "hierarchy": {"kind": "dates"}, "level": 3},
        DISTRICT: {"action": "qi", "hierarchy": {"kind": "regions"}},
    },
    "k": 5,
    "algorithm": "full-domain",
}


def release_child(version: Path) -> None:
    """The release service's steps over the version file, timed one by one, printed as JSON (in a
    process of its own, started from a small parent, so that its peak memory is its own)."""
    from shuzhi.opendata import releases
    from shuzhi.opendata.plans import PlanIn

    plan = PlanIn.of(PLAN)
    with tempfile.TemporaryDirectory() as tmp:
        settings = SimpleNamespace(keys_dir=Path(tmp))
        t0 = time.perf_counter()
        table = pq.read_table(version)
        t1 = time.perf_counter()
        released, fields, report = releases.build(
            settings, SimpleNamespace(id=1), SimpleNamespace(id=1), table, plan
        )
        t2 = time.perf_counter()
        checked, _, size = releases.write_checked(released, plan, Path(tmp) / "release.parquet")
        t3 = time.perf_counter()
    out = {
        "rows": table.num_rows,
        "steps": [t1 - t0, t2 - t1, t3 - t2, t3 - t0],
        "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "arrow": pa.default_memory_pool().max_memory() / 2**20,
        "size": size,
        "levels": {c: g["level"] for c, g in report["generalisation"].items()},
        "k": checked["k"],
        "classes": checked["classes"],
        "released": checked["rows"],
        "suppressed": report["suppressed"],
        "fields": len(fields),
    }
    print(json.dumps(out, ensure_ascii=False))


STEPS = (
    "read the version's Parquet",
    "build: drop, mask, generalise, anonymise (full-domain), shuffle",
    "write Parquet, read it back, check k, SHA-256",
    "**whole release** (target < 10 s)",
)


def run_release(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    version = work / f"register-scale{args.scale:g}.parquet"
    if not version.exists():
        t0 = time.perf_counter()
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import opendata_scale as b; "
        code += f"print(b.register({args.scale}, __import__('pathlib').Path({str(version)!r})))"
        subprocess.run([sys.executable, "-c", code], check=True)
        print(f"generated the register in {time.perf_counter() - t0:.1f} s (not timed below)")
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run(
            [sys.executable, __file__, "release-child", str(version)],
            check=True,
            capture_output=True,
            text=True,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    last = runs[-1]
    print(f"\nk=5 release of the population register, {last['rows']:,} rows, {len(runs)} runs (seconds)")
    print("| step | " + " | ".join(f"run {i + 1}" for i in range(len(runs))) + " | median |")
    print("|---|" + "---|" * (len(runs) + 1))
    for i, name in enumerate(STEPS):
        times = [r["steps"][i] for r in runs]
        print(f"| {name} | " + " | ".join(f"{t:.2f}" for t in times) + f" | {statistics.median(times):.2f} |")
    rss = [r["rss"] for r in runs]
    print(
        "| peak RSS (MiB) | " + " | ".join(f"{m:,.0f}" for m in rss) + f" | {statistics.median(rss):,.0f} |"
    )
    arrow = [r["arrow"] for r in runs]
    print(
        "| Arrow peak allocation (MiB) | "
        + " | ".join(f"{m:,.0f}" for m in arrow)
        + f" | {statistics.median(arrow):,.0f} |"
    )
    print(
        f"version {version.stat().st_size / 2**20:.0f} MiB, release {last['size'] / 2**20:.1f} MiB; levels "
        f"{last['levels']}; checked k={last['k']}, {last['classes']:,} classes, {last['released']:,} rows "
        f"released, suppressed {last['suppressed']:,}; {last['fields']} public fields"
    )


# -- 2. package_search at 10,000 and 300,000 published datasets -----------------------------------

SUBJECTS = ["常住人口", "户籍", "社会保险", "医疗机构", "企业", "营业执照", "纳税人", "不动产", "出租房屋",
            "公共租赁住房", "道路运输", "网约车", "高新技术企业", "失信主体", "婚姻登记", "最低生活保障",
            "出生医学证明", "家庭医生", "行政处罚", "建设用地", "统计", "就业", "失业", "养老", "学校"]  # fmt: skip
KINDS = ["基本信息", "登记信息", "名单", "记录", "统计表", "汇总", "明细", "台账"]
DISTRICTS = [
    "上城区",
    "拱墅区",
    "西湖区",
    "滨江区",
    "萧山区",
    "余杭区",
    "临平区",
    "钱塘区",
    "富阳区",
    "临安区",
]
THEMES = ["population", "market", "health", "employment", "transport", "housing"]
LICENCES = ["CC-BY-4.0", "CC0-1.0", "ODC-BY-1.0", None]
FIELDS = [("区县代码", "GB/T 2260 行政区划代码"), ("统计年度", "年度"), ("登记日期", "登记的日期"),
          ("数量", "条数或人数"), ("类别", "业务分类")]  # fmt: skip
ORGS = 200
FACETS = '["organization", "groups", "tags", "res_format", "license_id"]'
SEARCHES = {
    "empty q": {},
    "Chinese q, one word": {"q": "营业执照"},
    "Chinese q, two words": {"q": "西湖区 社会保险"},
    "fq organization": {"fq": "organization:D007"},
    "q + fq + sort by name": {"q": "社会保险", "fq": "organization:D011", "sort": "name asc"},
    "no match": {"q": "量子隧穿"},
    "page 50 (start 490)": {"start": 490},
}


def seed(db, n: int) -> None:
    """`n` datasets, each with one published release (every tenth with two), inserted in bulk: the
    rows the release service would have written, without building files (search reads none)."""
    import datetime as dt

    from sqlalchemy import insert

    from shuzhi.catalog.models import Dataset, DatasetField, DatasetVersion
    from shuzhi.opendata.models import Release
    from shuzhi.orgs.models import Department

    rng = np.random.default_rng(20261205)
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with db.engine.begin() as c:
        c.execute(
            insert(Department),
            [{"code": f"D{i:03d}", "name_zh": f"{DISTRICTS[i % 10]}第{i}委办局", "level": "district",
              "created_at": now} for i in range(ORGS)],
        )  # fmt: skip
        dept_ids = [r[0] for r in c.execute(select_ids(Department))]
    batch = 20_000
    for lo in range(0, n, batch):
        hi = min(n, lo + batch)
        pick = lambda items, k=hi - lo: [items[i] for i in rng.integers(0, len(items), k)]  # noqa: E731
        district, subject, kind, other = pick(DISTRICTS), pick(SUBJECTS), pick(KINDS), pick(SUBJECTS)
        theme, licence, org = pick(THEMES), pick(LICENCES), pick(dept_ids)
        days = rng.integers(0, 2000, hi - lo)
        datasets = []
        for j, i in enumerate(range(lo, hi)):
            title = f"{district[j]}{subject[j]}{kind[j]}"
            datasets.append(
                {"identifier": f"ds-{i:06d}", "title_zh": title, "title_en": f"Dataset {i}",
                 "description": f"{title}，含{subject[j]}与{other[j]}相关字段", "department_id": org[j],
                 "theme": theme[j], "keywords": [subject[j], other[j], district[j]], "update_frequency": "monthly",
                 "share_type": "unconditional", "open_type": "unconditional", "licence": licence[j],
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
        with db.engine.begin() as c:
            c.execute(insert(Dataset), datasets)
            ids = [r[0] for r in c.execute(select_ids(Dataset, lo, hi))]
            c.execute(
                insert(DatasetField),
                [{"dataset_id": d, "position": k, "name": name, "type": "VARCHAR", "description": desc}
                 for d in ids for k, (name, desc) in enumerate(FIELDS)],
            )  # fmt: skip
            c.execute(
                insert(DatasetVersion),
                [{"dataset_id": d, "number": 1, "path": f"v/{d}", "source": "seed", "source_format": "csv",
                  "row_count": 100, "byte_size": 1000, "sha256": "0" * 64, "schema": [], "profile": {},
                  "created_at": now} for d in ids],
            )  # fmt: skip
            versions = dict(c.execute(select_versions(lo, hi)).all())
            fields = [{"name": name, "type": "string", "treatment": "keep"} for name, _ in FIELDS]
            releases = []
            for j, d in enumerate(ids):
                for extra in (0, 1) if j % 10 == 0 else (0,):
                    at = now - dt.timedelta(days=int(days[j]) + 30 * extra, seconds=j)
                    releases.append(
                        {"dataset_id": d, "version_id": versions[d], "version_number": 1, "state": "published",
                         "plan": {}, "path": f"r/{d}/{extra}", "sha256": "0" * 64, "byte_size": 1000,
                         "row_count": 100, "public_fields": fields, "report": {}, "prepared_at": at,
                         "decided_at": at, "published_at": at}
                    )  # fmt: skip
            c.execute(insert(Release), releases)


def select_ids(model, lo: int | None = None, hi: int | None = None):
    from sqlalchemy import select

    q = select(model.id).order_by(model.id)
    if lo is not None:
        q = q.where(model.identifier >= f"ds-{lo:06d}", model.identifier < f"ds-{hi:06d}")
    return q


def select_versions(lo: int, hi: int):
    from sqlalchemy import select

    from shuzhi.catalog.models import Dataset, DatasetVersion

    return (
        select(DatasetVersion.dataset_id, DatasetVersion.id)
        .join(Dataset, Dataset.id == DatasetVersion.dataset_id)
        .where(Dataset.identifier >= f"ds-{lo:06d}", Dataset.identifier < f"ds-{hi:06d}")
    )


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] * 1000


def search_store(store: str, url: str, n: int, repeat: int, old_path: bool) -> dict:
    from shuzhi.config import Settings
    from shuzhi.opendata.models import Release
    from shuzhi.store.db import Database
    from shuzhi.web.ckan import actions, packages

    db = Database(url)
    try:
        t0 = time.perf_counter()
        db.upgrade()
        seed(db, n)
        seeded = time.perf_counter() - t0
        settings = Settings(data_dir=Path(tempfile.gettempdir()) / "shuzhi-bench-data", database_url=url)
        ctx = actions.Context(db, settings, "http://portal.example", "bench")
        packages.LISTING.__init__()  # a process of its own, as it were: an empty cache
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        call = lambda data: actions.call("package_search", ctx, {"facet.field": FACETS, **data})  # noqa: E731
        t0 = time.perf_counter()
        first = call({})
        cold = time.perf_counter() - t0
        index = packages.LISTING.index
        out = {"seeded": seeded, "cold": cold, "count": first["count"], "index_mib": index.nbytes() / 2**20}
        out["rss_growth_mib"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024
        times: dict[str, list[float]] = {k: [] for k in SEARCHES}
        found = {}
        for _ in range(repeat):  # in rotation, warm
            for kind, data in SEARCHES.items():
                t0 = time.perf_counter()
                res = call(data)
                times[kind].append(time.perf_counter() - t0)
                found[kind] = res["count"]
        out["times"], out["found"] = times, found
        # a withdrawal: the next call sees it, and pays a rebuild that re-folds nothing unchanged
        with db.write() as s:
            from sqlalchemy import select

            r = s.scalar(select(Release).where(Release.state == "published").order_by(Release.id).limit(1))
            name = r.dataset.identifier
            r.state = "withdrawn"  # what withdraw_release sets (its checks and ledger entry need users)
        t0 = time.perf_counter()
        after = call({"fq": f"name:{name}"})
        out["rebuild"] = time.perf_counter() - t0
        assert packages.LISTING.index.version != index.version, "the withdrawal moved the listing version"
        out["withdrawn_gone"] = after["count"] == 0 or len(after["results"][0]["resources"]) == 1
        if old_path:  # the listing read and searched whole per call, as before the index
            t0 = time.perf_counter()
            with db.read() as s:
                packages.search(
                    packages.load(s, ctx.site_url), "", [""], "", 10, 0, list(packages.FACETABLE), 50
                )
            out["old"] = time.perf_counter() - t0
        return out
    finally:
        db.dispose()


def pg_schema(pg_url: str):
    """A schema of its own on the PostgreSQL server, and how to drop it."""
    import uuid
    from urllib.parse import quote

    from sqlalchemy import create_engine, text

    schema = f"shuzhi_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in pg_url else "?"

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    return f"{pg_url}{sep}options={quote(f'-csearch_path={schema}')}", drop


def search_child(store: str, url: str, n: int, repeat: int, old_path: bool) -> None:
    drop = None
    if store == "PostgreSQL":
        url, drop = pg_schema(url)
    try:
        print(json.dumps(search_store(store, url, n, repeat, old_path)))
    finally:
        if drop:
            drop()


def run_search(args) -> None:
    sizes = [int(x) for x in args.sizes.split(",")]
    stores = [("SQLite", None)] + ([("PostgreSQL", args.pg_url)] if args.pg_url else [])
    results = {}
    with tempfile.TemporaryDirectory(prefix="shuzhi-search-") as tmp:
        for n in sizes:
            for store, url in stores:
                url = url or f"sqlite:///{Path(tmp) / f'search-{n}.db'}"
                cmd = [sys.executable, __file__, "search-child", store, url, str(n), str(args.repeat)]
                out = subprocess.run(cmd + (["--old"] if n <= args.old_up_to else []), check=True,
                                     capture_output=True, text=True)  # fmt: skip
                results[(n, store)] = json.loads(out.stdout.strip().splitlines()[-1])
                print(f"{store} at {n:,}: {out.stdout.strip().splitlines()[-1][:2000]}", file=sys.stderr)
    print(f"\npackage_search, facets on (5 fields), warm, {args.repeat} runs per query in rotation (ms)")
    print("| datasets | store | query | found | p50 | p95 | target p95 |\n|---|---|---|---|---|---|---|")
    for (n, store), r in results.items():
        target = 50 if n <= 10_000 else 150
        for kind in SEARCHES:
            t = r["times"][kind]
            print(
                f"| {n:,} | {store} | {kind} | {r['found'][kind]:,} | {pct(t, 0.5):.1f} | {pct(t, 0.95):.1f} | < {target} |"
            )
    print(
        "\n| datasets | store | first call (builds the index) | after a withdrawal (rebuild) | index size | RSS growth | listing rebuilt per call (before) | seeding |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for (n, store), r in results.items():
        old = f"{r['old']:.2f} s" if "old" in r else "not run"
        print(
            f"| {n:,} | {store} | {r['cold']:.2f} s | {r['rebuild'] * 1000:.0f} ms "
            f"{'(gone)' if r['withdrawn_gone'] else '(STILL LISTED)'} | {r['index_mib']:.0f} MiB | "
            f"{r['rss_growth_mib']:.0f} MiB | {old} | {r['seeded']:.0f} s |"
        )


# -- 3. datastore_search walking a 10-million-row release ------------------------------------------


def release_file(rows: int, path: Path, old_layout: Path) -> None:
    """A release as the release service writes it (`write_checked`), of `rows` rows shaped like the
    register's: generalised birth month, sex, district, ethnic group, status, a masked phone, a month,
    a year; and the same table as releases were written before (Arrow's default row groups)."""
    from shuzhi.opendata.plans import PlanIn
    from shuzhi.opendata.releases import write_checked

    rng = np.random.default_rng(7)
    months = np.array([f"{y}-{m:02d}" for y in range(1940, 2021) for m in range(1, 13)], dtype=object)
    districts = np.array([f"3301{d:02d}" for d in range(1, 14)], dtype=object)
    table = pa.table(
        {
            "性别": pa.array(np.array(["男", "女"], dtype=object)[rng.integers(0, 2, rows)]),
            "民族": pa.array(
                np.array(["汉族", "畲族", "回族", "土家族"], dtype=object)[rng.integers(0, 4, rows)]
            ),
            "出生日期": pa.array(months[rng.integers(0, len(months), rows)]),
            "联系电话": pa.array(
                np.char.add(rng.integers(130, 200, rows).astype(str), "********").astype(object)
            ),
            "人口状态": pa.array(np.array(["正常", "死亡", "迁出"], dtype=object)[rng.integers(0, 3, rows)]),
            "状态变更日期": pa.array(months[rng.integers(0, len(months), rows)]),
            "登记日期": pa.array((2000 + rng.integers(0, 25, rows)).astype(str).astype(object)),
            DISTRICT: pa.array(districts[rng.integers(0, len(districts), rows)]),
        }
    )
    plan = PlanIn.of({"fields": {n: {"action": "keep"} for n in table.column_names} | {
        "性别": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["男", "*"], ["女", "*"]]}}}, "k": 2})  # fmt: skip
    write_checked(table, plan, path)
    pq.write_table(table, old_layout, compression="zstd", write_page_checksum=True)


def datastore_store(url: str, file: Path, old_layout: Path, limit: int, offset_pages: int) -> dict:
    """The release published in a store of its own, walked by its `_links.next`."""
    from urllib.parse import parse_qsl, urlsplit

    from sqlalchemy import select, update

    from shuzhi.config import Settings
    from shuzhi.opendata.models import Release
    from shuzhi.store.db import Database
    from shuzhi.web.ckan import actions

    data_dir = file.parent / "data"
    data_dir.mkdir(exist_ok=True)
    (data_dir / "releases").mkdir(exist_ok=True)
    for name, source in (("bench.parquet", file), ("old.parquet", old_layout)):
        if not (data_dir / "releases" / name).exists():
            (data_dir / "releases" / name).hardlink_to(source)
    db = Database(url)
    try:
        db.upgrade()
        seed(db, 1)
        settings = Settings(data_dir=data_dir, database_url=url)
        rows = pq.ParquetFile(file).metadata.num_rows
        with db.write() as s:  # the seeded dataset has two published releases: one per layout
            rid, old_rid = s.scalars(select(Release.id).order_by(Release.id.desc())).all()[:2]
            s.execute(
                update(Release).where(Release.id == rid).values(path="releases/bench.parquet", row_count=rows)
            )
            s.execute(
                update(Release)
                .where(Release.id == old_rid)
                .values(path="releases/old.parquet", row_count=rows)
            )
        ctx = actions.Context(db, settings, "http://portal.example", "bench")
        resource = f"ds-000000-r{rid}"
        data = {"resource_id": resource, "limit": str(limit)}
        pages, walked = [], 0
        t_all = time.perf_counter()
        while True:
            t0 = time.perf_counter()
            out = actions.call("datastore_search", ctx, data)
            pages.append(time.perf_counter() - t0)
            n = len(out["records"])
            if n == 0:
                pages.pop()  # the empty page after the last says the walk is over
                break
            if walked == 0:
                first_ids = out["records"][0]["_id"]
            walked += n
            last_id = out["records"][-1]["_id"]
            data = dict(parse_qsl(urlsplit(out["_links"]["next"]).query))
        total = time.perf_counter() - t_all
        result = {"rows": rows, "walked": walked, "first_id": first_ids, "last_id": last_id, "pages": pages,
                  "total": total}  # fmt: skip
        # offset paging, for comparison: a sample of pages spread over the file
        sample = {}
        for k in np.linspace(0, rows // limit - 1, offset_pages).astype(int):
            t0 = time.perf_counter()
            actions.call("datastore_search", ctx, {"resource_id": resource, "limit": str(limit),
                                                   "offset": str(int(k) * limit), "include_total": "false"})  # fmt: skip
            sample[int(k)] = time.perf_counter() - t0
        result["offset"] = sample
        # keyset pages of the same table as releases were written before, at the same places
        from shuzhi.web.ckan.datastore import encode_cursor

        before = {}
        for k in sample:
            data = {"resource_id": f"ds-000000-r{old_rid}", "limit": str(limit), "include_total": "false"}
            if k:
                data["cursor"] = encode_cursor([], [], int(k) * limit)
            t0 = time.perf_counter()
            actions.call("datastore_search", ctx, data)
            before[k] = time.perf_counter() - t0
        result["before"] = before
        return result
    finally:
        db.dispose()


def run_datastore(args) -> None:
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    file, old_layout = work / f"release-{args.rows}.parquet", work / f"release-{args.rows}-old-layout.parquet"
    if not file.exists():
        t0 = time.perf_counter()
        release_file(args.rows, file, old_layout)
        print(
            f"wrote the release file in {time.perf_counter() - t0:.1f} s (not timed below)", file=sys.stderr
        )
    with tempfile.TemporaryDirectory(prefix="shuzhi-ds-") as tmp:
        r = datastore_store(
            f"sqlite:///{Path(tmp) / 'ds.db'}", file, old_layout, args.limit, args.offset_pages
        )
    meta = pq.ParquetFile(file).metadata
    pages = r["pages"]
    k = max(1, len(pages) // 100)
    first, last = statistics.median(pages[:k]), statistics.median(pages[-k:])
    print(
        f"\ndatastore_search over a {r['rows']:,}-row release ({file.stat().st_size / 2**20:.0f} MiB, "
        f"{meta.num_row_groups} row groups of {meta.row_group(0).num_rows:,} rows), pages of {args.limit:,} "
        f"by _links.next"
    )
    print("| measure | value |\n|---|---|")
    print(f"| rows walked (first _id, last _id) | {r['walked']:,} ({r['first_id']}, {r['last_id']:,}) |")
    print(f"| pages | {len(pages):,} |")
    print(f"| whole walk | {r['total']:.1f} s, **{r['walked'] / r['total']:,.0f} rows/s** |")
    print(
        f"| page time p50 / p95 / max | {pct(pages, 0.5):.1f} / {pct(pages, 0.95):.1f} / {max(pages) * 1000:.1f} ms |"
    )
    print(f"| first page / last page (the very ones) | {pages[0] * 1000:.1f} / {pages[-1] * 1000:.1f} ms |")
    print(f"| first {k} pages / last {k} pages (medians) | {first * 1000:.1f} / {last * 1000:.1f} ms |")
    print(f"| **last / first** (target ≤ 1.5×) | **{last / first:.2f}×** |")
    print("\noffset paging (offset=k·limit, include_total=false), a sample of pages, for comparison")
    old_meta = pq.ParquetFile(old_layout).metadata
    print(
        f"| page | keyset page (ms) | offset page (ms) | offset / keyset | keyset page, file as written before "
        f"({old_meta.num_row_groups} row groups of {old_meta.row_group(0).num_rows:,}) (ms) |"
    )
    print("|---|---|---|---|---|")
    for page, t in r["offset"].items():
        keyset = pages[min(page, len(pages) - 1)]
        before = r["before"][page]
        print(
            f"| {page + 1:,} | {keyset * 1000:.1f} | {t * 1000:.1f} | {t / keyset:.1f}× | {before * 1000:.1f} |"
        )


# -- main -------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "shuzhi-opendata-bench"))
    sub = ap.add_subparsers(dest="part", required=True)
    rel = sub.add_parser("release")
    rel.add_argument("--scale", type=float, default=20)
    rel.add_argument("--repeat", type=int, default=3)
    se = sub.add_parser("search")
    se.add_argument("--sizes", default="10000,300000")
    se.add_argument("--repeat", type=int, default=30)
    se.add_argument("--pg-url")
    se.add_argument(
        "--old-up-to", type=int, default=10_000, help="run the old whole-listing path up to this size"
    )
    sc = sub.add_parser("search-child")
    sc.add_argument("store")
    sc.add_argument("url")
    sc.add_argument("n", type=int)
    sc.add_argument("repeat", type=int)
    sc.add_argument("--old", action="store_true")
    ds = sub.add_parser("datastore")
    ds.add_argument("--rows", type=int, default=10_000_000)
    ds.add_argument("--limit", type=int, default=10_000)
    ds.add_argument("--offset-pages", type=int, default=6)
    child = sub.add_parser("release-child")
    child.add_argument("version", type=Path)
    args = ap.parse_args()
    if args.part == "release":
        run_release(args)
    elif args.part == "search":
        run_search(args)
    elif args.part == "search-child":
        search_child(args.store, args.url, args.n, args.repeat, args.old)
    elif args.part == "datastore":
        run_datastore(args)
    elif args.part == "release-child":
        release_child(args.version)


if __name__ == "__main__":
    main()
