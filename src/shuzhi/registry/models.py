"""Tables of the base registries: registries, runs, entries and their member records, golden attributes,
conflicts and steward decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class Registry(Base):
    """One base registry (一人一档 or 一企一档): its settings and the last entry number it issued."""

    __tablename__ = "registries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`people` or `enterprises`."""
    title_zh: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str | None] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="SET NULL"), index=True
    )
    """The department that stewards it."""
    settings: Mapped[dict] = mapped_column(JSON)
    """The registry's settings as checked (sources, mappings, linkage, survivorship)."""
    id_prefix: Mapped[str] = mapped_column(String(8))
    last_number: Mapped[int] = mapped_column(BigInteger, default=0)
    """The last entry number issued: numbers are never given twice."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistryRun(Base):
    """One run that linked the sources and rebuilt the entries, with its timings and counts."""

    __tablename__ = "registry_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    """`full` or `incremental`."""
    state: Mapped[str] = mapped_column(String(16), default="running")
    """`running`, `succeeded` or `failed`."""
    sources: Mapped[dict] = mapped_column(JSON, default=dict)
    """Source dataset → version read."""
    timings: Mapped[dict] = mapped_column(JSON, default=dict)
    """Step → seconds."""
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    """Records, entries, kept, created, merged, split, retired, conflicts…"""
    model: Mapped[dict | None] = mapped_column(JSON)
    """The linkage model the run scored pairs with: `{"settings": digest of the registry's settings,
    "splink": the trained Splink model}`; an incremental build reuses it while the settings match."""
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RegistryEntry(Base):
    """One entry (a person, an enterprise) under its stable id; retired entries are kept, never reused."""

    __tablename__ = "registry_entries"
    __table_args__ = (UniqueConstraint("registry_id", "entry_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"), index=True)
    entry_key: Mapped[str] = mapped_column(String(40))
    """The stable id shown to people (`P-00000042`)."""
    state: Mapped[str] = mapped_column(String(16), default="active", index=True)
    """`active` or `retired`."""
    retired_reason: Mapped[str | None] = mapped_column(String(16))
    """`merged` or `emptied`."""
    merged_into: Mapped[str | None] = mapped_column(String(40))
    created_run_id: Mapped[int | None] = mapped_column(ForeignKey("registry_runs.id", ondelete="SET NULL"))
    retired_run_id: Mapped[int | None] = mapped_column(ForeignKey("registry_runs.id", ondelete="SET NULL"))


class RegistryMember(Base):
    """One source record of an entry: where it comes from (dataset, version, row)."""

    __tablename__ = "registry_members"
    __table_args__ = (UniqueConstraint("registry_id", "record_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("registry_entries.id", ondelete="CASCADE"), index=True)
    record_key: Mapped[str] = mapped_column(String(300))
    dataset: Mapped[str] = mapped_column(String(200))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="SET NULL"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    row: Mapped[str] = mapped_column(String(200))
    digest: Mapped[str | None] = mapped_column(String(32))
    """md5 of the record's mapped values as read: an incremental run relinks the records whose digest changed."""


class GoldenAttribute(Base):
    """The surviving value of one attribute of an entry, with the record it came from and the rule."""

    __tablename__ = "registry_golden"
    __table_args__ = (UniqueConstraint("entry_id", "attribute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("registry_entries.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(Text)
    value_norm: Mapped[str | None] = mapped_column(Text)
    dataset: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    row: Mapped[str] = mapped_column(String(200))
    record_key: Mapped[str] = mapped_column(String(300))
    rule: Mapped[str] = mapped_column(String(32))
    """The survivorship strategy that chose it, or `steward`."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("registry_runs.id", ondelete="SET NULL"))


class RegistryConflict(Base):
    """An attribute of an entry whose sources disagree, with every candidate value and its provenance."""

    __tablename__ = "registry_conflicts"
    __table_args__ = (UniqueConstraint("entry_id", "attribute"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("registry_entries.id", ondelete="CASCADE"))
    attribute: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    """`open`, `resolved` or `reopened` (a resolution no longer applies)."""
    candidates: Mapped[list] = mapped_column(JSON)
    """[{value, value_norm, dataset, version, row, record_key, chosen}]."""
    run_id: Mapped[int | None] = mapped_column(ForeignKey("registry_runs.id", ondelete="SET NULL"))


class StewardDecision(Base):
    """A steward's merge, split or resolution, applied on every later run (keyed on record keys)."""

    __tablename__ = "registry_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    registry_id: Mapped[int] = mapped_column(ForeignKey("registries.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """`merge` {records}, `split` {records, apart_from} or `resolve` {entry, attribute, value}."""
    payload: Mapped[dict] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
