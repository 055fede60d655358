"""Tables of the sharing exchange: requests, their transitions, grants and grant usage per day."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shuzhi.catalog.models import Dataset
from shuzhi.orgs.models import Department, User
from shuzhi.store.base import Base, UTCDateTime, utcnow

REQUEST_STATES = ("draft", "submitted", "approved", "rejected", "withdrawn", "expired", "revoked")


class ShareRequest(Base):
    """共享申请: a department asks another for some fields of a dataset, for a purpose."""

    __tablename__ = "exchange_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    """The requesting department."""
    fields: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    basis: Mapped[str | None] = mapped_column(Text)
    """Legal or policy basis of the use."""
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    deadline: Mapped[date | None] = mapped_column(Date)
    """Review due date, set on submission in working days."""
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    requester: Mapped[User] = relationship(foreign_keys=[requester_id], lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    events: Mapped[list[RequestEvent]] = relationship(
        cascade="all, delete-orphan", order_by="RequestEvent.id", back_populates="request"
    )


class RequestEvent(Base):
    """One state transition of a request, with who made it and why."""

    __tablename__ = "exchange_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("exchange_requests.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ShareRequest] = relationship(back_populates="events")


class Grant(Base):
    """授权: what a department may read of a dataset, masked and filtered how, until when."""

    __tablename__ = "exchange_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("exchange_requests.id", ondelete="SET NULL"), index=True
    )
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    """The grantee department."""
    fields: Mapped[list[str]] = mapped_column(JSON)
    masks: Mapped[dict[str, dict]] = mapped_column(JSON, default=dict)
    """Field -> mask rule; a granted field without an entry gets its grade's default."""
    row_filter: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    rows_per_day: Mapped[int | None] = mapped_column(BigInteger)
    calls_per_day: Mapped[int | None] = mapped_column(Integer)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(lazy="joined")
    department: Mapped[Department] = relationship(lazy="joined")
    request: Mapped[ShareRequest | None] = relationship()

    @property
    def expires_on(self) -> date:
        """The last day of use: `expires_at` is the midnight (UTC) that ends it."""
        return (self.expires_at - timedelta(microseconds=1)).date()


class GrantUsage(Base):
    """Calls and rows served under one grant on one day (UTC), for quotas."""

    __tablename__ = "exchange_grant_usage"
    __table_args__ = (UniqueConstraint("grant_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("exchange_grants.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    calls: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[int] = mapped_column(BigInteger, default=0)
