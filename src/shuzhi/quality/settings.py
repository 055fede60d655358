"""The `[quality]` settings section: when a metric counts as an anomaly, and when providers are warned."""

from __future__ import annotations

from pydantic import BaseModel, Field


class QualitySettings(BaseModel):
    anomaly_history: int = Field(default=10, ge=1, le=100)
    """Earlier versions of a dataset a new version's metrics are compared with."""
    anomaly_min_points: int = Field(default=4, ge=2)
    """With at least this many earlier values a metric is judged by its z-score; with fewer, by its
    change against the previous version."""
    anomaly_z: float = Field(default=3.0, gt=0)
    """|z| at or beyond which a metric is anomalous (z against the earlier values' mean and sample
    standard deviation)."""
    anomaly_min_change: float = Field(default=0.05, ge=0)
    """A change smaller than this (relative; for null shares, in share points) is never an anomaly,
    whatever its z-score: a very steady history must not turn noise into alerts."""
    anomaly_rows_change: float = Field(default=0.3, gt=0)
    """Relative change of the row count against the previous version that is an anomaly (0.3: 30%
    fewer or more rows)."""
    anomaly_null_rise: float = Field(default=0.2, gt=0, le=1)
    """Rise of a column's null share against the previous version, in share points, that is an
    anomaly (0.2: from 5% to 25% empty)."""
    anomaly_distinct_change: float = Field(default=0.5, gt=0)
    """Relative change of a column's distinct count against the previous version that is an anomaly."""
    anomaly_mean_change: float = Field(default=0.5, gt=0)
    """Relative change of a numeric column's mean against the previous version that is an anomaly."""
    score_drop_points: float = Field(default=10.0, gt=0)
    """A version whose quality score fell this many points below the previous version's raises an alert."""
    late_grace_days: int = Field(default=1, ge=0)
    """Days after a dataset's next update was due before it counts as late."""
    supervision_window_days: int = Field(default=90, ge=1)
    """The provider supervision's window: versions and answered share requests of these last days."""
    share_late_alert: int = Field(default=1, ge=1)
    """Share requests answered late or still past their deadline (in the window) at which a
    department's stewards are warned."""
    scorecard_alert_below: float = Field(default=60.0, ge=0, le=100)
    """A department whose scorecard score is below this is warned."""
    sweep_interval_s: float = Field(default=3600.0, ge=0)
    """Seconds between runs of the supervision sweep job (`quality.sweep`); 0: never by itself."""


SECTIONS = {"quality": QualitySettings}
