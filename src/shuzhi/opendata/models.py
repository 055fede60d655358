"""Tables of open data: releases of dataset versions, de-identified under a plan, with their reports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.store.base import Base, UTCDateTime, utcnow

OPEN_TYPES = ("unconditional", "conditional")
"""Open types (开放类型) whose datasets are published through releases; 不予开放 (none) never is."""

RELEASE_STATES = ("pending", "published", "rejected", "withdrawn")
"""pending: built and checked, awaiting a second person; published: served; rejected: refused by the
second person; withdrawn: taken off (from pending or published). Rejected and withdrawn are final."""


class Release(Base):
    """开放数据发布: one de-identified table of one dataset version, as the public may download it."""

    __tablename__ = "opendata_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    plan: Mapped[dict] = mapped_column(JSON)
    """The de-identification plan as written (`shuzhi.opendata.plans.PlanIn`)."""
    reused_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("opendata_releases.id", ondelete="SET NULL")
    )
    path: Mapped[str] = mapped_column(String(500))
    """The released file's key in the version store (named by its SHA-256)."""
    sha256: Mapped[str] = mapped_column(String(64))
    byte_size: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)
    public_fields: Mapped[list[dict]] = mapped_column(JSON)
    """The released columns in order: name, type, and how each was treated."""
    report: Mapped[dict] = mapped_column(JSON)
    """k and l achieved (recomputed on the written file), rows suppressed, information loss, and the
    generalisation of each quasi-identifier."""
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    prepared_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    version: Mapped[DatasetVersion] = relationship()


class ListingVersion(Base):
    """A counter the database bumps (by triggers) whenever what the public listing shows may have
    changed: a release inserted, moved or deleted; a dataset's public metadata, fields or department
    edited. Every process serving the listing compares it to the one its cache was built at, so a
    withdrawn release leaves every process's search at once. One row; `token` tells one store from
    another (a recreated store starts its counter again)."""

    __tablename__ = "opendata_listing_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
    token: Mapped[str] = mapped_column(String(32))
