"""The audit events of data quality: a rule set saved, a run completed, failing-row samples read, a block overridden, values of rules and proposals read."""

from __future__ import annotations

from typing import Any

from shuzhi.ledger.events import Event, event


@event("quality.rules_saved", "质量规则保存", "quality rules saved")
class RulesSaved(Event):
    """A new revision of a dataset's rule set, checked and in force."""

    revision: int
    sha256: str
    rules: int
    kinds: list[str]
    blocking: list[str]
    """Names of the rules marked blocking."""


@event("quality.run_completed", "质量检查完成", "quality run completed")
class RunCompleted(Event):
    """A rule set revision ran on a version: its scores, and the versions it read."""

    run_id: int
    version: int
    revision: int
    rows: int
    score: float | None
    dimensions: dict[str, Any]
    failed_rules: list[str]
    blocked: bool
    references: list[dict[str, Any]]
    """Versions of other datasets read by referential rules: dataset and version number."""


@event("quality.samples_read", "质量问题样例查看", "quality failing rows read")
class SamplesRead(Event):
    """Someone of the owning department, or an admin, read the masked failing rows of a run."""

    run_id: int
    version: int
    rules: list[str]


@event("quality.block_overridden", "质量阻断放行", "quality block overridden")
class BlockOverridden(Event):
    """A steward let a version that failed a blocking rule be shared and published, saying why."""

    run_id: int
    version: int
    rules: list[str]
    """The blocking rules the version failed."""
    reason: str


@event("quality.rules_proposed", "质量规则建议生成", "quality rules proposed")
class RulesProposed(Event):
    """Rules were proposed from a version's statistics and grading, for a steward to decide on."""

    version: int
    proposals: list[str]
    """Their keys, `kind(fields)`."""


@event("quality.proposal_accepted", "质量规则建议采纳", "quality rule proposal accepted")
class ProposalAccepted(Event):
    """A steward accepted a proposed rule, as proposed or edited: it was appended to the rule set."""

    proposal_id: int
    key: str
    edited: bool
    revision: int


@event("quality.proposal_rejected", "质量规则建议拒绝", "quality rule proposal rejected")
class ProposalRejected(Event):
    """A steward rejected a proposed rule, saying why: it is not proposed again for the dataset."""

    proposal_id: int
    key: str
    reason: str


@event("quality.proposal_values_read", "质量规则建议取值查看", "quality proposal values read")
class ProposalValuesRead(Event):
    """Someone of the owning department, or an admin, was shown the values (bounds, enumerations)
    proposed for fields graded sensitive."""

    fields: list[str]


@event("quality.rule_values_read", "质量规则取值查看", "quality rule values read")
class RuleValuesRead(Event):
    """Someone of the owning department, or an admin, was shown the values (bounds, enumerations,
    patterns) a dataset's rule set holds of fields graded sensitive."""

    revision: int
    fields: list[str]


EVENTS = (
    RulesSaved,
    RunCompleted,
    SamplesRead,
    BlockOverridden,
    RulesProposed,
    ProposalAccepted,
    ProposalRejected,
    ProposalValuesRead,
    RuleValuesRead,
)
