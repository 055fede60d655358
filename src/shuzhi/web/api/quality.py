"""REST API of data quality: rule kinds, a dataset's rule set, runs, results and scores over versions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from shuzhi.catalog.service import get_dataset, get_version
from shuzhi.orgs.service import Principal
from shuzhi.quality import proposing, service
from shuzhi.quality.kinds import rule_kinds
from shuzhi.quality.proposal_models import STATES
from shuzhi.store.db import Database
from shuzhi.textlimits import Id, Name, Reason
from shuzhi.web.deps import current_principal, get_db
from shuzhi.web.openapi import error_responses

router = APIRouter(prefix="/quality", tags=["quality 数据质量"], responses=error_responses())

Caller = Annotated[Principal, Depends(current_principal)]
Db = Annotated[Database, Depends(get_db)]


ProposalState = Literal[STATES]  # the tuple subscripts as its members: one list of states
"""A proposal's states, stated in the schema so that no other value is schema-valid."""


class RuleSetBody(BaseModel):
    """A rule set (docs/quality.md): the rules, each a kind with its parameters, and the sample size."""

    model_config = ConfigDict(extra="forbid")
    rules: list[dict[str, Any]] = Field(max_length=500)
    sample_size: int | None = Field(default=None, ge=0, le=50)


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Id | None = None
    """The newest version when none is named."""


class OverrideBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)


@router.get("/kinds")
def list_kinds(_: Caller) -> dict:
    """The registered rule kinds: name, dimension, labels, parameters (JSON Schema)."""
    return {
        "kinds": [
            {
                "name": k.name,
                "dimension": k.dimension,
                "label_zh": k.label_zh,
                "label_en": k.label_en,
                "params": k.params.model_json_schema(),
            }
            for k in rule_kinds().values()
        ]
    }


@router.get("/datasets/{dataset}/rules")
def show_rules(dataset: Name, principal: Caller, db: Db, request: Request) -> dict:
    """The rule set in force (its newest revision). Values a rule holds of a field graded L3 or above
    (bounds, enumerations, patterns) are masked, the rule flagged `values_masked`, except for the
    owning department and admins (their read is audited)."""
    return service.read_rules(db, request.app.state.settings, principal, dataset)


@router.put("/datasets/{dataset}/rules")
def save_rules(dataset: Name, body: RuleSetBody, principal: Caller, db: Db) -> dict:
    """Save a new revision of the rule set (a steward of the owning department, or an admin). Each
    rule needs a `kind` this deployment knows, fields the dataset has and parameters of the kind's
    types (docs/quality.md); a wrong rule is refused with 422, naming it and why."""
    raw = body.model_dump(exclude_none=True)
    with db.write() as s:
        row = service.save_rules(s, principal, dataset, raw)
        return service.rules_out(get_dataset(s, dataset), row)


@router.post("/datasets/{dataset}/runs", status_code=201)
def run(dataset: Name, principal: Caller, db: Db, request: Request, body: RunBody | None = None) -> dict:
    """Run the rule set on a version (a steward of the owning department, or an admin)."""
    run_id = service.run(db, request.app.state.settings, principal, dataset, body.version if body else None)
    with db.read() as s:
        return service.run_out(s, service.get_run(s, run_id), results=True)


@router.get("/datasets/{dataset}/runs")
def list_runs(dataset: Name, _: Caller, db: Db) -> dict:
    """The dataset's runs, newest first (scores, no rows)."""
    with db.read() as s:
        ds = get_dataset(s, dataset)
        return {"dataset": ds.identifier, "runs": [service.run_out(s, r) for r in service.runs_of(s, ds)]}


@router.get("/datasets/{dataset}/scores")
def scores(dataset: Name, _: Caller, db: Db) -> dict:
    """The quality score over versions: each version's newest run, oldest version first."""
    with db.read() as s:
        ds = get_dataset(s, dataset)
        return {"dataset": ds.identifier, "versions": [service.run_out(s, r) for r in service.history(s, ds)]}


@router.get("/runs/{run_id}")
def show_run(run_id: Id, principal: Caller, db: Db, samples: bool = False) -> dict:
    """A run's per-rule results; `samples=true` adds the masked failing rows (owning department and
    admins only; the read is audited)."""
    if samples:
        with db.write() as s:
            return service.read_run(s, principal, run_id, samples=True)
    with db.read() as s:
        return service.read_run(s, principal, run_id)


@router.get("/datasets/{dataset}/versions/{number}/hold")
def hold(dataset: Name, number: Id, _: Caller, db: Db) -> dict:
    """Whether a version is held back from sharing and publishing by a blocking rule, and by which."""
    with db.read() as s:
        v = get_version(s, get_dataset(s, dataset), number)
        found = service.version_hold(s, v.id)
        return {"dataset": dataset, "version": number, "held": found is not None, **(found or {})}


@router.post("/datasets/{dataset}/versions/{number}/override")
def override(dataset: Name, number: Id, body: OverrideBody, principal: Caller, db: Db) -> dict:
    """Let a held version be shared and published (a steward of the owning department, or an admin), saying why."""
    with db.write() as s:
        row = service.override_block(s, principal, dataset, number, body.reason)
        return {
            "dataset": dataset,
            "version": number,
            "run_id": row.run_id,
            "reason": row.reason,
            "held": False,
        }


# -- proposed rules -----------------------------------------------------------------------------------


class ProposeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Id | None = None
    """The newest version when none is named."""


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: dict[str, Any] | None = None
    """The steward's edit of the proposed rule (a whole rule: kind and parameters); the proposed one when none."""


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason = Field(min_length=1)


@router.get("/datasets/{dataset}/proposals")
def list_proposals(
    dataset: Name,
    principal: Caller,
    db: Db,
    request: Request,
    state: ProposalState | None = None,
) -> dict:
    """Rules proposed from the dataset's versions (`state`: proposed, accepted, rejected, superseded).
    Bounds and values proposed for fields graded L3 or above are masked except for the owning
    department and admins (their read is audited)."""
    return proposing.read(db, request.app.state.settings, principal, dataset, state=state)


@router.post("/datasets/{dataset}/proposals", status_code=201)
def make_proposals(
    dataset: Name, principal: Caller, db: Db, request: Request, body: ProposeBody | None = None
) -> dict:
    """Propose rules from a version's statistics and grading (a steward of the owning department, or
    an admin); undecided proposals from before are superseded."""
    settings = request.app.state.settings
    ids = proposing.make(db, settings, principal, dataset, body.version if body else None)
    return proposing.read(db, settings, principal, dataset, ids=ids)


@router.post("/proposals/{proposal_id}/accept")
def accept_proposal(
    proposal_id: Id, principal: Caller, db: Db, request: Request, body: AcceptBody | None = None
) -> dict:
    """Accept a proposal, as proposed or edited: the rule is appended to the dataset's rule set as a
    new revision (checked as any saved rule set; a wrong rule is refused with 422 saying why)."""
    with db.write() as s:
        p = proposing.accept(s, principal, proposal_id, body.rule if body else None)
        dataset_id = p.dataset_id
    return _one(db, request, principal, dataset_id, proposal_id)


@router.post("/proposals/{proposal_id}/reject")
def reject_proposal(proposal_id: Id, body: RejectBody, principal: Caller, db: Db, request: Request) -> dict:
    """Reject a proposal, saying why; the same rule is not proposed again for the dataset."""
    with db.write() as s:
        dataset_id = proposing.reject(s, principal, proposal_id, body.reason).dataset_id
    return _one(db, request, principal, dataset_id, proposal_id)


def _one(db: Database, request: Request, principal: Principal, dataset_id: int, proposal_id: int) -> dict:
    found = proposing.read(db, request.app.state.settings, principal, dataset_id, ids=[proposal_id])
    return found["proposals"][0]
