"""A dataset page says when the data was last updated, when the next update is due from its update
frequency (and that it is overdue once that passes), and where its API is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from tests.core.test_pages import login, seeded  # noqa: F401 - the fixture

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_dataset, next_update


@pytest.mark.parametrize(
    ("frequency", "last", "due"),
    [
        ("daily", datetime(2026, 12, 5, 8, tzinfo=UTC), datetime(2026, 12, 6, 8, tzinfo=UTC)),
        ("weekly", datetime(2026, 12, 29, tzinfo=UTC), datetime(2027, 1, 5, tzinfo=UTC)),
        ("monthly", datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),  # month end kept
        ("quarterly", datetime(2026, 11, 30, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC)),
        ("yearly", datetime(2028, 2, 29, tzinfo=UTC), datetime(2029, 2, 28, tzinfo=UTC)),
        ("realtime", datetime(2026, 12, 5, tzinfo=UTC), None),
        ("irregular", datetime(2026, 12, 5, tzinfo=UTC), None),
        ("daily", None, None),
    ],
)
def test_next_update_from_the_frequency(frequency, last, due):
    assert next_update(frequency, last) == due


def test_the_page_shows_last_and_next_update_and_says_overdue(seeded, db, settings, tmp_path):  # noqa: F811
    from shuzhi.ingest.service import ingest_source

    src = tmp_path / "a.csv"
    src.write_text("sfzh\nx\n", encoding="utf-8")
    with db.transaction() as s:
        ds = get_dataset(s, "GA-RK-001")
        s.execute(update(Dataset).where(Dataset.id == ds.id).values(update_frequency="daily"))
        ingest_source(s, settings, ds, src, user_id=None)
    login(seeded)
    html = seeded.get("/datasets/GA-RK-001?lang=en").text
    assert 'id="last-update"' in html and "(v1)" in html and "(UTC+8)" in html
    assert 'id="next-update"' in html and "overdue" not in html
    assert "/api/v1/exchange/datasets/GA-RK-001/rows" in html
    with db.transaction() as s:
        s.execute(update(DatasetVersion).values(created_at=datetime.now(UTC) - timedelta(days=3)))
    assert "overdue" in seeded.get("/datasets/GA-RK-001?lang=en").text
