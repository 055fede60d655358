"""A small world for data quality: two departments' stewards, an analyst, an admin, graded datasets with versions."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.schemas import DatasetIn, FieldIn
from shuzhi.catalog.service import create_dataset
from shuzhi.classify.models import ColumnDecision, DatasetGrade
from shuzhi.orgs import service as orgs

SQL_TYPES = {"string": "VARCHAR", "date32[day]": "DATE", "double": "DOUBLE", "int64": "BIGINT"}

PEOPLE = pa.table(
    {
        "id_number": ["11010519491231002X", "110105194912310021", None, "  ", "11010519491231002X"],
        "name": ["王明", "", None, "李华", "张芳"],
        "sex": ["女", "男", None, "男", "女"],
        "birth": [
            dt.date(1949, 12, 31),
            dt.date(1950, 1, 1),
            None,
            dt.date(1990, 1, 1),
            dt.date(1949, 12, 31),
        ],
        "income": [1000.0, -5.0, None, 2e6, 300.0],
        "phone": ["13800138000", "12345", None, "0571-87654321", "+86 13912345678"],
    }
)
GRADES = {"id_number": "L4", "name": "L3", "sex": "L1", "birth": "L3", "income": "L2"}
"""`phone` is never graded: its sample values are withheld like an L4 field's."""


@dataclass
class World:
    db: object
    settings: object
    steward: orgs.Principal
    other_steward: orgs.Principal
    analyst: orgs.Principal
    outsider: orgs.Principal
    admin: orgs.Principal


def add_dataset(db, steward, identifier: str, table: pa.Table, dept: str = "GA", **kw) -> None:
    with db.transaction() as s:
        create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=identifier,
                title_zh=f"测试{identifier}",
                department=dept,
                theme="safety",
                open_type="none",
                open_basis="《测试依据》",
                fields=[FieldIn(name=f.name, type=SQL_TYPES[str(f.type)]) for f in table.schema],
                **kw,
            ),
        )


def add_version(
    db, settings, identifier: str, table: pa.Table, grades: dict | None = None, at=None, categories=None
) -> int:
    """A new version holding `table`, graded as `grades` says (GRADES by default); `categories`
    (field → grading category, its detector of the same name) what grading detected, none elsewhere."""
    categories = categories or {}
    grades = GRADES if grades is None else grades
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
            schema=[{"name": f.name, "type": SQL_TYPES[str(f.type)]} for f in table.schema],
            profile={},
            **({"created_at": at} if at else {}),
        )
        s.add(v)
        s.flush()
        for pos, name in enumerate(table.schema.names):
            if name in grades:
                s.add(
                    ColumnDecision(
                        dataset_id=ds.id,
                        version_id=v.id,
                        field_name=name,
                        field_type="VARCHAR",
                        position=pos,
                        detected_category=categories.get(name, "none"),
                        category=categories.get(name, "none"),
                        detector=categories.get(name),
                        confidence=1.0,
                        level=grades[name],
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


@pytest.fixture
def world(db, settings, make_user) -> World:
    w = World(
        db=db,
        settings=settings,
        steward=make_user("ga_steward", "GA", ("steward",)),
        other_steward=make_user("sc_steward", "SC", ("steward",)),
        analyst=make_user("ga_analyst", "GA", ("analyst",)),
        outsider=make_user("sc_analyst", "SC", ("analyst",)),
        admin=make_user("admin1", "SC", ("admin",)),
    )
    add_dataset(db, w.steward, "people", PEOPLE)
    add_version(db, settings, "people", PEOPLE)
    return w
