"""The audit of governed reads: one `data.read` entry per dataset read, one `data.denied` per refusal."""

from __future__ import annotations

from shuzhi import ledger
from shuzhi.errors import ShuzhiError
from shuzhi.exchange import events
from shuzhi.exchange.channels import Channel
from shuzhi.exchange.decision import Readable
from shuzhi.exchange.models import Grant
from shuzhi.exchange.policy import GovernedQuery
from shuzhi.exchange.quotas import NOT_ADMITTED, settle_rows
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database

ENDINGS = ("completed", "truncated", "abandoned", "failed")
"""How a read ended, as its ledger entry says: every row sent; cut by a row cap or quota; stopped
by the consumer (a client that hung up, a response closed early); ended by an error."""


def _origin(principal: Principal, sql: str | None) -> dict:
    """What the entry says of the query's text and of how the reader came in (absent when unknown)."""
    return {
        "query": sql if sql is not None else ledger.ABSENT,
        "face": principal.face or ledger.ABSENT,
        "os_user": principal.os_user or ledger.ABSENT,
    }


def _audit_detail(
    r: Readable,
    *,
    channel: Channel,
    sha: str,
    fields: list[str],
    rows: int | None,
    duration_ms: float,
    ended: str,
    error: str | None = None,
    origin: dict,
) -> events.DataRead:
    return events.DataRead(
        channel=Channel(channel).value,
        dataset=r.dataset.identifier,
        version=r.version.number,
        basis=r.basis,
        grant_id=r.grant.id if r.grant is not None else None,
        fields=fields,
        purpose=r.purpose,
        query_sha256=sha,
        rows=rows,
        ended=ended,
        duration_ms=round(duration_ms, 1),
        error=error or ledger.ABSENT,  # the error class: the engine's text quotes the values it failed on
        **origin,
    )


def record_denial(
    db: Database,
    principal: Principal,
    error: ShuzhiError,
    *,
    channel: Channel,
    sha: str,
    datasets: list[tuple[int, str]],
    purpose: str | None = None,
    sql: str | None = None,
) -> None:
    """One 'data.denied' entry, in its own transaction (the refused read has none to join).

    `datasets` are (id, identifier) pairs, taken while the refused read's session was open; `sql`
    the consumer's text (capped by the caller at the longest query accepted)."""
    denied = events.DataDenied(
        channel=Channel(channel).value,
        datasets=[identifier for _id, identifier in datasets],
        query_sha256=sha,
        purpose=purpose,
        reason=error.message[:500],
        refused=error.detail.get("refused") or [],
        **_origin(principal, sql),
    )
    with db.write() as s:
        ledger.append(
            s,
            denied,
            user_id=principal.user_id,
            department_id=principal.department_id,
            dataset_id=datasets[0][0] if datasets else None,
            outcome="denied",
        )


def record_reads(
    db: Database,
    principal: Principal,
    readables: list[Readable],
    q: GovernedQuery,
    *,
    channel: Channel,
    rows: int,
    duration_ms: float,
    ended: str,
    error: str | None,
    sql: str | None = None,
) -> None:
    outcome = "failed" if ended == "failed" else "ok"
    with db.write() as s:
        for r in readables:
            grant = s.get(Grant, r.grant.id) if r.grant is not None else None
            if grant is not None:
                r.grant = grant
            fields = q.datasets.get(r.table.name, [])
            ledger.append(
                s,
                _audit_detail(
                    r,
                    channel=channel,
                    sha=q.query_sha256,
                    fields=fields,
                    rows=rows,
                    duration_ms=duration_ms,
                    ended=ended,
                    error=error,
                    origin=_origin(principal, sql),
                ),
                user_id=principal.user_id,
                department_id=principal.department_id,
                dataset_id=r.dataset.id,
                outcome=outcome,
            )
        settle_rows(s, readables, rows, ran=error not in NOT_ADMITTED)
