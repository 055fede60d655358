"""Which fields' values are sensitive, as grading answers through the `sensitive_columns` hook: those
graded L3 and above on any graded version; every field while nothing has been graded."""

from __future__ import annotations

from tests.classify.conftest import IDS

from shuzhi.catalog.service import get_dataset, sensitive_columns


def test_graded_l3_and_above_and_a_higher_version_keeps_a_field_sensitive(db, settings, dataset, load):
    rows = "\n".join(f"{i},{IDS[i % len(IDS)]},{30 + i}" for i in range(40))
    load(dataset, "seq,sfzh,age\n" + rows + "\n")
    with db.read() as s:
        sensitive = sensitive_columns(s, settings, get_dataset(s, dataset))
    assert "sfzh" in sensitive and "age" not in sensitive and "seq" not in sensitive
    # a later version without ID numbers in that column: the field stays sensitive (the highest
    # level it had on any graded version counts)
    load(dataset, "seq,sfzh,age\n" + "\n".join(f"{i},x{i},{30 + i}" for i in range(40)) + "\n")
    with db.read() as s:
        assert "sfzh" in sensitive_columns(s, settings, get_dataset(s, dataset))


def test_a_dataset_never_graded_has_every_field_sensitive(db, settings, steward):
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset

    with db.transaction() as s:
        create_dataset(
            s,
            steward,
            DatasetIn(
                identifier="WJW-NEW",
                title_zh="新数据集",
                department="WJW",
                theme="health",
                fields=[{"name": "a"}, {"name": "b"}],
            ),
        )
    with db.read() as s:
        assert sensitive_columns(s, settings, get_dataset(s, "WJW-NEW")) == {"a", "b"}


def test_a_column_no_grading_has_judged_counts_as_sensitive(db, settings, dataset, load):
    from sqlalchemy import delete

    from shuzhi.classify.models import ColumnDecision

    load(dataset, "seq,age\n" + "\n".join(f"{i},{30 + i}" for i in range(40)) + "\n")
    load(dataset, "seq,age,note\n" + "\n".join(f"{i},{30 + i},x{i}" for i in range(40)) + "\n")
    with db.transaction() as s:  # the newest version's grading is missing (failed, or not yet run)
        s.execute(delete(ColumnDecision).where(ColumnDecision.field_name == "note"))
    with db.read() as s:
        sensitive = sensitive_columns(s, settings, get_dataset(s, dataset))
    assert "note" in sensitive and "age" not in sensitive
