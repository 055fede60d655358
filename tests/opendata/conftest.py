"""A small open-data world: two departments, their stewards, an admin, graded datasets with versions."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.schemas import DatasetIn, FieldIn
from shuzhi.catalog.service import create_dataset
from shuzhi.classify.models import ColumnDecision, DatasetGrade
from shuzhi.orgs import service as orgs

ROWS = 240
REGIONS = ["330102", "330106", "330108", "330203", "330212", "110101"]

# field -> (category the grading found, level)
GRADING = {
    "id_number": ("resident_id", "L4"),
    "name": ("person_name", "L3"),
    "gender": ("none", "L1"),
    "birth_date": ("birth_date", "L3"),
    "region_code": ("none", "L2"),
    "income": ("none", "L2"),
    "benefit": ("none", "L2"),
}
ARROW_TO_SQL = {"string": "VARCHAR", "date32[day]": "DATE", "double": "DOUBLE", "int64": "BIGINT"}


def population(n: int = ROWS, seed: int = 3, extra: dict | None = None) -> pa.Table:
    rng = random.Random(seed)
    cols = {
        "id_number": [f"3301{i:014d}" for i in range(n)],
        "name": [rng.choice("王李张刘陈") + rng.choice("明华芳伟") for _ in range(n)],
        "gender": [rng.choice("MF") for _ in range(n)],
        "birth_date": [date(1950, 1, 1) + timedelta(days=rng.randrange(25000)) for _ in range(n)],
        "region_code": [rng.choice(REGIONS) for _ in range(n)],
        "income": [float(rng.randrange(1000, 90000)) for _ in range(n)],
        "benefit": [rng.choice(["低保", "特困", "临时救助", "无"]) for _ in range(n)],
    }
    return pa.table({**cols, **(extra or {})})


def plan(**over) -> dict:
    """The plan a steward writes for `population`: identifiers dropped or masked, three quasi-identifiers."""
    fields = {
        "id_number": {"action": "drop"},
        "name": {"action": "mask", "mask": "redact"},
        "gender": {"action": "qi", "hierarchy": {"kind": "table", "rows": [["M", "*"], ["F", "*"]]}},
        "birth_date": {"action": "qi", "hierarchy": {"kind": "dates"}},
        "region_code": {"action": "qi", "hierarchy": {"kind": "regions"}},
        "income": {
            "action": "generalise",
            "hierarchy": {"kind": "ranges", "widths": [10000, 50000]},
            "level": 1,
        },
        "benefit": {"action": "keep"},
    }
    fields.update(over.pop("fields", {}))
    return {"fields": {k: v for k, v in fields.items() if v is not None}, "k": 5, "suppression": 0.05, **over}


@dataclass
class World:
    db: object
    settings: object
    steward: orgs.Principal
    steward2: orgs.Principal
    other_steward: orgs.Principal
    admin: orgs.Principal
    analyst: orgs.Principal


def add_version(db, settings, identifier: str, table: pa.Table, grading: dict | None = None) -> int:
    """A new version of the dataset holding `table`, graded as `grading` says (GRADING by default)."""
    grading = grading or GRADING
    with db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == identifier))
        number = 1 + max((v.number for v in ds.versions), default=0)
        rel = f"versions/{ds.id}/{number}.parquet"
        path = settings.data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        v = DatasetVersion(
            dataset_id=ds.id,
            number=number,
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
        for pos, name in enumerate(table.schema.names):
            category, level = grading.get(name, ("none", "L2"))
            s.add(
                ColumnDecision(
                    dataset_id=ds.id,
                    version_id=v.id,
                    field_name=name,
                    field_type="VARCHAR",
                    position=pos,
                    detected_category=category,
                    category=category,
                    confidence=1.0,
                    level=level,
                    evidence={},
                )
            )
        s.add(
            DatasetGrade(
                dataset_id=ds.id,
                version_id=v.id,
                level="L4",
                data_class="general",
                derived_level="L4",
                derived_data_class="general",
            )
        )
        return number


def add_dataset(
    db, settings, steward, identifier: str, open_type: str, table: pa.Table, dept: str = "GA"
) -> None:
    with db.transaction() as s:
        create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=identifier,
                title_zh=f"测试{identifier}",
                department=dept,
                theme="safety",
                open_type=open_type,
                open_basis="《测试依据》" if open_type == "none" else None,
                fields=[FieldIn(name=f.name, type=ARROW_TO_SQL[str(f.type)]) for f in table.schema],
            ),
        )
    add_version(db, settings, identifier, table)


@pytest.fixture
def world(db, settings, make_user) -> World:
    w = World(
        db=db,
        settings=settings,
        steward=make_user("ga_steward", "GA", ("steward",)),
        steward2=make_user("ga_steward2", "GA", ("steward",)),
        other_steward=make_user("sc_steward", "SC", ("steward",)),
        admin=make_user("admin1", "SC", ("admin",)),
        analyst=make_user("ga_analyst", "GA", ("analyst",)),
    )
    add_dataset(db, settings, w.steward, "population", "conditional", population())
    add_dataset(db, settings, w.steward, "secret_registry", "none", population(40))
    return w
