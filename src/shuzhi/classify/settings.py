"""The `[classify]` settings section: sampling, rule and detector files, grading thresholds."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class ClassifySettings(BaseModel):
    sample_rows: int = 10_000
    """Rows sampled per column for grading; a column with fewer rows is read whole."""
    rules_file: Path | None = None
    """A deployment's grading rules (YAML); the shipped defaults when unset."""
    detectors_file: Path | None = None
    """A deployment's declared detectors (YAML), added to the built-in ones."""
    important_data_min_persons: int = 1_000_000
    min_sensitive_values: int = Field(5, ge=1)
    """Valid values (check digit passed) of a personal category that grade a column at least as that
    category, flag it for review and raise an alert, however small their share of the column."""


SECTIONS = {"classify": ClassifySettings}
