"""Audit events of operators' actions on the platform."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("job.cancelled", "任务取消", "job cancelled")
class JobCancelled(Event):
    job_id: int
    job: str
    state: str
    """The run's state when it was cancelled: queued (it never starts) or running (it stops at its
    next progress report)."""
    by: str
    """Who cancelled it: a user name, or `cli:<operating-system user>` from the command line."""


EVENTS = (JobCancelled,)
