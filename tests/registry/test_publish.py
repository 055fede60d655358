"""A registry published as a catalog dataset: a graded version like any, shared only by grant, on
SQLite and PostgreSQL."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.registry.profile_world import add_people, build

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.models import DatasetGrade
from shuzhi.errors import Forbidden, InvalidInput, NotFound
from shuzhi.exchange.decision import decide
from shuzhi.registry import models
from shuzhi.registry.publish import publish
from shuzhi.storage import version_store


@pytest.fixture
def world(db, settings, make_user):
    return build(db, settings, make_user)


def test_a_published_person_registry_is_a_graded_version_of_the_bureaus_dataset(world):
    w = world
    add_people(w.db, 10)  # enough identifier values for grading to judge the column
    report = publish(w.db, w.settings, w.bureau_admin, "persons")
    assert (report.dataset, report.version, report.rows) == ("registry-persons", 1, 12)
    with w.db.read() as s:
        ds = get_dataset(s, "registry-persons")
        assert ds.department.code == "BDB" and ds.share_type == "conditional"
        version = ds.versions[0]
        table = pq.read_table(version_store(w.settings).path(version.path))
        assert table.column_names == ["entry_id", "source_count", "name", "ric", "sex"]
        rows = {r["entry_id"]: r for r in table.to_pylist()}
        assert rows["P-00000001"]["source_count"] == 2 and rows["P-00000001"]["ric"] == "11010519491231002X"
        assert rows["P-00000002"]["sex"] is None and rows["P-00000002"]["source_count"] == 1
        grade = s.scalar(select(DatasetGrade).where(DatasetGrade.version_id == version.id))
        assert grade is not None and grade.level == "L4"


def test_an_analyst_of_another_department_cannot_read_it_without_a_grant(world):
    w = world
    publish(w.db, w.settings, w.bureau_admin, "persons")
    with w.db.read() as s, pytest.raises(Forbidden) as e:
        decide(s, w.settings, w.outsider, get_dataset(s, "registry-persons"))
    assert "no active grant" in str(e.value)


def test_publishing_again_adds_a_version_only_when_entries_changed(world):
    w = world
    publish(w.db, w.settings, w.bureau_admin, "persons")
    again = publish(w.db, w.settings, w.bureau_admin, "persons")
    assert again.unchanged and again.same_as == 1
    with w.db.transaction() as s:
        entry = s.scalar(select(models.RegistryEntry).where(models.RegistryEntry.entry_key == "P-00000002"))
        entry.state = "retired"
    third = publish(w.db, w.settings, w.bureau_admin, "persons")
    assert (third.version, third.rows) == (2, 1)


def test_an_unknown_registry_or_a_stranger_changes_nothing(world):
    w = world
    with pytest.raises(NotFound):
        publish(w.db, w.settings, w.bureau_admin, "nobody")
    with pytest.raises(Forbidden):
        publish(w.db, w.settings, w.outsider, "enterprises")
    with w.db.transaction() as s:
        s.scalar(select(models.Registry).where(models.Registry.name == "persons")).department_id = None
    with pytest.raises(InvalidInput) as e:
        publish(w.db, w.settings, w.bureau_admin, "persons")
    assert e.value.where == "registry.department"
    with w.db.read() as s, pytest.raises(NotFound):
        get_dataset(s, "registry-enterprises")
