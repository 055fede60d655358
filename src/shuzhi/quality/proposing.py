"""Proposed rules of a dataset: made from a version, read (values masked), accepted or rejected.

Who may do what: a steward of the owning department (or an admin) makes proposals and decides on
them; anyone signed in reads them. The bounds and values a range or an enumeration proposes are
data: those of fields graded L3 or above (or never graded) are masked as failing-row samples are
(`masking`, shared with the rule set's reading) for everyone but the owning department's members and admins, whose read of
them is in the ledger. Accepting appends the rule to the rule set through `service.save_rules` (the
same checks, a new revision, `quality.rules_saved`); a rejected proposal's key is not proposed
again for the dataset. Session services never commit; `make` and `read` own their transactions
(the version file is scanned outside any).
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog.models import Dataset
from shuzhi.catalog.service import get_dataset, get_version, require_manage
from shuzhi.errors import Conflict, InvalidInput, NotFound
from shuzhi.i18n import M_, Pair
from shuzhi.orgs.service import Principal
from shuzhi.quality import events, ruleset, service
from shuzhi.quality.kinds import Context, RuleError, family, rule_kinds
from shuzhi.quality.masking import Shown, viewer
from shuzhi.quality.proposal_models import STATES, RuleProposal
from shuzhi.quality.proposals import Detected, Thresholds, column_stats, covered_keys, propose
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

UNGRADED = ("none", "unknown")
"""Grading categories that say nothing a kind could check."""
STATE_LABELS = {
    "proposed": ("待决定", "proposed"),
    "accepted": ("已采纳", "accepted"),
    "rejected": ("已拒绝", "rejected"),
    "superseded": ("已被新版本的建议取代", "superseded"),
}


def thresholds(settings) -> Thresholds:
    s = settings.quality_proposals
    return Thresholds(s.enum_max_values, s.enum_max_ratio, s.unique_min_rows)


def _fits(rule: dict, kinds: dict, ctx: Context) -> bool:
    """The rule names the catalog's fields and its kind takes them (no store or scan needed)."""
    kind = kinds.get(rule["kind"])
    if kind is None:
        return False
    try:
        params = kind.params.model_validate({k: v for k, v in rule.items() if k != "kind"})
        if any(f not in ctx.columns for f in kind.fields_of(params)):
            return False
        kind.check(params, ctx)
    except (ValidationError, RuleError):
        return False
    return True


def make(
    db: Database, settings, principal: Principal, ref: str | int, number: int | None = None
) -> list[int]:
    """Propose rules from a version (the newest by default): its statistics in one scan, what grading
    found in it, less what the rule set has and what stewards rejected. Undecided proposals from
    before are superseded. Returns the new proposals' ids."""
    from shuzhi.classify.readmodel import version_columns
    from shuzhi.classify.scanning import require_intact
    from shuzhi.storage import version_store

    with db.read() as s:
        ds = get_dataset(s, ref)
        require_manage(principal, ds)
        version = get_version(s, ds, number)
        require_intact(settings, version)
        rules = service.current_rules(s, ds)
        rejected = s.scalars(
            select(RuleProposal.key).where(RuleProposal.dataset_id == ds.id, RuleProposal.state == "rejected")
        )
        covered = covered_keys(rules.body["rules"] if rules else []) | set(rejected)
        found = {
            name: Detected(
                c["category"], Pair(c["category_zh"], c["category_en"]), c["detector"], c["confidence"]
            )
            for name, c in version_columns(s, settings, version).items()
            if c["category"] not in UNGRADED
        }
        ctx = service.dataset_context(ds)
        path = version_store(settings).path(version.path)
        columns = {c["name"]: family(c["type"]) for c in version.schema or []}
        dataset_id, version_id, version_number = ds.id, version.id, version.number
    limits_ = thresholds(settings)
    rows, stats = column_stats(path, columns, limits_)
    kinds = rule_kinds()
    made = [p for p in propose(rows, stats, found, limits_, covered) if _fits(p.rule, kinds, ctx)]
    with db.write() as s:
        s.execute(
            update(RuleProposal)
            .where(RuleProposal.dataset_id == dataset_id, RuleProposal.state == "proposed")
            .values(state="superseded")
        )
        added = [
            RuleProposal(
                dataset_id=dataset_id,
                version_id=version_id,
                version_number=version_number,
                key=p.key,
                kind=p.rule["kind"],
                rule=p.rule,
                reason=p.reason.both(),
                evidence=p.evidence,
                state="proposed",
                created_by_id=principal.user_id,
            )
            for p in made
        ]
        s.add_all(added)
        s.flush()
        ledger.append(
            s,
            events.RulesProposed(version=version_number, proposals=[p.key for p in made]),
            user_id=principal.user_id,
            department_id=principal.department_id,
            dataset_id=dataset_id,
        )
        return [p.id for p in added]


def get_proposal(session: Session, proposal_id: int) -> RuleProposal:
    found = session.get(RuleProposal, proposal_id)
    if found is None:
        raise NotFound(M_("No rule proposal %(id)s", id=proposal_id), where="proposal")
    return found


def _undecided(session: Session, principal: Principal, proposal_id: int) -> tuple[RuleProposal, Dataset]:
    p = get_proposal(session, proposal_id)
    ds = session.get(Dataset, p.dataset_id)
    require_manage(principal, ds)
    if p.state != "proposed":
        raise Conflict(
            M_(
                "Rule proposal %(id)s is %(state)s already: only a proposed rule is decided on",
                id=p.id,
                state=p.state,
            ),
            where="proposal",
        )
    return p, ds


def _decided(p: RuleProposal, principal: Principal, state: str) -> None:
    p.state, p.decided_at, p.decided_by_id = state, utcnow(), principal.user_id


def accept(
    session: Session, principal: Principal, proposal_id: int, edited: dict | None = None
) -> RuleProposal:
    """Append the proposed rule, or the steward's edit of it, to the dataset's rule set: checked as
    any saved rule set is, saved as its next revision."""
    p, ds = _undecided(session, principal, proposal_id)
    rule = p.rule if edited is None else edited
    current = service.current_rules(session, ds)
    body = current.body if current else {"rules": [], "sample_size": ruleset.DEFAULT_SAMPLE}
    try:
        row = service.save_rules(
            session, principal, ds.id, {"rules": [*body["rules"], rule], "sample_size": body["sample_size"]}
        )
    except InvalidInput as e:
        raise InvalidInput(
            M_("The rule of proposal %(id)s is refused: %(problem)s", id=p.id, problem=e.message),
            where="rule",
        ) from None
    _decided(p, principal, "accepted")
    p.accepted_rule, p.revision = row.body["rules"][-1], row.revision
    ledger.append(
        session,
        events.ProposalAccepted(
            proposal_id=p.id, key=p.key, edited=edited is not None, revision=row.revision
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    return p


def reject(session: Session, principal: Principal, proposal_id: int, reason: str) -> RuleProposal:
    """Reject a proposal, saying why: its key is not proposed again for the dataset."""
    reason = (limits.check(reason, limits.REASON, "reason") or "").strip()
    if not reason:
        raise InvalidInput(M_("A rejection needs a reason"), where="reason")
    p, ds = _undecided(session, principal, proposal_id)
    _decided(p, principal, "rejected")
    p.decision_reason = reason
    ledger.append(
        session,
        events.ProposalRejected(proposal_id=p.id, key=p.key, reason=reason),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    return p


# -- reading ------------------------------------------------------------------------------------------


def proposal_out(p: RuleProposal, dataset: str, shown: Shown, kinds: dict) -> dict:
    rule, masked = shown.rule(p.rule, kinds)
    evidence, _ = shown(p.evidence, p.rule.get("field"))
    accepted, accepted_masked = shown.rule(p.accepted_rule, kinds)
    return {
        "id": p.id,
        "dataset": dataset,
        "version": p.version_number,
        "key": p.key,
        "kind": p.kind,
        "rule": rule,
        "reason": p.reason,
        "evidence": evidence,
        "state": p.state,
        "values_masked": masked or accepted_masked,
        "accepted_rule": accepted,
        "revision": p.revision,
        "decision_reason": p.decision_reason,
        "created_at": p.created_at.isoformat(),
        "decided_at": p.decided_at.isoformat() if p.decided_at else None,
    }


def read(
    db: Database,
    settings,
    principal: Principal,
    ref: str | int,
    *,
    state: str | None = None,
    ids: list[int] | None = None,
) -> dict:
    """A dataset's proposals, oldest first (only those in `state`, or of `ids`, when given), values of
    sensitive fields masked unless the reader is of the owning department or an admin, whose being
    shown them is then written to the ledger before the answer leaves."""
    if state is not None and state not in STATES:
        raise InvalidInput(
            M_("unknown state %(state)s (known: %(known)s)", state=state, known=", ".join(STATES)),
            where="state",
        )
    with db.read() as s:
        ds = get_dataset(s, ref)
        query = select(RuleProposal).where(RuleProposal.dataset_id == ds.id).order_by(RuleProposal.id)
        if state is not None:
            query = query.where(RuleProposal.state == state)
        if ids is not None:
            query = query.where(RuleProposal.id.in_(ids))
        shown, kinds = viewer(s, settings, principal, ds), rule_kinds()
        out = [proposal_out(p, ds.identifier, shown, kinds) for p in s.scalars(query)]
        dataset_id, identifier = ds.id, ds.identifier
    revealed = shown.revealed
    if revealed:
        with db.write() as s:
            ledger.append(
                s,
                events.ProposalValuesRead(fields=sorted(revealed)),
                user_id=principal.user_id,
                department_id=principal.department_id,
                dataset_id=dataset_id,
            )
    return {"dataset": identifier, "proposals": out}
