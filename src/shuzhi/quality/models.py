"""Tables of data quality: rule sets (every saved revision), runs, per-rule results, overrides of blocks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class RuleSetRevision(Base):
    """One saved revision of a dataset's rule set; the newest is in force."""

    __tablename__ = "quality_rule_sets"
    __table_args__ = (UniqueConstraint("dataset_id", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(Integer)
    body: Mapped[dict] = mapped_column(JSON)
    """The rule set as checked and normalised (`RuleSet.as_dict`): every default written out."""
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class QualityRun(Base):
    """One run of a rule set revision on one dataset version, with the version's scores."""

    __tablename__ = "quality_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    rule_set_id: Mapped[int] = mapped_column(ForeignKey("quality_rule_sets.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    rows: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float | None] = mapped_column(Float)
    """Overall quality score, 0–100 (docs/quality.md); None when no rule checked anything."""
    dimensions: Mapped[dict] = mapped_column(JSON)
    """Score per dimension (0–100, or None where no rule of it checked anything)."""
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    """A blocking rule failed on this version."""
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class RuleResult(Base):
    """What one rule found in one run: exact counts, a masked sample of failing rows, a score."""

    __tablename__ = "quality_rule_results"
    __table_args__ = (UniqueConstraint("run_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quality_runs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(64))
    dimension: Mapped[str] = mapped_column(String(16))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    blocking: Mapped[bool] = mapped_column(Boolean, default=False)
    rows_checked: Mapped[int] = mapped_column(BigInteger)
    rows_failed: Mapped[int] = mapped_column(BigInteger)
    score: Mapped[float | None] = mapped_column(Float)
    """100 × (1 − failed / checked); None when nothing was checked."""
    sample: Mapped[list] = mapped_column(JSON, default=list)
    """Failing rows (position in the file and the rule's fields), masked per the fields' grades."""
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    """Why the rule could not run on this version (a field gone); it then has no score."""


class BlockOverride(Base):
    """A steward's decision that a blocked run's version may still be shared and published, with why."""

    __tablename__ = "quality_block_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("quality_runs.id", ondelete="CASCADE"), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
