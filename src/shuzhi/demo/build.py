"""`build()`: put a generated demo city into a platform — departments, demo users, catalog entries, versions,
the releases of its open data, and its base registries (一人一档, 一企一档) built and published.

Idempotent: what already exists (a department, a user, a dataset) is kept, and a file whose content
is already a version is reported unchanged by ingest, so running the demo twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from shuzhi.catalog import service as catalog
from shuzhi.catalog.models import Dataset
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.config import Settings
from shuzhi.demo.generate import CityManifest
from shuzhi.demo.opendata import OpenDataReport
from shuzhi.demo.opendata import publish as publish_open_data
from shuzhi.i18n import M_
from shuzhi.ingest import service as ingest
from shuzhi.orgs import service as orgs
from shuzhi.orgs.models import Department, User
from shuzhi.store.db import Database

Progress = Callable[[str, int, int], None]

_BUILDER = orgs.system_principal("shuzhi-demo", "演示城市构建 (demo builder)")
"""The actor of the build: the platform itself acting as admin, recorded in the ledger without a user."""


@dataclass
class BuildReport:
    departments_created: int = 0
    users_created: int = 0
    datasets_created: int = 0
    versions_added: int = 0
    versions_unchanged: int = 0
    ingest_reports: list[ingest.IngestReport] = field(default_factory=list)
    open_data: OpenDataReport | None = None
    registries: list[dict] = field(default_factory=list)
    """The build of each base registry (`registry.service.run_out`, with what was published)."""


def build(
    settings: Settings,
    db: Database,
    manifest: CityManifest,
    progress: Progress | None = None,
    registries: bool = True,
) -> BuildReport:
    """Register the manifest's departments, users and datasets, ingest every dataset's file, publish
    the open data, and (unless `registries` is false) build and publish the base registries."""
    report = BuildReport()
    step = progress or (lambda what, done, total: None)
    total = len(manifest.datasets) + 1
    step(M_("departments and users"), 0, total)
    with db.write() as session:
        for dept in manifest.departments:  # listed parents first
            if session.scalar(select(Department.id).where(Department.code == dept.code)) is None:
                orgs.create_department(
                    session,
                    code=dept.code,
                    name_zh=dept.name_zh,
                    name_en=dept.name_en,
                    level=dept.level,
                    parent_code=dept.parent_code,
                    region_code=dept.region_code,
                )
                report.departments_created += 1
        for user in manifest.users:
            if session.scalar(select(User.id).where(User.username == user.username)) is None:
                orgs.create_user(
                    session,
                    username=user.username,
                    password=user.password,
                    department_code=user.department_code,
                    roles=list(user.roles),
                    display_name=user.display_name,
                )
                report.users_created += 1
    for k, spec in enumerate(manifest.datasets, start=1):
        step(spec.title_zh, k, total)
        staged = ingest.stage_source(settings, spec.path, fmt=spec.format, name=spec.path.name)
        result = ingest.commit_to(db, settings, staged, _finder(spec, report), user_id=None)
        report.ingest_reports.append(result)
        if result.unchanged:
            report.versions_unchanged += 1
        else:
            report.versions_added += 1
    report.open_data = publish_open_data(settings, db)
    if registries:
        for name in REGISTRIES:
            step(M_("base registry %(name)s", name=name), total, total)
            report.registries.append(_registry(settings, db, name))
    step(M_("done"), total, total)
    return report


REGISTRIES = ("persons", "enterprises")
"""The shipped registry settings the demo builds (`shuzhi/registry/registries/<name>.yaml`)."""


def _registry(settings: Settings, db: Database, name: str) -> dict:
    """Register the shipped settings (again: they may have changed) and build: in full the first
    time, incrementally after; the build publishes the golden table."""
    from shuzhi.registry import service
    from shuzhi.registry.settings import REGISTRIES_DIR

    with db.write() as session:
        service.register(session, _BUILDER, REGISTRIES_DIR / f"{name}.yaml")
        first = not service.status(session, name, runs=1, conflicts=0)["runs"]
    return service.build(db, settings, _BUILDER, name, "full" if first else "incremental")


def _finder(spec, report):
    """The demo dataset of `spec`, registered when the store does not have it yet."""

    def target(session):
        dataset = session.scalar(select(Dataset).where(Dataset.identifier == spec.identifier))
        if dataset is None:
            dataset = catalog.create_dataset(session, _BUILDER, DatasetIn(**spec.catalog_entry()))
            report.datasets_created += 1
        return dataset

    return target
