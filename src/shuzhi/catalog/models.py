"""Tables of the catalog: vocabulary terms, datasets, their fields and immutable versions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shuzhi.orgs.models import Department, User
from shuzhi.store.base import Base, UTCDateTime, utcnow


class VocabTerm(Base):
    """One term of a controlled vocabulary (share type, open type, grade, theme, frequency…)."""

    __tablename__ = "vocab_terms"
    __table_args__ = (UniqueConstraint("vocab", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vocab: Mapped[str] = mapped_column(String(32), index=True)
    code: Mapped[str] = mapped_column(String(32))
    label_zh: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str | None] = mapped_column(Text)


class Dataset(Base):
    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(100), unique=True)
    title_zh: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"), index=True)
    theme: Mapped[str] = mapped_column(String(32))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    update_frequency: Mapped[str] = mapped_column(String(32))
    share_type: Mapped[str] = mapped_column(String(32))
    share_basis: Mapped[str | None] = mapped_column(Text)
    """Legal or policy basis; required when share_type is 'none' (不予共享)."""
    open_type: Mapped[str] = mapped_column(String(32))
    open_basis: Mapped[str | None] = mapped_column(Text)
    security_grade: Mapped[str | None] = mapped_column(String(16))
    """Empty until the dataset has been graded."""
    data_class: Mapped[str | None] = mapped_column(String(16))
    licence: Mapped[str | None] = mapped_column(String(100))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(50))
    temporal_start: Mapped[date | None] = mapped_column(Date)
    temporal_end: Mapped[date | None] = mapped_column(Date)
    spatial: Mapped[str | None] = mapped_column(String(200))
    """GB/T 2260 region code or a place name."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    department: Mapped[Department] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    fields: Mapped[list[DatasetField]] = relationship(
        cascade="all, delete-orphan",
        order_by="DatasetField.position",
        lazy="selectin",
        back_populates="dataset",
    )
    versions: Mapped[list[DatasetVersion]] = relationship(
        cascade="all, delete-orphan",
        order_by="DatasetVersion.number",
        back_populates="dataset",
    )

    def field_names(self) -> list[str]:
        """Every field the dataset has: the catalog's list, then any column only a stored version
        holds (the list is edited by hand and may leave one out)."""
        names = [f.name for f in self.fields]
        held = (c["name"] for v in self.versions for c in (v.schema or []))
        return list(dict.fromkeys([*names, *held]))


class DatasetField(Base):
    __tablename__ = "dataset_fields"
    __table_args__ = (UniqueConstraint("dataset_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    standard_element: Mapped[str | None] = mapped_column(String(100))
    """Data-element standard this field follows (数据元标准), e.g. GB/T 2260."""

    dataset: Mapped[Dataset] = relationship(back_populates="fields")


class DatasetVersion(Base):
    """One immutable load of a dataset: a Parquet file under the data directory."""

    __tablename__ = "dataset_versions"
    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500))
    """Relative to the data directory."""
    source: Mapped[str] = mapped_column(String(1000))
    source_format: Mapped[str] = mapped_column(String(32))
    encoding: Mapped[str | None] = mapped_column(String(32))
    row_count: Mapped[int] = mapped_column(BigInteger)
    byte_size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    schema: Mapped[list[dict]] = mapped_column(JSON)
    profile: Mapped[dict] = mapped_column(JSON)
    drift: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    damaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the file was found not to match `sha256` (or missing): reads of the version are refused."""
    damage: Mapped[str | None] = mapped_column(String(32))
    """What failed: 'missing', 'size', 'sha256' or 'page_checksum'."""

    dataset: Mapped[Dataset] = relationship(back_populates="versions")


class DatasetSearchDoc(Base):
    """Pre-segmented search text of a dataset; the database's full-text index is built over it."""

    __tablename__ = "dataset_search_docs"

    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    tokens: Mapped[str] = mapped_column(Text)
