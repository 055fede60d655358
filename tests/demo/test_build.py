"""Building the demo city into a platform: departments, users, catalog entries and one version per file."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.demo import generate
from shuzhi.demo.build import build
from shuzhi.orgs.models import Department, User
from shuzhi.orgs.service import authenticate


@pytest.mark.slow
def test_build_registers_and_ingests_everything_once(settings, db, tmp_path):
    manifest = generate(tmp_path / "city", seed=3, scale=0.01)
    first = build(settings, db, manifest)
    assert first.datasets_created == len(manifest.datasets) == first.versions_added
    with db.session() as s:
        assert s.scalar(select(func.count(Department.id))) >= len(manifest.departments)
        assert s.scalar(select(func.count(User.id))) >= len(manifest.users)
        rows = dict(
            s.execute(select(Dataset.identifier, DatasetVersion.row_count).join(DatasetVersion)).all()
        )
        user = manifest.users[2]
        assert authenticate(s, user.username, user.password) is not None
    assert rows == {d.identifier: d.row_count for d in manifest.datasets}
