"""Declarative base shared by every domain's models."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


Id = BigInteger().with_variant(Integer(), "sqlite")
"""Ids are 64-bit on every store. On SQLite the column stays INTEGER: only an `INTEGER PRIMARY KEY`
aliases the rowid (and so numbers itself), and SQLite's INTEGER holds 64 bits anyway."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    # A column typed only by `Mapped[int]` — every id and foreign key — is an Id.
    type_annotation_map = {int: Id}
