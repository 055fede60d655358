"""A registry's golden table published as a catalog dataset: graded, shared and read like any other."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset
from shuzhi.config import Settings
from shuzhi.errors import InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.ingest.service import IngestReport, commit_to, create_dataset_for, stage_source
from shuzhi.orgs.models import Department
from shuzhi.registry.models import GoldenAttribute, Registry, RegistryEntry, RegistryMember

THEMES = {"people": "population", "person": "population", "enterprises": "market", "enterprise": "market"}
"""The catalog theme of a published registry, by its kind."""

ENTRY_COLUMN = "entry_id"
SOURCES_COLUMN = "source_count"


def dataset_identifier(registry_name: str) -> str:
    """The catalog identifier a registry is published under: ``registry-<name>``."""
    return f"registry-{registry_name}"


def get_registry(session: Session, name: str) -> Registry:
    registry = session.scalar(select(Registry).where(Registry.name == name))
    if registry is None:
        raise NotFound(M_("no registry named %(name)s", name=name), where="registry")
    return registry


def golden_table(session: Session, registry: Registry) -> pa.Table:
    """One row per active entry: its id, how many source datasets feed it, then one text column per
    attribute (empty where the entry has no value), in a stable order."""
    entries = list(
        session.execute(
            select(RegistryEntry.id, RegistryEntry.entry_key)
            .where(RegistryEntry.registry_id == registry.id, RegistryEntry.state == "active")
            .order_by(RegistryEntry.entry_key)
        )
    )
    ids = [e.id for e in entries]
    counts = dict(
        session.execute(
            select(RegistryMember.entry_id, func.count(func.distinct(RegistryMember.dataset)))
            .where(RegistryMember.registry_id == registry.id)
            .group_by(RegistryMember.entry_id)
        ).all()
    )
    values: dict[str, dict[int, str]] = {}
    for entry_id, attribute, value in session.execute(
        select(GoldenAttribute.entry_id, GoldenAttribute.attribute, GoldenAttribute.value)
        .join(RegistryEntry, RegistryEntry.id == GoldenAttribute.entry_id)
        .where(RegistryEntry.registry_id == registry.id, RegistryEntry.state == "active")
    ):
        values.setdefault(attribute, {})[entry_id] = value
    columns = {
        ENTRY_COLUMN: pa.array([e.entry_key for e in entries], pa.string()),
        SOURCES_COLUMN: pa.array([counts.get(i, 0) for i in ids], pa.int64()),
    }
    for attribute in sorted(values):
        columns[attribute] = pa.array([values[attribute].get(i) for i in ids], pa.string())
    return pa.table(columns)


def publish(db, settings: Settings, principal, registry_name: str) -> IngestReport:
    """Write the registry's golden table as the next version of its catalog dataset (created on the
    first publish, owned by the registry's stewarding department), through the ingest service: so
    the version is graded, quality-checked, shared, masked and audited as every ingested version is.
    Publishing unchanged entries reports the version they already are."""
    with db.read() as s:
        registry = get_registry(s, registry_name)
        if registry.department_id is None:
            raise InvalidInput(
                M_("registry %(name)s has no stewarding department to publish under", name=registry_name),
                where="registry.department",
            )
        dept = s.get(Department, registry.department_id).code
        table = golden_table(s, registry)
        kind, title_zh, title_en = registry.kind, registry.title_zh, registry.title_en
    identifier = dataset_identifier(registry_name)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{identifier}.parquet"
        pq.write_table(table, path)
        staged = stage_source(settings, path, name=path.name)
    staged.source = f"registry:{registry_name}"  # the version says where it came from, not a temporary file

    def target(session: Session) -> Dataset:
        found = session.scalar(select(Dataset).where(Dataset.identifier == identifier))
        if found is not None:
            return found
        return create_dataset_for(
            session,
            principal,
            staged,
            dept=dept,
            theme=THEMES.get(kind, "civil"),
            title=title_zh,
            identifier=identifier,
            title_en=title_en,
            share_type="conditional",
        )

    return commit_to(db, settings, staged, target, user_id=principal.user_id)
