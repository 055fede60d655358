"""A small world for exchange tests: three departments, their people, three datasets with versions."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.catalog.models import DatasetVersion
from shuzhi.catalog.schemas import DatasetIn, FieldIn
from shuzhi.catalog.service import create_dataset
from shuzhi.classify.models import ColumnDecision, DatasetGrade
from shuzhi.orgs import service as orgs

POPULATION_ROWS = 400


def population_table(n: int = POPULATION_ROWS, seed: int = 7) -> pa.Table:
    rng = random.Random(seed)
    regions = ["330102", "330106", "330108", "330203", "330212", "110101"]
    surnames = "王李张刘陈杨赵黄周吴"
    return pa.table(
        {
            "id_number": [f"3301{i:014d}" for i in range(n)],
            "name": [rng.choice(surnames) + rng.choice("明华芳伟娜静") for _ in range(n)],
            "gender": [rng.choice("MF") for _ in range(n)],
            "birth_date": [date(1950, 1, 1) + timedelta(days=rng.randrange(25000)) for _ in range(n)],
            "region_code": [rng.choice(regions) for _ in range(n)],
            "income": [float(rng.randrange(1000, 90000)) for _ in range(n)],
            "religion": [f"REL-SECRET-{i}" for i in range(n)],
        }
    )


def enterprise_table(n: int = 120) -> pa.Table:
    return pa.table(
        {
            "uscc": [f"91330100MA{i:08d}" for i in range(n)],
            "ent_name": [f"企业{i}" for i in range(n)],
            "legal_id_number": [f"3301{(i * 3):014d}" for i in range(n)],
            "capital": [float(10000 * (i + 1)) for i in range(n)],
            "tax_owed": [f"TAX-SECRET-{i}" for i in range(n)],
        }
    )


ARROW_TO_SQL = {"string": "VARCHAR", "date32[day]": "DATE", "double": "DOUBLE", "int64": "BIGINT"}


@dataclass
class World:
    db: object
    settings: object
    ga_steward: orgs.Principal
    sc_steward: orgs.Principal
    rs_analyst: orgs.Principal
    rs_steward: orgs.Principal
    rs_auditor: orgs.Principal
    ga_analyst: orgs.Principal
    admin: orgs.Principal


def add_dataset(db, settings, steward, identifier: str, table: pa.Table, share_type: str, dept: str):
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=identifier,
                title_zh=f"测试{identifier}",
                department=dept,
                theme="safety",
                share_type=share_type,
                share_basis="《测试依据》" if share_type == "none" else None,
                fields=[FieldIn(name=f.name, type=ARROW_TO_SQL[str(f.type)]) for f in table.schema],
            ),
        )
        rel = f"versions/{ds.id}/1.parquet"
        path = settings.data_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        version = DatasetVersion(
            dataset_id=ds.id,
            number=1,
            path=rel,
            source="test",
            source_format="parquet",
            row_count=table.num_rows,
            byte_size=path.stat().st_size,
            sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            schema=[{"name": f.name, "type": str(f.type)} for f in table.schema],
            profile={},
        )
        s.add(version)
        s.flush()
        grade_version(s, version, table.schema.names)
        return ds.id


def grade_version(session, version, names, levels: dict[str, str] | None = None, default: str = "L2") -> None:
    """Grading rows for a hand-made version: every column at `default` unless `levels` names it
    (a version without grading is read by its owner only)."""
    levels = levels or {}
    for pos, name in enumerate(names):
        level = levels.get(name, default)
        session.add(
            ColumnDecision(
                dataset_id=version.dataset_id,
                version_id=version.id,
                field_name=name,
                field_type="VARCHAR",
                position=pos,
                detected_category="none",
                category="none",
                confidence=1.0,
                level=level,
                status="suggested",
                evidence={},
            )
        )
    top = max([default, *levels.values()])
    session.add(
        DatasetGrade(
            dataset_id=version.dataset_id,
            version_id=version.id,
            level=top,
            data_class="一般",
            derived_level=top,
            derived_data_class="一般",
            rule={},
            flags=[],
        )
    )


def set_grades(world, identifier: str, levels: dict[str, str]) -> None:
    """Give columns of a dataset's graded versions other levels (as a steward's review would)."""
    from sqlalchemy import select

    from shuzhi.catalog.models import Dataset

    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == identifier))
        for d in s.scalars(select(ColumnDecision).where(ColumnDecision.dataset_id == ds.id)):
            d.level = levels.get(d.field_name, d.level)


@pytest.fixture
def world(db, settings, make_user) -> World:
    w = World(
        db=db,
        settings=settings,
        ga_steward=make_user("ga_steward", "GA", ("steward",)),
        sc_steward=make_user("sc_steward", "SC", ("steward",)),
        rs_analyst=make_user("rs_analyst", "RS", ("analyst",)),
        rs_steward=make_user("rs_steward", "RS", ("steward",)),
        rs_auditor=make_user("rs_auditor", "RS", ("auditor",)),
        ga_analyst=make_user("ga_analyst", "GA", ("analyst",)),
        admin=make_user("admin1", "GA", ("admin",)),
    )
    add_dataset(db, settings, w.ga_steward, "population", population_table(), "conditional", "GA")
    add_dataset(db, settings, w.sc_steward, "enterprise", enterprise_table(), "unconditional", "SC")
    add_dataset(db, settings, w.ga_steward, "secret_registry", population_table(20), "none", "GA")
    return w


GRANTED = ["id_number", "name", "gender", "birth_date", "region_code", "income"]


@pytest.fixture
def granted(world):
    """An approved request from RS for population, narrowed to region 3301xx, religion not granted."""
    from shuzhi.exchange import share_requests

    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(
                dataset="population", fields=[*GRANTED, "religion"], purpose="低保资格核查"
            ),
            submit=True,
        )
        grant = share_requests.approve_request(
            s,
            world.settings,
            world.ga_steward,
            req,
            share_requests.Approval(
                fields=GRANTED,
                row_filter="region_code LIKE '3301%'",
                masks={
                    "id_number": "hash",
                    "name": "keep_first:1",
                    "birth_date": "year",
                    "region_code": "clear",
                    "income": "clear",
                },
            ),
        )
        return grant.id
