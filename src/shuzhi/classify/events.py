"""The audit events of grading: a version graded, a review recorded, an alert resolved."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import ABSENT, Event, event, key


@event("grade.assigned", "分级结果", "grade assigned")
class GradeAssigned(Event):
    version: int
    level: str
    data_class: str | None
    rule: str | None
    status: str
    previous: str | None
    sensitive_columns: dict[str, str]
    column_levels: dict[str, str]
    overrides: Any
    """The reviews in force when it was graded."""


@event("grade.overridden", "分级复核", "grade reviewed")
class GradeOverridden(Event):
    field: str | None
    from_: Any = key("from")
    to: Any
    action: str
    reason: str
    version: int
    dataset_level: str
    data_class: str | None
    column_levels: dict[str, str]
    overrides: Any


@event("grade.alert_resolved", "分级提醒处理", "grading alert resolved")
class AlertResolved(Event):
    alert_id: int
    kind: str
    field: str | None
    note: str = ABSENT


@event("grade.lowering_requested", "分级下调待批准", "grade lowering awaiting approval")
class LoweringRequested(Event):
    request_id: int
    field: str | None
    from_: str = key("from")
    """The level in force, which holds until an admin approves."""
    to: str
    derived: str
    reason: str
    version: int


@event("grade.lowering_decided", "分级下调审批", "grade lowering decided")
class LoweringDecided(Event):
    request_id: int
    field: str | None
    decision: str
    """approved (the lower level now holds) or rejected (the higher level stays)."""
    to: str
    requested_by: str
    note: str | None


EVENTS = (GradeAssigned, GradeOverridden, AlertResolved, LoweringRequested, LoweringDecided)
