"""Table of rules proposed from a version's statistics, and the steward's decision on each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shuzhi.store.base import Base, UTCDateTime, utcnow

STATES = ("proposed", "accepted", "rejected", "superseded")
"""`superseded`: still undecided when proposals were made again from a newer version."""


class RuleProposal(Base):
    """A rule proposed for a dataset from one of its versions, with why and the counts behind it."""

    __tablename__ = "quality_rule_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("dataset_versions.id", ondelete="CASCADE"), index=True)
    version_number: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(Text)
    """`kind(fields)`: a rejected key is not proposed again for the dataset."""
    kind: Mapped[str] = mapped_column(String(64))
    rule: Mapped[dict] = mapped_column(JSON)
    """The rule as proposed (kind and parameters), values unmasked: masked when read."""
    reason: Mapped[dict] = mapped_column(JSON)
    """{"zh": …, "en": …}"""
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="proposed")
    accepted_rule: Mapped[dict | None] = mapped_column(JSON)
    """The rule appended to the rule set: the proposed one, or the steward's edit of it."""
    revision: Mapped[int | None] = mapped_column(Integer)
    """The rule set revision the accepted rule was saved in."""
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
