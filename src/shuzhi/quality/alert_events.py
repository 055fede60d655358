"""The audit events of the quality alert inbox: an alert raised, acknowledged, resolved."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import Event, event


@event("quality.alert_raised", "质量预警产生", "quality alert raised")
class AlertRaised(Event):
    """An early warning entered the inbox: what it reports and the figures behind it."""

    alert_id: int
    kind: str
    key: str
    severity: str
    figures: dict[str, Any]


@event("quality.alert_acknowledged", "质量预警确认", "quality alert acknowledged")
class AlertAcknowledged(Event):
    """A steward of the department (or an admin) took the alert in hand."""

    alert_id: int
    kind: str
    note: str | None


@event("quality.alert_resolved", "质量预警办结", "quality alert resolved")
class AlertResolved(Event):
    """The alert was closed, saying how; the same condition may raise a new alert later."""

    alert_id: int
    kind: str
    note: str


EVENTS = (AlertRaised, AlertAcknowledged, AlertResolved)
