"""The `[quality_proposals]` settings section: when rules are proposed from a version's statistics."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProposalSettings(BaseModel):
    enum_max_values: int = Field(20, ge=1, le=1000)
    """A text or integer field with at most this many distinct values gets an enumeration proposed."""
    enum_max_ratio: float = Field(0.1, gt=0, le=1)
    """…and only when its distinct values are at most this share of its rows with a value (a handful
    of values repeated, not a small table whose every value differs)."""
    unique_min_rows: int = Field(10, ge=1)
    """A uniqueness rule is proposed for a field whose every value differs only from this many rows."""


SECTIONS = {"quality_proposals": ProposalSettings}
