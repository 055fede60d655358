"""Attacks on the releases workflow: a field nothing has judged harmless never goes out in clear."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select
from tests.opendata.conftest import add_version, plan, population

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.classify.models import ColumnDecision
from shuzhi.errors import Forbidden, ShuzhiError
from shuzhi.opendata import releases


def test_an_ungraded_column_outside_the_catalog_fields_is_not_kept_in_clear(world):
    """A new version carries `phone`, which its grading left out and the catalog's field list does not
    name (a steward may edit that list): nothing says its values are harmless."""
    number = add_version(
        world.db, world.settings, "population", population(extra={"phone": ["13800000000"] * 240})
    )
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        assert "phone" not in {f.name for f in ds.fields}
        v = s.scalar(
            select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.number == number)
        )
        s.execute(
            delete(ColumnDecision).where(
                ColumnDecision.version_id == v.id, ColumnDecision.field_name == "phone"
            )
        )
    with pytest.raises(Forbidden, match="phone"), world.db.transaction() as s:
        releases.prepare_release(
            s, world.settings, world.steward, "population", plan=plan(fields={"phone": {"action": "keep"}})
        )


ODD_PLANS = [
    {"income": {"action": "generalise", "hierarchy": {"kind": "ranges", "widths": [10000]}, "level": 64}},
    {"income": {"action": "generalise", "hierarchy": {"kind": "ranges", "widths": [0]}, "level": 1}},
    {"income": {"action": "generalise", "hierarchy": {"kind": "ranges", "widths": [-5, 1e308]}, "level": 2}},
    {"gender": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["M"], ["F"]]}}},
    {"gender": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["M", "*"]]}}},
    {"gender": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["M", "*", "x"], ["F", "*"]]}}},
    {
        "gender": {
            "action": "qi",
            "hierarchy": {"kind": "table", "rows": [["M", "*"], ["M", "*"], ["F", "*"]]},
        }
    },
    {
        "gender": {
            "action": "qi",
            "hierarchy": {"kind": "table", "rows": [[" ", " "], ["M", "*"], ["F", "*"]]},
        }
    },
    {
        "gender": {
            "action": "qi",
            "hierarchy": {
                "kind": "table",
                "rows": [[f"v{i}", "*"] for i in range(50_000)] + [["M", "*"], ["F", "*"]],
            },
        }
    },
    {
        "gender": {
            "action": "qi",
            "hierarchy": {
                "kind": "table",
                "rows": [["M", *[f"l{j}" for j in range(300)]], ["F", *[f"l{j}" for j in range(300)]]],
            },
        }
    },
    {"birth_date": {"action": "qi", "hierarchy": {"kind": "regions"}}},
    {"region_code": {"action": "qi", "hierarchy": {"kind": "dates"}}},
    {"benefit": {"action": "mask", "mask": "nope"}},
    {"name": {"action": "keep", "identifier": False}},
    {"Name": {"action": "keep"}},
    {"name ": {"action": "keep"}},
]


def test_odd_plans_are_refused_with_a_reason_or_built(world):
    for over in ODD_PLANS:
        try:
            with world.db.transaction() as s:
                r = releases.prepare_release(
                    s, world.settings, world.steward, "population", plan=plan(fields=over)
                )
                released = [f["name"] for f in r.public_fields]
                s.rollback()
        except ShuzhiError:
            continue
        assert "name" not in released or over.get("name", {}).get("action") != "keep", over


def test_a_release_of_a_dataset_closed_since_is_hidden_from_other_departments(world):
    """Once a dataset is 不予开放 its release is no longer published to anyone: its plan and report
    go back to the owning department's stewards (and admins, auditors)."""
    from shuzhi.catalog.schemas import DatasetPatch
    from shuzhi.catalog.service import get_dataset, update_dataset
    from shuzhi.errors import NotFound
    from shuzhi.opendata.models import Release

    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, "population", plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, world.steward2, s.get(Release, rid))
    with world.db.read() as s:
        assert releases.get_release(s, world.other_steward, rid).id == rid  # published: anyone signed in
    with world.db.transaction() as s:
        patch = DatasetPatch(open_type="none", open_basis="《依据》")
        update_dataset(s, world.steward, get_dataset(s, "population"), patch)
    with world.db.read() as s:
        with pytest.raises(NotFound):
            releases.get_release(s, world.other_steward, rid)
        assert releases.list_releases(s, world.other_steward) == []
        assert releases.get_release(s, world.steward2, rid).id == rid


def test_the_released_file_carries_nothing_of_the_source_files_metadata(world):
    """A source file's key-value metadata (pandas writes every column's name there) must not ride
    along into the released file."""
    import pyarrow.parquet as pq

    from shuzhi.opendata.models import Release

    source = population()
    source = source.replace_schema_metadata({"pandas": '{"columns": ["id_number", "330100000000000007"]}'})
    add_version(world.db, world.settings, "population", source)
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, "population", plan=plan()).id
        path = world.settings.data_dir / s.get(Release, rid).path
    meta = pq.ParquetFile(path).schema_arrow.metadata or {}
    assert not any(b"id_number" in k or b"id_number" in v for k, v in meta.items()), meta


def test_the_released_rows_do_not_keep_the_source_order(world):
    """Row positions are public (the datastore's `_id`): in the source's order they would tell what
    the source was sorted by (here income, which the release only gives in bands) and let two
    releases of the same rows be joined by position."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from shuzhi.opendata.models import Release

    source = population()
    source = source.take(pc.sort_indices(source, sort_keys=[("income", "ascending")]))
    add_version(world.db, world.settings, "population", source)
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, "population", plan=plan()).id
        path = world.settings.data_dir / s.get(Release, rid).path
    bands = pq.read_table(path, columns=["income"])["income"]
    lows = [int(b.split("-")[0]) for b in bands.to_pylist()]
    assert lows != sorted(lows) and isinstance(bands, pa.ChunkedArray)
