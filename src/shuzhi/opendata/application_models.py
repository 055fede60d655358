"""Tables of conditional open data's applicants: portal users, their login sessions, their applications.

Portal users are members of the public, kept apart from staff (`users`): nothing that admits staff
(login sessions, API tokens, roles) ever reads these tables, so a portal account can never act as staff.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shuzhi.catalog.models import Dataset
from shuzhi.store.base import Base, UTCDateTime, utcnow

APPLICATION_STATES = ("submitted", "approved", "rejected", "revoked")
"""submitted: awaiting the owning department; approved: data may be read within the granted period;
rejected: refused with a reason; revoked: approval taken back. Rejected and revoked are final; an
approved one past its period is shown as expired (the state stays, the dates decide)."""


class PortalUser(Base):
    """A registered member of the public (门户用户), who may apply for conditional open data."""

    __tablename__ = "opendata_portal_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)
    """Lower-cased: the login name."""
    display_name: Mapped[str] = mapped_column(String(100))
    organisation: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalSession(Base):
    """A portal user's login in a browser: only the hash of the cookie's value is kept."""

    __tablename__ = "opendata_portal_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    portal_user_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_portal_users.id", ondelete="CASCADE"), index=True
    )
    session_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[PortalUser] = relationship(lazy="joined")


class Application(Base):
    """数据开放申请: a portal user's application to read a conditional dataset's releases."""

    __tablename__ = "opendata_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    portal_user_id: Mapped[int] = mapped_column(
        ForeignKey("opendata_portal_users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(Text)
    organisation: Mapped[str] = mapped_column(String(200))
    requested_start: Mapped[date] = mapped_column(Date)
    requested_end: Mapped[date] = mapped_column(Date)
    terms_version: Mapped[str] = mapped_column(String(32))
    terms_sha256: Mapped[str] = mapped_column(String(64))
    """The hash of the terms of use as the applicant accepted them (both languages)."""
    state: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    granted_start: Mapped[date | None] = mapped_column(Date)
    granted_end: Mapped[date | None] = mapped_column(Date)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    applicant: Mapped[PortalUser] = relationship(lazy="joined")
