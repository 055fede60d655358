"""Tables of grading: column decisions per version, dataset grades, steward overrides and alerts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class ColumnDecision(Base):
    """The category of one column of one dataset version, with the evidence behind it."""

    __tablename__ = "classify_column_decisions"
    __table_args__ = (UniqueConstraint("version_id", "field_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    field_name: Mapped[str] = mapped_column(String(200))
    field_type: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    detected_category: Mapped[str] = mapped_column(String(64))
    """What the detectors found on this version's data."""
    category: Mapped[str] = mapped_column(String(64))
    """In force: the detected category, or a steward's override."""
    confidence: Mapped[float] = mapped_column(Float)
    detector: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="suggested")
    """'suggested' (detectors only), 'confirmed' or 'overridden' (by a steward)."""
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DatasetGrade(Base):
    """The grade of one dataset version and the rule that decided it."""

    __tablename__ = "classify_dataset_grades"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), unique=True
    )
    level: Mapped[str] = mapped_column(String(16))
    data_class: Mapped[str] = mapped_column(String(16))
    derived_level: Mapped[str] = mapped_column(String(16))
    derived_data_class: Mapped[str] = mapped_column(String(16))
    rule: Mapped[dict] = mapped_column(JSON, default=dict)
    flags: Mapped[list] = mapped_column(JSON, default=list)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="derived")
    """'derived' (from the rules), 'confirmed' or 'overridden'."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReviewOverride(Base):
    """A steward's confirmation or override of a column's category or of the dataset grade."""

    __tablename__ = "classify_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    field_name: Mapped[str | None] = mapped_column(String(200))
    """None: the override is about the dataset grade."""
    field_type: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    """'confirm' or 'override'."""
    category: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(16))
    data_class: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    version_number: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    lapsed_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GradingAlert(Base):
    """Something a steward should look at: a new sensitive column, a raised grade, a lapsed override."""

    __tablename__ = "classify_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    field_name: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


LOWERING_STATES = ("pending", "approved", "rejected", "superseded")


class LoweringRequest(Base):
    """A review that would set a column or the dataset below the level grading derived: it waits for
    a second person (an admin) to approve it, and until then the higher level holds."""

    __tablename__ = "classify_lowering_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    field_name: Mapped[str | None] = mapped_column(String(200))
    """None: the request is about the dataset grade."""
    action: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(64))
    level: Mapped[str | None] = mapped_column(String(16))
    """The level asked for (a column's: the level of `category`)."""
    data_class: Mapped[str | None] = mapped_column(String(16))
    derived_level: Mapped[str] = mapped_column(String(16))
    """What grading derived, which the request goes below."""
    current_level: Mapped[str] = mapped_column(String(16))
    """The level in force when it was asked for (and until it is approved)."""
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    """What grading saw (a column's detector, share of valid values, masked examples), for the approver."""
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_by: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_by: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
