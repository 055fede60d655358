"""Privacy budgets per dataset: what is left, spending it atomically, an admin setting it, its ledger."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset
from shuzhi.catalog.service import get_dataset, require_manage
from shuzhi.config import Settings
from shuzhi.errors import Conflict, InvalidInput
from shuzhi.i18n import M_
from shuzhi.opendata.budget_events import BudgetSet
from shuzhi.opendata.budget_models import BudgetEntry, PrivacyBudget
from shuzhi.orgs.service import Principal, require_admin
from shuzhi.store.base import utcnow

SLACK = 1e-9
"""Sums of floats drift by far less than this: a spend that meets the total exactly is not refused
for the last bits of a rounding."""

MAX_TOTAL_EPSILON = 100.0
MAX_TOTAL_DELTA = 0.01


class BudgetExceeded(Conflict):
    """A release would spend more than its dataset's privacy budget has left; says how much is left."""

    code = "privacy_budget_exceeded"


def get_budget(session: Session, settings: Settings, ds: Dataset) -> PrivacyBudget:
    """The dataset's budget, made at the settings' default on first use (concurrent first uses make one)."""
    found = session.scalar(select(PrivacyBudget).where(PrivacyBudget.dataset_id == ds.id))
    if found is not None:
        return found
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(PrivacyBudget)
        .values(
            dataset_id=ds.id,
            epsilon_total=settings.privacy.default_epsilon,
            delta_total=settings.privacy.default_delta,
            epsilon_spent=0.0,
            delta_spent=0.0,
            updated_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["dataset_id"])
    )
    return session.scalars(select(PrivacyBudget).where(PrivacyBudget.dataset_id == ds.id)).one()


def current(session: Session, settings: Settings, ds: Dataset) -> PrivacyBudget:
    """The dataset's budget as it stands, for reading: the default one (not stored) before any use."""
    found = session.scalar(select(PrivacyBudget).where(PrivacyBudget.dataset_id == ds.id))
    if found is not None:
        return found
    return PrivacyBudget(
        dataset_id=ds.id,
        epsilon_total=settings.privacy.default_epsilon,
        delta_total=settings.privacy.default_delta,
        epsilon_spent=0.0,
        delta_spent=0.0,
    )


def left(budget: PrivacyBudget) -> tuple[float, float]:
    """(ε, δ) still to spend."""
    return (
        max(budget.epsilon_total - budget.epsilon_spent, 0.0),
        max(budget.delta_total - budget.delta_spent, 0.0),
    )


def _exceeded(
    ds: Dataset, epsilon: float, delta: float, eps_left: float, delta_left: float
) -> BudgetExceeded:
    return BudgetExceeded(
        M_(
            "The privacy budget of dataset %(dataset)s has ε %(eps_left)s and δ %(delta_left)s left:"
            " this release needs ε %(eps)s and δ %(delta)s",
            dataset=ds.identifier,
            eps_left=format(eps_left, ".6g"),
            delta_left=format(delta_left, ".6g"),
            eps=format(epsilon, ".6g"),
            delta=format(delta, ".6g"),
        ),
        where="epsilon" if epsilon > eps_left + SLACK else "delta",
        hint=M_("ask for less, or ask an admin to raise the dataset's budget"),
        epsilon_left=eps_left,
        delta_left=delta_left,
    )


def require_affordable(
    session: Session, settings: Settings, ds: Dataset, epsilon: float, delta: float
) -> None:
    """Refuse at once a release its budget cannot pay for (before any noise is drawn). `spend` still
    decides: another release may spend in between."""
    eps_left, delta_left = left(current(session, settings, ds))
    if epsilon > eps_left + SLACK or delta > delta_left + SLACK:
        raise _exceeded(ds, epsilon, delta, eps_left, delta_left)


def spend(
    session: Session,
    settings: Settings,
    ds: Dataset,
    epsilon: float,
    delta: float,
) -> tuple[float, float]:
    """Draw (ε, δ) from the dataset's budget in the caller's transaction; returns what is left. The
    caller notes what it was spent on (`record_spend`) once that exists.

    One conditional UPDATE: on PostgreSQL a concurrent spend waits for this row's lock and then checks
    its condition against the committed totals; on SQLite writers are serialised. Either way two
    releases can never both pass the total."""
    budget = get_budget(session, settings, ds)
    row = session.execute(
        update(PrivacyBudget)
        .where(
            PrivacyBudget.id == budget.id,
            PrivacyBudget.epsilon_spent + epsilon <= PrivacyBudget.epsilon_total + SLACK,
            PrivacyBudget.delta_spent + delta <= PrivacyBudget.delta_total + SLACK,
        )
        .values(
            epsilon_spent=PrivacyBudget.epsilon_spent + epsilon,
            delta_spent=PrivacyBudget.delta_spent + delta,
            updated_at=utcnow(),
        )
        .returning(
            PrivacyBudget.epsilon_total - PrivacyBudget.epsilon_spent,
            PrivacyBudget.delta_total - PrivacyBudget.delta_spent,
        )
        .execution_options(synchronize_session=False)
    ).one_or_none()
    session.refresh(budget)
    if row is None:
        raise _exceeded(ds, epsilon, delta, *left(budget))
    return max(row[0], 0.0), max(row[1], 0.0)


def record_spend(session, actor, ds, release_id: int, spent: tuple[float, float], remaining) -> None:
    """The budget ledger's line for a spend on a release."""
    _entry(session, actor, ds, "spend", *spent, remaining, release_id)


def _entry(session, actor, ds, kind, epsilon, delta, remaining, release_id=None) -> None:
    session.add(
        BudgetEntry(
            dataset_id=ds.id,
            kind=kind,
            release_id=release_id,
            epsilon=epsilon,
            delta=delta,
            epsilon_left=remaining[0],
            delta_left=remaining[1],
            user_id=actor.user_id,
            actor=actor.signature,
        )
    )


def _total(value, name: str, most: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= most:
        raise InvalidInput(
            M_(
                "%(field)s must be a number from 0 to %(max)s, not %(value)r",
                field=name,
                max=most,
                value=value,
            ),
            where=name,
        )
    return float(value)


def set_budget(
    session: Session,
    settings: Settings,
    actor: Principal,
    dataset: str | int,
    epsilon: float,
    delta: float,
    *,
    reason: str | None = None,
) -> PrivacyBudget:
    """A dataset's total budget, set by a platform admin; never below what is already spent."""
    require_admin(actor)
    epsilon = _total(epsilon, "epsilon", MAX_TOTAL_EPSILON)
    delta = _total(delta, "delta", MAX_TOTAL_DELTA)
    ds = get_dataset(session, dataset)
    budget = get_budget(session, settings, ds)
    before = (budget.epsilon_total, budget.delta_total)
    changed = session.execute(
        update(PrivacyBudget)
        .where(
            PrivacyBudget.id == budget.id,
            PrivacyBudget.epsilon_spent <= epsilon + SLACK,
            PrivacyBudget.delta_spent <= delta + SLACK,
        )
        .values(epsilon_total=epsilon, delta_total=delta, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(budget)
    if not changed:
        raise Conflict(
            M_(
                "Dataset %(dataset)s has already spent ε %(eps)s and δ %(delta)s: its budget cannot be set below that",
                dataset=ds.identifier,
                eps=format(budget.epsilon_spent, ".6g"),
                delta=format(budget.delta_spent, ".6g"),
            ),
            where="epsilon",
        )
    _entry(session, actor, ds, "set", epsilon, delta, left(budget))
    ledger.append(
        session,
        BudgetSet(
            dataset=ds.identifier,
            epsilon_total=epsilon,
            delta_total=delta,
            epsilon_before=before[0],
            delta_before=before[1],
            reason=reason,
        ),
        user_id=actor.user_id,
        department_id=ds.department_id,
        dataset_id=ds.id,
    )
    return budget


def budget_ledger(session: Session, settings: Settings, actor: Principal, dataset: str | int) -> dict:
    """A dataset's budget and every spend and change of it, oldest first: for the owning department's
    stewards and the admins only."""
    ds = get_dataset(session, dataset)
    require_manage(actor, ds)
    budget = current(session, settings, ds)
    entries = session.scalars(
        select(BudgetEntry).where(BudgetEntry.dataset_id == ds.id).order_by(BudgetEntry.id)
    ).all()
    eps_left, delta_left = left(budget)
    return {
        "dataset": ds.identifier,
        "epsilon_total": budget.epsilon_total,
        "delta_total": budget.delta_total,
        "epsilon_spent": budget.epsilon_spent,
        "delta_spent": budget.delta_spent,
        "epsilon_left": eps_left,
        "delta_left": delta_left,
        "entries": [
            {
                "id": e.id,
                "kind": e.kind,
                "release_id": e.release_id,
                "epsilon": e.epsilon,
                "delta": e.delta,
                "epsilon_left": e.epsilon_left,
                "delta_left": e.delta_left,
                "at": e.created_at.isoformat(),
                "by": e.actor,
            }
            for e in entries
        ],
    }
