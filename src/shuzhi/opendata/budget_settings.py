"""The `[privacy]` settings section: each dataset's default privacy budget and what one release may spend."""

from __future__ import annotations

from pydantic import BaseModel, Field


class PrivacySettings(BaseModel):
    default_epsilon: float = Field(default=3.0, gt=0)
    """The total ε a dataset may spend on differentially private statistics, until an admin sets its own."""
    default_delta: float = Field(default=1e-6, ge=0, lt=1)
    """The total δ likewise (only the Gaussian mechanism spends δ)."""
    max_release_epsilon: float = Field(default=2.0, gt=0)
    """The most ε one release may ask for: a larger one is refused as a mistake (at such ε the noise no
    longer hides anyone)."""
    max_release_delta: float = Field(default=1e-5, ge=0, lt=1)
    """The most δ one release may ask for: δ is a chance of failing outright, so it stays tiny."""


SECTIONS = {"privacy": PrivacySettings}
