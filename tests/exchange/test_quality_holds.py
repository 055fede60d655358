"""Governed reads and quality holds: a held new version is not shared, the one before it is read;
with none left to read the query is refused, and the refusal is audited like any other."""

from __future__ import annotations

import hashlib

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.exchange.conftest import enterprise_table, grade_version
from tests.exchange.test_access import ledger, sql_rows

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.errors import Conflict
from shuzhi.quality import service as quality

COUNT = "SELECT COUNT(*) AS n FROM enterprise"


def _add_version(world, table) -> None:
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "enterprise"))
        rel = f"versions/{ds.id}/2.parquet"
        path = world.settings.data_dir / rel
        pq.write_table(table, path)
        v = DatasetVersion(
            dataset_id=ds.id,
            number=2,
            path=rel,
            source="test",
            source_format="parquet",
            row_count=table.num_rows,
            byte_size=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            schema=[{"name": f.name, "type": str(f.type)} for f in table.schema],
            profile={},
        )
        s.add(v)
        s.flush()
        grade_version(s, v, table.schema.names)


@pytest.fixture
def held(world):
    """`enterprise` (SC, unconditional, 120 rows, capital up to 1.2e6) gets a blocking rule, then a
    version 2 of 130 rows (capital up to 1.3e6, over the cap), run and blocked."""
    with world.db.write() as s:
        rules = [
            {"kind": "range", "field": "capital", "max": 1.25e6, "blocking": True, "name": "注册资本上限"}
        ]
        quality.save_rules(s, world.sc_steward, "enterprise", rules)
    _add_version(world, enterprise_table(130))
    return quality.run(world.db, world.settings, world.sc_steward, "enterprise", 2)


def test_a_grantee_reads_the_version_before_a_held_one_until_it_is_overridden(world, held):
    assert sql_rows(world, world.rs_analyst, COUNT) == [{"n": 120}]
    entry = ledger(world, "data.read")[-1]
    assert entry.outcome != "denied"
    with world.db.write() as s:
        quality.override_block(s, world.sc_steward, "enterprise", 2, "注册资本超限为外资企业，已核实")
    assert sql_rows(world, world.rs_analyst, COUNT) == [{"n": 130}]


def test_with_every_version_held_the_query_is_refused_and_audited(world, held):
    with world.db.write() as s:
        rules = [{"kind": "range", "field": "capital", "max": 1e6, "blocking": True, "name": "注册资本上限"}]
        quality.save_rules(s, world.sc_steward, "enterprise", rules)  # version 1 is over this cap too
    quality.run(world.db, world.settings, world.sc_steward, "enterprise", 1)
    held = quality.run(world.db, world.settings, world.sc_steward, "enterprise", 2)
    before = len(ledger(world, "data.denied"))
    with pytest.raises(Conflict) as e:
        sql_rows(world, world.rs_analyst, COUNT)
    message = str(e.value)
    assert "Version 2 of enterprise" in message and "注册资本上限" in message and f"run {held}" in message
    assert "quality override" in message
    assert len(ledger(world, "data.denied")) == before + 1
