"""The audit events of privacy budgets: statistics released (a spend) and a budget's total set."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("opendata.stats_released", "差分隐私统计发布", "differentially private statistics released")
class StatsReleased(Event):
    release_id: int
    dataset: str
    version: int
    figures: list[str]
    mechanism: str
    epsilon: float
    delta: float
    epsilon_left: float
    delta_left: float


@event("opendata.budget_set", "隐私预算设定", "privacy budget set")
class BudgetSet(Event):
    dataset: str
    epsilon_total: float
    delta_total: float
    epsilon_before: float
    delta_before: float
    reason: str | None


EVENTS = (StatsReleased, BudgetSet)
