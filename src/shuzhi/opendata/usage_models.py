"""Tables of open-data usage: download and view counts per dataset, and the windows previews are audited in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow


class UsageCount(Base):
    """How often the public has downloaded a dataset's released files and viewed its portal page.
    One row per dataset, bumped by a single upsert so concurrent downloads never lose a count."""

    __tablename__ = "opendata_usage_counts"

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    downloads: Mapped[int] = mapped_column(BigInteger, default=0)
    views: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PreviewWindow(Base):
    """An hour in which one client previewed rows of one release: the ledger holds one entry per
    window (written when it opens); later previews in it only count here."""

    __tablename__ = "opendata_preview_windows"
    __table_args__ = (UniqueConstraint("release_id", "client", "via", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("opendata_releases.id", ondelete="CASCADE"))
    client: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    previews: Mapped[int] = mapped_column(Integer, default=1)
