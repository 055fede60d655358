"""The sample rule files on the demo city: failing counts equal the flaws the generator planted and
recorded in its ground truth (bad ID checksums and dates, malformed credit codes, duplicated firms)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shuzhi.demo import generate
from shuzhi.demo.build import build
from shuzhi.orgs.service import system_principal
from shuzhi.quality import ruleset, service

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "quality"


def _flagged(truth: Path, dataset: str, *patterns: str) -> set[int]:
    """Rows of a dataset the generator flawed in one of the ways named (SQL LIKE patterns)."""
    like = " OR ".join(f"flaws LIKE '%{p}%'" for p in patterns)
    sql = f"SELECT DISTINCT row FROM read_parquet('{truth}') WHERE dataset = '{dataset}' AND ({like})"
    with duckdb.connect() as con:  # its own connection: the module's default one is shared by the process
        return {r[0] for r in con.sql(sql).fetchall()}


@pytest.mark.slow
def test_the_rules_find_exactly_the_planted_flaws(sqlite_settings, sqlite_db, tmp_path):
    settings, db = sqlite_settings, sqlite_db
    manifest = generate(tmp_path / "city", seed=20261126, scale=0.05)  # a seed with every flaw below
    build(settings, db, manifest, registries=False)
    truth = tmp_path / "city" / "truth" / "ground_truth.parquet"
    admin = system_principal()
    for dataset in ("hz-samr-enterprise", "hz-tax-taxpayer"):
        raw = ruleset.load_text((SAMPLES / f"{dataset}.yaml").read_text("utf-8"))
        with db.write() as s:
            service.save_rules(s, admin, dataset, raw)
    found = {}
    for dataset in ("hz-samr-enterprise", "hz-tax-taxpayer"):
        run_id = service.run(db, settings, admin, dataset)
        with db.write() as s:
            found[dataset] = {
                r["kind"] + ":" + r["name"]: r
                for r in service.read_run(s, admin, run_id, samples=True)["results"]
            }

    samr, tax = found["hz-samr-enterprise"], found["hz-tax-taxpayer"]
    for results, dataset, id_field, code_field in (
        (samr, "hz-samr-enterprise", "法定代表人证件号码", "统一社会信用代码"),
        (tax, "hz-tax-taxpayer", "法定代表人身份证件号码", "纳税人识别号"),
    ):
        bad_ids = _flagged(truth, dataset, "legal_rep.id:checksum", "legal_rep.id:date")
        ids = results[f"resident_id:resident_id({id_field})"]
        assert ids["rows_failed"] == len(bad_ids) > 0
        assert {row["row"] for row in ids["sample"]} <= bad_ids
        bad_codes = _flagged(truth, dataset, "subject.code:")
        codes = results[f"credit_code:credit_code({code_field})"]
        assert codes["rows_failed"] == len(bad_codes) > 0
        assert {row["row"] for row in codes["sample"]} <= bad_codes
    # Each planted duplicate copies one firm: both copies fail.
    copies = _flagged(truth, "hz-samr-enterprise", "duplicate")
    assert samr["unique:unique(统一社会信用代码)"]["rows_failed"] == 2 * len(copies) > 0
