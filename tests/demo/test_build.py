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
    assert {k: v for k, v in rows.items() if not k.startswith("registry-")} == {
        d.identifier: d.row_count for d in manifest.datasets
    }
    # the base registries are built from the city's datasets and their golden tables published
    runs = dict(zip(("persons", "enterprises"), first.registries, strict=True))
    for name, run in runs.items():
        assert run["state"] == "succeeded" and run["mode"] == "full" and run["counts"]["entries"] > 0
        assert run["published"] == {"dataset": f"registry-{name}", "version": 1, "unchanged": False}
        assert rows[f"registry-{name}"] == run["counts"]["entries"]
    again = build(settings, db, manifest)
    assert again.versions_added == 0
    for name, run in zip(("persons", "enterprises"), again.registries, strict=True):
        assert run["mode"] == "incremental" and run["counts"]["records_linked"] == 0
        assert run["counts"]["entries"] == runs[name]["counts"]["entries"] and run["counts"]["created"] == 0
        assert run["published"] == {"dataset": f"registry-{name}", "version": 1, "unchanged": True}


@pytest.mark.slow
def test_the_demo_publishes_its_open_data_through_the_release_path(sqlite_settings, sqlite_db, tmp_path):
    import pyarrow.parquet as pq

    from shuzhi.demo.opendata import APPROVER, RELEASES
    from shuzhi.opendata import published
    from shuzhi.opendata.access import Reader
    from shuzhi.opendata.budget_models import StatisticsRelease
    from shuzhi.opendata.disclosure import check
    from shuzhi.opendata.models import Release
    from shuzhi.orgs import service as orgs

    settings, db = sqlite_settings, sqlite_db
    manifest = generate(tmp_path / "city", seed=3, scale=0.12)
    opened = build(settings, db, manifest, registries=False).open_data
    assert opened.published == len(RELEASES) and opened.statistics == 1, opened.refused
    stewards = {r.dataset: r.steward for r in RELEASES}
    with db.session() as s:
        names = dict(s.execute(select(User.id, User.username)).all())
        shown = s.scalars(select(Release).where(Release.state == "published")).all()
        assert len(shown) == opened.published
        for release in shown:
            # prepared by the owning department's steward, approved by a second person
            assert names[release.prepared_by_id] == stewards[release.dataset.identifier]
            assert names[release.decided_by_id] == APPROVER != names[release.prepared_by_id]
            assert release.dataset.open_type in ("unconditional", "conditional")
            admin = Reader(staff=orgs.system_principal())  # conditional ones are not anyone's
            table = pq.read_table(published.release_table_path(s, settings, release.id, reader=admin))
            qis = [name for name, f in release.plan["fields"].items() if f["action"] == "qi"]
            assert qis and check(table, qis).k >= 5  # recomputed on the file the public gets
            dropped = {name for name, f in release.plan["fields"].items() if f["action"] == "drop"}
            assert not dropped & set(table.schema.names)
        person_level = next(r for r in shown if r.dataset.identifier == "hz-xh-samr-individual")
        assert {"经营者姓名", "经营者身份证号"} <= {
            n for n, f in person_level.plan["fields"].items() if f["action"] == "drop"
        }
        assert s.scalar(select(func.count(StatisticsRelease.id))) == 1
    # one member of the public's application awaits the conditional dataset's department, once
    from shuzhi.opendata.application_models import Application
    from shuzhi.orgs.models import Department

    with db.session() as s:
        [pending] = s.scalars(select(Application)).all()
        assert pending.state == "submitted" and pending.dataset.open_type == "conditional"
        steward = orgs.Principal.of(orgs.get_user(s, stewards[pending.dataset.identifier]))
        assert s.get(Department, pending.dataset.department_id).code == steward.department_code
    again = build(settings, db, manifest, registries=False).open_data
    assert again.published == 0 and again.statistics == 0 and again.already == opened.published
    assert opened.applications == 1 and again.applications == 0
