"""Fixtures for grading tests: a health department, its steward, and a loader of CSV versions."""

from __future__ import annotations

import pytest

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset, get_dataset
from shuzhi.classify.checksums import gb11643_check_char
from shuzhi.cli.common import system_principal


def make_id(region: str, born: str, seq: str = "123") -> str:
    body = region + born + seq
    return body + gb11643_check_char(body)


IDS = [
    make_id("110101", "19900307"),
    make_id("440304", "19851231"),
    make_id("310104", "20050101"),
    make_id("510107", "19771212"),
    make_id("330106", "19880808"),
    make_id("120101", "19650215"),
]
CHILD_ID = make_id("110105", "20200601")


@pytest.fixture
def steward(make_user):
    return make_user("wjw.steward", dept="WJW", roles=("steward",))


@pytest.fixture
def dataset(db, steward) -> str:
    with db.transaction() as s:
        create_dataset(
            s,
            system_principal(),
            DatasetIn(identifier="WJW-JZ-001", title_zh="门诊就诊记录", department="WJW", theme="health"),
        )
    return "WJW-JZ-001"


@pytest.fixture
def load(db, settings, tmp_path):
    """Load CSV text as the next version of a dataset; returns the classification dict."""
    from shuzhi.classify.readmodel import classification
    from shuzhi.ingest import ingest_source

    counter = iter(range(1, 1000))

    def _load(ref: str, csv_text: str) -> dict:
        path = tmp_path / f"v{next(counter)}.csv"
        path.write_text(csv_text, encoding="utf-8")
        with db.transaction() as s:
            ingest_source(s, settings, get_dataset(s, ref), path, user_id=None)
        with db.session() as s:
            return classification(s, settings, get_dataset(s, ref))

    return _load


def csv_of(columns: dict[str, list[str]]) -> str:
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    return "\n".join([",".join(names), *(",".join(r) for r in rows)]) + "\n"


@pytest.fixture
def second_admin(make_user):
    """An admin of the data bureau: the second person who approves lowering a grade."""
    return make_user("bdb.admin", dept="BDB", roles=("admin",))


def reviewed(session, settings, result, approver):
    """A review's result, approved by `approver` first when it went below what grading derived (what
    a test of overrides themselves needs: the approval is tested in test_lowering): the column's
    decision or the dataset's grade, as applied."""
    from sqlalchemy import select

    from shuzhi.catalog.models import Dataset
    from shuzhi.classify.models import ColumnDecision, LoweringRequest
    from shuzhi.classify.readmodel import grade_of, latest_graded_version
    from shuzhi.classify.review import approve_lowering

    if not isinstance(result, LoweringRequest):
        return result
    approve_lowering(session, settings, approver, result.id, note="approved for the test")
    version = latest_graded_version(session, session.get(Dataset, result.dataset_id))
    if result.field_name is None:
        return grade_of(session, version)
    return session.scalar(
        select(ColumnDecision).where(
            ColumnDecision.version_id == version.id, ColumnDecision.field_name == result.field_name
        )
    )
