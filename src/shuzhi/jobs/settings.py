"""The `[jobs]` settings section: the runner, its broker, threads, heartbeats, how long runs are kept."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class JobsSettings(BaseModel):
    runner: Literal["inprocess", "redis"] = "inprocess"
    """Where background jobs run: 'inprocess' on threads of the server (no broker needed), or
    'redis' on `shuzhi worker` processes fed through the Redis broker at `broker_url`."""
    broker_url: str = "redis://127.0.0.1:6379/0"
    """Redis URL of the broker runner."""
    namespace: str = Field(default="shuzhi", min_length=1, max_length=100)
    """Prefix of every Redis key the broker runner uses (deployments sharing one Redis differ in it)."""
    threads: int = Field(default=2, ge=1, le=64)
    """Jobs one process runs at once (the server's in-process runner, or one `shuzhi worker`)."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    """Seconds between a running job's heartbeats (progress is stored with them); a run whose worker
    missed six is taken to have died and goes to a worker again, which retries or fails it."""
    keep_days: float = Field(default=30.0, gt=0)
    """Days an ended job run stays listed before it is forgotten."""


SECTIONS = {"jobs": JobsSettings}
