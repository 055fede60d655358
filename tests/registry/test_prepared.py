"""An incremental build normalises only new and changed records, taking the others from the last build's file."""

from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.registry.conftest import PERSON_SETTINGS, make_population

from shuzhi.registry import prepared
from shuzhi.registry.pipeline import prepare
from shuzhi.registry.service import digests
from shuzhi.registry.settings import parse_settings

CONF = parse_settings(PERSON_SETTINGS)
ATTRIBUTES = ["address", "birth_date", "name", "phone", "ric", "sex"]


def with_digest(t: pa.Table) -> pa.Table:
    return t.append_column("digest", digests(t, ATTRIBUTES))


@pytest.fixture(scope="module")
def first() -> pa.Table:
    return with_digest(make_population(40, seed=5).table())


def changed(table: pa.Table, seed: int, edits: int, drops: int) -> pa.Table:
    """`table` with some names and phones rewritten, some rows gone, a row added, rows shuffled."""
    rnd = random.Random(seed)
    rows = table.drop_columns(["digest"]).to_pylist()
    for r in rnd.sample(rows, min(edits, len(rows))):
        r["name"], r["phone"] = r["name"] + "华", f"139{rnd.randrange(10**8):08d}"
    for r in rnd.sample(rows, min(drops, len(rows))):
        rows.remove(r)
    rows.append({**rows[0], "record_key": "psb#added", "name": "欧阳娜", "ric": "330102199001010012"})
    rnd.shuffle(rows)
    return with_digest(pa.Table.from_pylist(rows, schema=table.drop_columns(["digest"]).schema))


@given(seed=st.integers(0, 10**6), edits=st.integers(0, 20), drops=st.integers(0, 10))
@settings(max_examples=25, deadline=None)
def test_reusing_the_kept_records_gives_what_normalising_all_gives(
    first, tmp_path_factory, seed, edits, drops
):
    path = tmp_path_factory.mktemp("cache") / "records-x.parquet"
    prepared.keep(path, prepare(CONF, first))
    now = changed(first, seed, edits, drops)
    got, normalised = prepared.prepare_reusing(CONF, now, path)
    want = prepare(CONF, now)
    assert got.select(want.column_names).to_pylist() == want.to_pylist()
    unchanged = pc.sum(pc.is_in(now["digest"], first["digest"])).as_py()
    assert normalised == now.num_rows - unchanged


def test_without_a_readable_file_every_record_is_normalised(first, tmp_path):
    missing = tmp_path / "records-none.parquet"
    assert prepared.prepare_reusing(CONF, first, missing)[1] == first.num_rows
    broken = tmp_path / "records-broken.parquet"
    broken.write_bytes(b"not parquet")
    got, normalised = prepared.prepare_reusing(CONF, first, broken)
    assert normalised == first.num_rows and got.to_pylist() == prepare(CONF, first).to_pylist()


def test_a_file_is_named_by_settings_and_release_and_keeping_one_removes_the_others(tmp_path):
    a = prepared.cache_file(tmp_path, 3, "a" * 32)
    b = prepared.cache_file(tmp_path, 3, "b" * 32)
    assert a != b and a.parent == b.parent == tmp_path / "registry" / "3"
    table = pa.table({"record_key": ["k"], "digest": ["d"]})
    prepared.keep(a, table)
    prepared.keep(b, table)
    assert not a.exists() and b.exists() and not list(b.parent.glob("*.partial"))
