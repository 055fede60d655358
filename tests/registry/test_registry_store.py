"""The registry's tables: its migration creates them as the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select

from shuzhi.registry import models
from shuzhi.store.base import Base
from shuzhi.store.models import all_metadata

TABLES = {name for name in Base.metadata.tables if name.startswith("registr")}


def registry_diff(db) -> list:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(ctx, all_metadata())
    return [d for d in diff if any(name in str(d) for name in TABLES)]


def test_the_migration_creates_the_tables_the_models_declare(db):
    assert {
        "registries",
        "registry_runs",
        "registry_entries",
        "registry_members",
        "registry_golden",
        "registry_conflicts",
        "registry_decisions",
    } == TABLES
    assert set(inspect(db.engine).get_table_names()) >= TABLES
    assert registry_diff(db) == []


def test_an_entry_its_members_and_golden_attributes_round_trip(db):
    with db.session() as s:
        reg = models.Registry(name="people", kind="people", title_zh="人口库", settings={}, id_prefix="P")
        s.add(reg)
        s.flush()
        run = models.RegistryRun(registry_id=reg.id, mode="full", state="succeeded")
        entry = models.RegistryEntry(registry_id=reg.id, entry_key="P-00000001")
        s.add_all([run, entry])
        s.flush()
        s.add(
            models.RegistryMember(
                registry_id=reg.id, entry_id=entry.id, record_key="psb#1", dataset="psb", version=1, row="1"
            )
        )
        s.add(
            models.GoldenAttribute(
                entry_id=entry.id,
                attribute="name",
                value="张伟",
                value_norm="张伟",
                dataset="psb",
                version=1,
                row="1",
                record_key="psb#1",
                rule="most_frequent",
                run_id=run.id,
            )
        )
        s.commit()
    with db.session() as s:
        entry = s.scalars(select(models.RegistryEntry)).one()
        assert (entry.state, entry.entry_key) == ("active", "P-00000001")
        golden = s.scalars(select(models.GoldenAttribute)).one()
        assert (golden.value, golden.record_key, golden.rule) == ("张伟", "psb#1", "most_frequent")
        assert s.scalars(select(models.Registry)).one().last_number == 0


def test_the_registry_branch_downgrades_and_upgrades_again(db):
    command.downgrade(db.alembic_config(), "registry@base")
    meta = MetaData()
    meta.reflect(db.engine)
    assert not TABLES & set(meta.tables)
    db.upgrade()
    assert registry_diff(db) == []
