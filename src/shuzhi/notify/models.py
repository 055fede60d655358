"""Tables of the notification centre: one notification per recipient, with its e-mail's state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow

MAIL_STATES = ("none", "pending", "sending", "sent", "failed")
"""none: no address (or mail not wanted); pending: to be sent; sending: handed to the mailer (never
sent again, even if its outcome was lost); sent; failed: every attempt failed."""


class Notification(Base):
    """A message to one user: what happened (kind), bilingual title and body, where to look (link)."""

    __tablename__ = "notify_notifications"
    __table_args__ = (
        # The key names the event ("request:12:submitted"): a user gets each event once, however
        # often the feed or the periodic scan meets it. Key first, so the scan's lookups use it.
        UniqueConstraint("key", "user_id"),
        # The header's unread badge on every page: one COUNT over this index.
        Index("ix_notify_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_state: Mapped[str] = mapped_column(String(16), default="none", index=True)
    mail_attempts: Mapped[int] = mapped_column(Integer, default=0)
    mail_error: Mapped[str | None] = mapped_column(Text)
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
