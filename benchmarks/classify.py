"""Full-scan speed of the column detectors vs Microsoft Presidio (pattern recognizers only) on the same values.

Run: python benchmarks/classify.py [--rows 1000000] [--presidio-sample 20000]
Builds a 30-column table (sensitive and ordinary columns), scans every value with the full detector set
(DuckDB over Arrow), then pushes a sample of the same values through Presidio's AnalyzerEngine with
NoOpNlpEngine (no spaCy model, offline) and equivalent Chinese pattern recognizers; prints values/s and the ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import time

import numpy as np
import pyarrow as pa

from shuzhi.classify.checksums import gb11643_check_char, region_codes
from shuzhi.classify.detectors import builtin_detectors
from shuzhi.classify.engine import Scanner


def _ids(rng: np.random.Generator, n: int) -> list[str]:
    regions = np.array(sorted(region_codes()))
    reg = regions[rng.integers(0, len(regions), n)]
    years = rng.integers(1940, 2020, n)
    months = rng.integers(1, 13, n)
    days = rng.integers(1, 29, n)
    seq = rng.integers(0, 1000, n)
    bodies = [
        f"{r}{y}{m:02d}{d:02d}{s:03d}" for r, y, m, d, s in zip(reg, years, months, days, seq, strict=True)
    ]
    return [b + gb11643_check_char(b) for b in bodies]


def build_table(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    pick = lambda pool: np.array(pool)[rng.integers(0, len(pool), rows)]  # noqa: E731
    base = 100_000  # distinct pools keep generation fast; the scan still reads every row
    r = random.Random(seed)
    given = "秀伟敏洋静帆磊丽杰昊英华明强军平芳娜涛超勇艳霞刚桂玉兰"
    names = [
        r.choice("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗") + r.choice(given) + r.choice(["", *given])
        for _ in range(base)
    ]
    phones = [f"1{r.choice('3589')}{r.randrange(10**9):09d}" for _ in range(base)]
    emails = [f"user{i}@example.com" for i in range(base)]
    addrs = [
        f"{r.choice(['北京市', '上海市', '广州市'])}{r.choice(['朝阳区', '浦东新区', '天河区'])}{r.choice(['中山路', '人民路'])}{r.randrange(1, 999)}号"
        for _ in range(base)
    ]
    cols = {
        "sfzh": pick(_ids(rng, 50_000)),
        "xm": pick(names),
        "sjhm": pick(phones),
        "email": pick(emails),
        "jzdz": pick(addrs),
        "ip": pick([f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(256)}" for _ in range(base)]),
        "mz": pick(["汉族"] * 9 + ["回族", "满族"]),
        "zd": pick(["高血压", "2型糖尿病", "肺炎", "冠心病"]),
        "csrq": pick(
            [f"19{r.randrange(40, 99)}-0{r.randrange(1, 9)}-1{r.randrange(0, 9)}" for _ in range(base)]
        ),
        "plate": pick([f"京A{r.randrange(10000, 99999)}" for _ in range(base)]),
    }
    for i in range(20):  # ordinary columns: amounts, counts, codes, words, order numbers
        kind = i % 5
        if kind == 0:
            cols[f"amount_{i}"] = rng.uniform(0, 1e5, rows).round(2)
        elif kind == 1:
            cols[f"count_{i}"] = rng.integers(0, 10_000, rows)
        elif kind == 2:
            cols[f"order_no_{i}"] = pick([str(r.randrange(10**17, 10**18)) for _ in range(base)])
        elif kind == 3:
            cols[f"status_{i}"] = pick(["正常", "注销", "在营", "停业"])
        else:
            cols[f"code_{i}"] = pick([f"A{r.randrange(100):02d}" for _ in range(base)])
    table = pa.table(cols)
    # Several record batches so DuckDB can use both cores.
    return pa.Table.from_batches(table.to_batches(max_chunksize=122_880))


def run_ours(table: pa.Table) -> tuple[float, list]:
    scanner = Scanner(builtin_detectors(), full=True)
    scanner.scan(table.slice(0, 1000))  # warm-up: compile macros, load word lists
    t0, c0 = time.perf_counter(), time.process_time()
    results = scanner.scan(table)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    # The machine is shared: CPU seconds (all threads) show the work done even when wall time is stolen.
    print(f"shuzhi full scan CPU time: {cpu:.2f} s (all threads); load average {os.getloadavg()[0]:.1f}")
    return secs, results


def presidio_engine():
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    registry = RecognizerRegistry(supported_languages=["zh"])
    specs = {
        "CN_RESIDENT_ID": r"\b[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[0-9Xx]\b",
        "CN_MOBILE": r"\b1[3-9]\d{9}\b",
        "EMAIL_ADDRESS": r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b",
        "IP_ADDRESS": r"\b(?:\d{1,3}\.){3}\d{1,3}\b",
        "CN_PLATE": r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z][A-Z0-9]{5,6}",
        "CN_BANK_CARD": r"\b\d{16,19}\b",
        "CN_DATE": r"\b(?:19|20)\d{2}-\d{1,2}-\d{1,2}\b",
        "CN_ETHNICITY": r"(?:汉|回|满|藏|壮|苗)族",
        "CN_ADDRESS": r"\w{2,10}(?:省|市)\w{1,10}(?:区|县)\w{1,20}(?:路|街)\d+号",
    }
    for entity, regex in specs.items():
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=entity,
                supported_language="zh",
                patterns=[Pattern(entity.lower(), regex, 0.6)],
            )
        )
    return AnalyzerEngine(
        registry=registry,
        nlp_engine=NoOpNlpEngine(models=[{"lang_code": "zh", "model_name": "noop"}]),
        supported_languages=["zh"],
    )


def run_presidio(table: pa.Table, sample: int) -> tuple[float, int]:
    engine = presidio_engine()
    per_col = max(1, sample // table.num_columns)
    values = [str(v) for col in table.columns for v in col.slice(0, per_col).to_pylist()]
    engine.analyze(text=values[0], language="zh")
    t0 = time.perf_counter()
    for v in values:
        engine.analyze(text=v, language="zh")
    return time.perf_counter() - t0, len(values)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--presidio-sample", type=int, default=20_000)
    args = ap.parse_args()
    os.environ.setdefault("SPACY_WARNING_IGNORE", "W008")
    t0 = time.perf_counter()
    table = build_table(args.rows)
    print(
        f"table: {table.num_rows:,} rows × {table.num_columns} columns (built in {time.perf_counter() - t0:.1f}s)"
    )
    secs, results = run_ours(table)
    values = table.num_rows * table.num_columns
    ours = values / secs
    print(
        f"shuzhi full scan: {secs:.2f} s for {values:,} values → {ours:,.0f} values/s "
        f"({len(builtin_detectors())} detectors)"
    )
    pruned = [r.name for r in results if r.evidence.get("full_scan_skipped")]
    print(
        f"  {len(results) - len(pruned)} columns counted in full; {len(pruned)} left no candidate in the sample"
    )
    for r in results:
        if r.sensitive:
            print(
                f"  {r.name:12s} {r.category:14s} conf={r.confidence:.2f} valid={r.evidence.get('valid'):,}"
            )
    psecs, pvalues = run_presidio(table, args.presidio_sample)
    theirs = pvalues / psecs
    print(
        f"presidio (NoOpNlpEngine, {len(presidio_engine().registry.recognizers)} pattern recognizers): "
        f"{pvalues:,} values in {psecs:.2f} s → {theirs:,.0f} values/s"
    )
    print(f"ratio: {ours / theirs:,.0f}× presidio throughput")


if __name__ == "__main__":
    main()
