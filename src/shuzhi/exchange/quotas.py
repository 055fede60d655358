"""Daily grant quotas: calls and rows reserved before a read starts, and what it did not use given back."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shuzhi.errors import TooLarge
from shuzhi.exchange.decision import Readable, require_active
from shuzhi.exchange.models import Grant, GrantUsage
from shuzhi.i18n import M_
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database


def _usage(session: Session, grant: Grant, day, *, lock: bool = False) -> GrantUsage:
    """The grant's usage row of the day, created if missing; locked for this transaction when asked
    (PostgreSQL row lock; SQLite's write transaction already serialises writers)."""
    table = GrantUsage.__table__
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(table).values(grant_id=grant.id, day=day, calls=0, rows=0).on_conflict_do_nothing()
    )
    query = select(GrantUsage).where(GrantUsage.grant_id == grant.id, GrantUsage.day == day)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one()


def used_today(session: Session, grant_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Calls and rows each grant has served today (UTC day, as quotas count), for display."""
    if not grant_ids:
        return {}
    rows = session.execute(
        select(GrantUsage.grant_id, GrantUsage.calls, GrantUsage.rows).where(
            GrantUsage.grant_id.in_(grant_ids), GrantUsage.day == utcnow().date()
        )
    )
    return {grant_id: (calls, served) for grant_id, calls, served in rows}


def reserve_quota(db: Database, readables: list[Readable], row_cap: int | None) -> int | None:
    """Count this call against each grant and reserve its rows; refuse when a daily quota is used up.

    The rows a call may return are reserved up front, under a row lock, so calls running at once
    cannot each spend the same remainder; what a call did not use is given back when it ends.
    Only a call under a quota writes here, in a write transaction of its own that checks again
    that each grant is still active (the decision was taken in a read transaction).
    Returns the call's row cap."""
    counted = [
        r
        for r in readables
        if r.grant is not None and (r.grant.calls_per_day is not None or r.grant.rows_per_day is not None)
    ]
    if not counted:
        return row_cap
    with db.write() as session:
        return _reserve(session, counted, row_cap)


def _reserve(session: Session, readables: list[Readable], row_cap: int | None) -> int | None:
    now = utcnow()
    today = now.date()
    quota_rows: list[tuple[Readable, GrantUsage]] = []
    cap = row_cap
    for r in readables:
        g = session.get(Grant, r.grant.id)
        require_active(session, g, now)
        usage = _usage(session, g, today, lock=True)
        if g.calls_per_day is not None and usage.calls >= g.calls_per_day:
            raise TooLarge(
                M_("daily call quota of grant %(id)s used up", id=g.id),
                grant_id=g.id,
                quota="calls_per_day",
            )
        if g.rows_per_day is not None:
            left = g.rows_per_day - usage.rows
            if left <= 0:
                raise TooLarge(
                    M_("daily row quota of grant %(id)s used up", id=g.id),
                    grant_id=g.id,
                    quota="rows_per_day",
                )
            cap = left if cap is None else min(cap, left)
            quota_rows.append((r, usage))
        usage.calls += 1
        r.call_counted = True
    for r, usage in quota_rows:
        usage.rows += cap
        r.reserved_rows = cap
    return cap


NOT_ADMITTED = frozenset({"busy", "too_many"})
"""Error classes of a query the fair queue never let run: no read happened, the call is given back."""


def settle_rows(session: Session, readables: list[Readable], rows: int, *, ran: bool = True) -> None:
    """Give back what each grant reserved for this call beyond the rows it returned — and the call
    itself when the query never ran (refused by the fair queue: the caller's load, not a read)."""
    today = utcnow().date()
    for r in readables:
        unused = r.reserved_rows - rows
        call_back = r.call_counted and not ran
        r.reserved_rows, r.call_counted = 0, False
        if r.grant is None or (unused <= 0 and not call_back):
            continue
        # Reserved today; a call that ends after midnight gives back to the day it reserved in.
        usage = session.scalar(
            select(GrantUsage)
            .where(GrantUsage.grant_id == r.grant.id, GrantUsage.day <= today)
            .order_by(GrantUsage.day.desc())
            .limit(1)
            .with_for_update()
        )
        if usage is not None:
            usage.rows = max(0, usage.rows - max(0, unused))
            usage.calls = max(0, usage.calls - call_back)
