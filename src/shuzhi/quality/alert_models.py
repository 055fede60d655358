"""Tables of quality supervision: the metrics of each version, and the alert inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class VersionMetrics(Base):
    """The metrics of one dataset version: rows, and per column null share, distinct count, mean."""

    __tablename__ = "quality_version_metrics"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("dataset_versions.id", ondelete="CASCADE"), unique=True
    )
    version_number: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("quality_runs.id", ondelete="SET NULL"))
    """The quality run made with them, when the dataset has rules."""
    rows: Mapped[int] = mapped_column(BigInteger)
    columns: Mapped[dict] = mapped_column(JSON)
    """Column name → {"type", "null_share", "distinct", "mean"} (mean only for numeric columns)."""
    anomalies: Mapped[list] = mapped_column(JSON, default=list)
    """What the comparison with the earlier versions found (`anomalies.Anomaly.as_dict`)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Alert(Base):
    """One early warning in the quality inbox: new → acknowledged → resolved."""

    __tablename__ = "quality_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    """The condition it reports (`late_update:12:2026-05-01`): one open alert per condition."""
    open_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    """`key` while the alert is open, NULL once resolved: the store refuses a second open alert."""
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int | None] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    figures: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="new", index=True)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_note: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolved_note: Mapped[str | None] = mapped_column(Text)
