"""Catalog search at 10,000 datasets: p50/p95 per kind of query, through the search's own index
(SQLite FTS5 / PostgreSQL GIN), against a plain `LIKE` scan of titles and descriptions (the named
baseline: what a catalog without a search index does), in one run.

    .venv/bin/python benchmarks/search.py [--datasets 10000] [--repeat 30] [--pg-url postgresql+psycopg://…]

Each kind is run `repeat` times, in rotation with the others; the search returns the first page of
20, the total and the six facet counts (what the catalog page asks for); the baseline only the first
page and the total.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, func, or_, select, text

from shuzhi.catalog import search
from shuzhi.catalog.models import Dataset
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.cli.common import system_principal
from shuzhi.orgs import service as orgs
from shuzhi.store.db import Database

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

QUERIES = {
    "one word": "营业执照",
    "two words": "西湖区 社会保险",
    "pinyin": "shehuibaoxian",
    "traditional script": "醫療機構",
    "homophone typo": "营业只照",
    "latin typo (did you mean)": "shehuibaoxan",
    "no match": "量子隧穿",
}


def build(db: Database, n: int) -> float:
    rng = random.Random(20261205)
    t0 = time.perf_counter()
    with db.write() as s:
        for code in ("GA", "RS", "WJ", "SC", "JT", "ZJ"):
            orgs.create_department(s, code=code, name_zh=f"部门{code}")
    who = system_principal()
    for start in range(0, n, 500):
        with db.write() as s:
            for i in range(start, min(n, start + 500)):
                title = f"{rng.choice(DISTRICTS)}{rng.choice(SUBJECTS)}{rng.choice(KINDS)}"
                create_dataset(
                    s,
                    who,
                    DatasetIn(
                        identifier=f"ds-{i:05d}",
                        title_zh=title,
                        description=f"{title}，含{rng.choice(SUBJECTS)}与{rng.choice(SUBJECTS)}相关字段",
                        department=rng.choice(["GA", "RS", "WJ", "SC", "JT", "ZJ"]),
                        theme=rng.choice(THEMES),
                        keywords=[rng.choice(SUBJECTS), rng.choice(KINDS)],
                    ),
                )
    return time.perf_counter() - t0


def like_scan(session, q: str):
    words = q.split()
    cond = [or_(Dataset.title_zh.like(f"%{w}%"), Dataset.description.like(f"%{w}%")) for w in words]
    base = select(Dataset.id).where(*cond)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    page = session.scalars(
        select(Dataset).where(Dataset.id.in_(base)).order_by(Dataset.identifier).limit(20)
    ).all()
    return total, page


def timed(db: Database, fn, q: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        with db.read() as s:
            t = time.perf_counter()
            fn(s, q)
            out.append((time.perf_counter() - t) * 1000)
    return out


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p * (len(ordered) - 1))))]


def run_backend(name: str, url: str, args) -> dict:
    db = Database(url)
    db.upgrade()
    try:
        took = build(db, args.datasets)
        print(f"[{name}] {args.datasets:,} datasets registered and indexed in {took:.0f} s", flush=True)
        with db.read() as s:  # warm: dictionaries, the did-you-mean vocabulary, the planner
            for q in QUERIES.values():
                search.search(s, q)
        rows = {}
        for kind, q in QUERIES.items():
            ours = timed(db, lambda s, q: search.search(s, q, limit=20), q, args.repeat)
            base = timed(db, like_scan, q, args.repeat)
            with db.read() as s:
                found = search.search(s, q, limit=20)
                base_total, _ = like_scan(s, q)
            rows[kind] = (ours, base, found.total, base_total, found.did_you_mean)
        return rows
    finally:
        db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--pg-url")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="shuzhi-search-") as tmp:
        results["SQLite"] = run_backend("SQLite", f"sqlite:///{Path(tmp) / 'search.db'}", args)
    if args.pg_url:
        schema = f"shuzhi_search_{uuid.uuid4().hex[:10]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in args.pg_url else "?"
        try:
            results["PostgreSQL"] = run_backend(
                "PostgreSQL", f"{args.pg_url}{sep}options={quote(f'-csearch_path={schema}')}", args
            )
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    print(f"\nCatalog search at {args.datasets:,} datasets, {args.repeat} runs per query (ms)")
    print("| store | query | found | search p50 / p95 | LIKE scan p50 / p95 (found) | scan / search at p50 |")
    print("|---|---|---|---|---|---|")
    for store, rows in results.items():
        for kind, (ours, base, total, base_total, dym) in rows.items():
            note = f" → “{dym}”" if dym else ""
            print(
                f"| {store} | {kind} | {total:,}{note} | {pct(ours, 0.5):.1f} / {pct(ours, 0.95):.1f} | "
                f"{pct(base, 0.5):.1f} / {pct(base, 0.95):.1f} ({base_total:,}) | "
                f"{statistics.median(base) / max(statistics.median(ours), 1e-9):.2f}× |"
            )


if __name__ == "__main__":
    main()
