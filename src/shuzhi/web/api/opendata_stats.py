"""REST API of differentially private statistics: releasing them, reading them, and privacy budgets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from shuzhi.opendata import budget, stats
from shuzhi.orgs.service import Principal
from shuzhi.textlimits import Id, Name, Reason
from shuzhi.web.deps import WRITE, current_principal, read_session

router = APIRouter(prefix="/opendata/statistics", tags=["open data statistics 开放统计"])


class ReleaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dataset: Name
    version: int | None = Field(default=None, ge=1)
    spec: dict[str, Any]
    """epsilon, delta, mechanism ('laplace' or 'gaussian'), confidence, contributions, figures: see
    docs/opendata-dp.md."""


class BudgetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    epsilon: float = Field(ge=0, le=budget.MAX_TOTAL_EPSILON)
    delta: float = Field(default=0.0, ge=0, le=budget.MAX_TOTAL_DELTA)
    reason: Reason | None = None


@router.post("", status_code=201)
def release(
    body: ReleaseBody,
    request: Request,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Release the spec's figures over a dataset version, paid from its privacy budget (409 with what
    is left when it cannot pay). Owning department's stewards and admins. Beyond the schema, the spec
    is refused with 422 naming the field: ε not above 0 or above the release limit, δ out of range or
    not fitting the mechanism, a sum or mean without bounds, groups not declared, a column the
    version lacks (docs/opendata-dp.md)."""
    settings = request.app.state.settings
    out = stats.release_statistics(session, settings, principal, body.dataset, body.version, body.spec)
    return stats.as_dict(session, out)


@router.get("")
def list_releases(
    dataset: Name, session: Session = Depends(read_session), principal: Principal = Depends(current_principal)
) -> dict:
    """A dataset's statistics releases, newest first."""
    found = stats.list_releases(session, principal, dataset)
    return {"releases": [stats.as_dict(session, r) for r in found]}


@router.get("/budgets/{dataset}")
def read_budget(
    dataset: Name,
    request: Request,
    session: Session = Depends(read_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """A dataset's privacy budget and its ledger (every spend and change): owning department's
    stewards and admins."""
    return budget.budget_ledger(session, request.app.state.settings, principal, dataset)


@router.put("/budgets/{dataset}")
def set_budget(
    dataset: Name,
    body: BudgetBody,
    request: Request,
    session: Session = WRITE,
    principal: Principal = Depends(current_principal),
) -> dict:
    """Set a dataset's total ε and δ (platform admins; never below what is spent)."""
    settings = request.app.state.settings
    budget.set_budget(session, settings, principal, dataset, body.epsilon, body.delta, reason=body.reason)
    session.flush()
    return budget.budget_ledger(session, settings, principal, dataset)


@router.get("/{release_id}")
def read_release(
    release_id: Id,
    session: Session = Depends(read_session),
    principal: Principal = Depends(current_principal),
) -> dict:
    """One stored release: its spec, its figures with their accuracy, the budget it spent."""
    return stats.as_dict(session, stats.get_release(session, principal, release_id))
