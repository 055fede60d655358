"""Tables of privacy budgets: each dataset's total and spent ε and δ, its ledger, and statistics releases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class PrivacyBudget(Base):
    """A dataset's privacy budget: what may be spent in all (set by an admin, else the setting's
    default) and what has been. A spend is one conditional update of this row, so concurrent
    releases cannot both pass the total."""

    __tablename__ = "opendata_privacy_budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), unique=True)
    epsilon_total: Mapped[float] = mapped_column(Float)
    delta_total: Mapped[float] = mapped_column(Float)
    epsilon_spent: Mapped[float] = mapped_column(Float, default=0.0)
    delta_spent: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatisticsRelease(Base):
    """One release of differentially private statistics of a dataset version: the spec it was asked
    with, the figures (with their accuracy) it gave, the ε and δ it spent."""

    __tablename__ = "opendata_stats_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    spec: Mapped[dict] = mapped_column(JSON)
    figures: Mapped[list[dict]] = mapped_column(JSON)
    epsilon: Mapped[float] = mapped_column(Float)
    delta: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(200))
    """Who released it, as the audit names them (kept when the user is gone)."""


class BudgetEntry(Base):
    """One line of a budget's own ledger: a spend (by a release) or a new total set by an admin."""

    __tablename__ = "opendata_budget_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    """'spend' or 'set'."""
    release_id: Mapped[int | None] = mapped_column(
        ForeignKey("opendata_stats_releases.id", ondelete="CASCADE")
    )
    epsilon: Mapped[float] = mapped_column(Float)
    """A spend: the ε spent; a set: the new total."""
    delta: Mapped[float] = mapped_column(Float)
    epsilon_left: Mapped[float] = mapped_column(Float)
    delta_left: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(200))
