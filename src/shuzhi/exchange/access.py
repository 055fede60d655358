"""Who may read what: the one policy decision every read channel goes through, and its audit.

`open_read` is the single entry point of the REST rows endpoint, governed SQL and bulk export:
each channel only turns its request into one consumer SELECT. For every dataset the query names
it decides the basis of access (owner, unconditional sharing, or an active grant), builds the
dataset's `GrantedTable` (fields, masks, row filter, hash key), checks quotas, runs the policy
rewrite and starts the sandboxed query. Every read and every denial appends ledger records.
"""

from __future__ import annotations

import contextlib
import functools
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlglot import exp

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_version
from shuzhi.config import Settings
from shuzhi.engine.failures import classify, failure
from shuzhi.engine.interface import ResultStream, engine_for
from shuzhi.errors import Forbidden, ShuzhiError, TooLarge
from shuzhi.exchange import events
from shuzhi.exchange.channels import Channel
from shuzhi.exchange.grades import version_grades
from shuzhi.exchange.masking import MaskRule, default_rule, grant_key, parse_rule
from shuzhi.exchange.models import Grant, GrantUsage
from shuzhi.exchange.policy import (
    GovernedQuery,
    GrantedTable,
    QueryLimits,
    govern,
    parse_query,
    query_sha256,
    referenced_names,
)
from shuzhi.ingest import integrity
from shuzhi.keyfile import create_once
from shuzhi.orgs.service import Principal
from shuzhi.storage import version_store
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

READER_ROLES = ("analyst", "steward")
"""Roles that read data. Admins and auditors administer and audit; they do not read by role alone."""


@dataclass
class Readable:
    """One dataset as this consumer may read it now."""

    dataset: Dataset
    version: DatasetVersion
    basis: str
    """'owner' · 'unconditional' · 'grant'"""
    grant: Grant | None
    table: GrantedTable
    purpose: str
    reserved_rows: int = 0
    """Rows reserved against the grant's daily quota for the running call."""
    call_counted: bool = False
    """The running call was counted against the grant's daily calls."""


ENDINGS = ("completed", "truncated", "abandoned", "failed")
"""How a read ended, as its ledger entry says: every row sent; cut by a row cap or quota; stopped
by the consumer (a client that hung up, a response closed early); ended by an error."""


@dataclass
class GovernedRead:
    """A running governed read: its batches, and the audit written when it closes.

    Whoever serves the read must close it however the serving ends (the faces do so in a
    ``finally``): a read closed before its batches ran out is audited as abandoned, with the rows
    handed out so far — exactly one ``data.read`` entry per read, whatever happens to the client.
    """

    stream: ResultStream
    query: GovernedQuery
    readables: list[Readable]
    _finish: Callable[[int, str, ShuzhiError | None], None]
    """Audits the read: rows handed out, how it ended, the error that ended it."""
    _done: bool = field(default=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    row_cap: int | None = None
    """At most this many rows will come (the channel's cap or what is left of a row quota)."""

    def batches(self) -> Iterator:
        """The result's record batches; the read is audited when they end, fail or are dropped.

        Errors come out as their error class (`shuzhi.engine.failures`), never the engine's text."""
        try:
            yield from self.stream
        except ShuzhiError as e:
            self.close("failed", e)
            raise
        except Exception as e:  # nothing but an error class leaves, whatever went wrong
            error = failure(classify(e))
            self.close("failed", error)
            raise error from None
        except BaseException:  # GeneratorExit: the consumer stopped reading; or an interrupt
            self.close("abandoned")
            raise
        self.close("truncated" if self.stream.truncated else "completed")

    def close(self, ended: str = "abandoned", error: ShuzhiError | None = None) -> None:
        """End the read (idempotent): release the query and write its one ledger entry."""
        with self._lock:
            if self._done:
                return
            self._done = True
        try:
            self.stream.close()
        finally:
            self._finish(self.stream.rows, ended, error)

    def cut(self, rows_sent: int) -> None:
        """End the read where its consumer stopped sending (a byte cap, a page): `rows_sent` rows
        went out of those fetched, and the ledger says it was cut short."""
        self.stream.rows = rows_sent
        self.stream.truncated = True
        self.close("truncated")

    def __enter__(self) -> GovernedRead:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema(self):
        return self.stream.schema


# -- keys -----------------------------------------------------------------------------------


def mask_master_key(settings: Settings) -> bytes:
    """The master key grant hash keys derive from; generated once into the keys directory."""
    return _master_key(settings.keys_dir / "exchange-mask.key")


@functools.lru_cache(maxsize=8)
def _master_key(path: Path) -> bytes:
    # Read once per process: every read decides through it, and the file never changes once made.
    if not path.exists():
        create_once(path, secrets.token_hex(32).encode())
    return bytes.fromhex(path.read_text().strip())


# -- the decision ----------------------------------------------------------------------------


def relation_name(version: DatasetVersion) -> str:
    return f"_sz_d{version.dataset_id}_v{version.number}"


def active_grants(session: Session, department_id: int, dataset_id: int, now: datetime) -> list[Grant]:
    return list(
        session.scalars(
            select(Grant)
            .where(
                Grant.department_id == department_id,
                Grant.dataset_id == dataset_id,
                Grant.revoked_at.is_(None),
                Grant.expires_at > now,
            )
            .order_by(Grant.id.desc())
        )
    )


def _latest_grant(session: Session, department_id: int, dataset_id: int) -> Grant | None:
    return session.scalar(
        select(Grant)
        .where(Grant.department_id == department_id, Grant.dataset_id == dataset_id)
        .order_by(Grant.id.desc())
        .limit(1)
    )


def grant_masks(grant: Grant | None, grades: dict[str, str], fields: list[str]) -> dict[str, MaskRule]:
    """Each field's mask: the grant's explicit rule, else its grade's default (L4: hashed)."""
    explicit = (grant.masks or {}) if grant is not None else {}
    return {
        name: parse_rule(explicit[name]) if name in explicit else default_rule(grades.get(name))
        for name in fields
    }


def decide(
    session: Session,
    settings: Settings,
    principal: Principal,
    dataset: Dataset,
    *,
    version: int | None = None,
    grant_id: int | None = None,
    purpose: str | None = None,
) -> Readable:
    """The access decision for one dataset: owner, unconditional, or an active grant — or Forbidden."""
    if principal.user_id is None or not principal.has(*READER_ROLES):
        raise Forbidden(
            "只有数据使用者（分析员）可以读取数据 / only analysts may read data",
            hint="admin and auditor roles do not read data",
        )
    now = utcnow()
    fields = [f.name for f in dataset.fields]
    if principal.department_id == dataset.department_id:
        basis, grant = "owner", None
        key_scope = f"owner:{dataset.id}"
        bound_purpose = purpose or "本部门数据 / own department's data"
    # A dataset reclassified as not shared stays closed even to grants made before (any channel).
    elif dataset.share_type != "none" and (grant_id is not None or dataset.share_type == "conditional"):
        grant = _grant_for(session, principal, dataset, grant_id, now)
        basis, fields = "grant", list(grant.fields)
        key_scope = f"grant:{grant.id}"
        bound_purpose = grant.purpose
    elif dataset.share_type == "unconditional":
        if not principal.has("analyst"):
            raise Forbidden("无条件共享数据须由分析员读取 / unconditional data is read by analysts")
        basis, grant = "unconditional", None
        key_scope = f"unconditional:{principal.department_id}:{dataset.id}"
        bound_purpose = purpose or "无条件共享 / unconditional sharing"
    else:
        raise Forbidden(
            f"数据集 {dataset.identifier} 不予共享 / dataset is not shared", hint=dataset.share_basis or None
        )
    ver = get_version(session, dataset, version)
    if basis == "owner":
        masks = {name: MaskRule() for name in fields}
    else:
        # Masked by the grades of the version read, never those of a newer, cleaner-looking one.
        masks = grant_masks(grant, version_grades(session, settings, dataset, ver), fields)
    table = GrantedTable(
        name=dataset.identifier.lower(),
        relation=relation_name(ver),
        fields=tuple((f.name, f.type) for f in dataset.fields),
        masks=masks,
        row_filter=grant.row_filter if grant is not None else None,
        key=grant_key(mask_master_key(settings), key_scope),
        row_quota_grant=grant.id if grant is not None and grant.rows_per_day is not None else None,
    )
    return Readable(
        dataset=dataset, version=ver, basis=basis, grant=grant, table=table, purpose=bound_purpose
    )


def _grant_for(
    session: Session, principal: Principal, dataset: Dataset, grant_id: int | None, now: datetime
) -> Grant:
    if grant_id is not None:
        grant = session.get(Grant, grant_id)
        if grant is None or grant.dataset_id != dataset.id or grant.department_id != principal.department_id:
            raise Forbidden(
                f"授权 {grant_id} 不适用于该数据集或部门 / grant does not cover this dataset",
                dataset=dataset.identifier,
            )
        _require_active(session, grant, now)
        return grant
    found = active_grants(session, principal.department_id, dataset.id, now)
    if found:
        return found[0]
    last = _latest_grant(session, principal.department_id, dataset.id)
    if last is not None:
        _require_active(session, last, now)
    raise Forbidden(
        f"没有数据集 {dataset.identifier} 的有效授权，请先提交共享申请 / "
        "no active grant for this dataset: submit a sharing request",
        dataset=dataset.identifier,
    )


def _require_active(session: Session, grant: Grant, now: datetime) -> None:
    if grant.revoked_at is not None:
        raise Forbidden(f"授权 {grant.id} 已撤销 / grant {grant.id} was revoked", grant_id=grant.id)
    if grant.expires_at <= now:
        raise Forbidden(f"授权 {grant.id} 已过期 / grant {grant.id} has expired", grant_id=grant.id)


# -- quotas -----------------------------------------------------------------------------------


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
        _require_active(session, g, now)
        usage = _usage(session, g, today, lock=True)
        if g.calls_per_day is not None and usage.calls >= g.calls_per_day:
            raise TooLarge(
                f"授权 {g.id} 今日调用次数已用完 / daily call quota of grant {g.id} used up",
                grant_id=g.id,
                quota="calls_per_day",
            )
        if g.rows_per_day is not None:
            left = g.rows_per_day - usage.rows
            if left <= 0:
                raise TooLarge(
                    f"授权 {g.id} 今日行数额度已用完 / daily row quota of grant {g.id} used up",
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


def _settle_rows(session: Session, readables: list[Readable], rows: int, *, ran: bool = True) -> None:
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


# -- audit ------------------------------------------------------------------------------------


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
) -> None:
    """One 'data.denied' entry, in its own transaction (the refused read has none to join).

    `datasets` are (id, identifier) pairs, taken while the refused read's session was open."""
    denied = events.DataDenied(
        channel=Channel(channel).value,
        datasets=[identifier for _id, identifier in datasets],
        query_sha256=sha,
        purpose=purpose,
        reason=error.message[:500],
        refused=error.detail.get("refused") or [],
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


def _record_reads(
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
                ),
                user_id=principal.user_id,
                department_id=principal.department_id,
                dataset_id=r.dataset.id,
                outcome=outcome,
            )
        _settle_rows(s, readables, rows, ran=error not in NOT_ADMITTED)


# -- the one entry point ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReadRequest:
    """What a channel asks for: one consumer SELECT, and how the consumer wants it run."""

    sql: str
    channel: Channel
    grant_ids: dict[str, int] = field(default_factory=dict)
    """Dataset identifier -> grant to read it under, when the consumer holds several."""
    versions: dict[str, int] = field(default_factory=dict)
    purpose: str | None = None
    max_rows: int | None = None
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "channel", Channel(self.channel))  # an unknown channel: ValueError


def _resolve_names(session: Session, names: list[str]) -> dict[str, Dataset]:
    found: dict[str, Dataset] = {}
    for name in names:
        ds = session.scalar(select(Dataset).where(func.lower(Dataset.identifier) == name.lower()))
        if ds is not None:
            found[name] = ds
    return found


def open_read(db: Database, settings: Settings, principal: Principal, req: ReadRequest) -> GovernedRead:
    """Decide, rewrite and start one governed read; audited whether it is refused, fails or succeeds."""
    started = time.perf_counter()
    sha = query_sha256(req.sql)
    refs: list[tuple[int, str]] = []
    try:
        with db.read() as s:
            limits = QueryLimits(settings.exchange.query_max_chars, settings.exchange.query_max_depth)
            tree = parse_query(req.sql, limits=limits)  # the one parse of the consumer's SQL
            names = referenced_names(tree)
            by_name = _resolve_names(s, names)
            datasets = list(by_name.values())
            refs = [(d.id, d.identifier) for d in datasets]
            missing = [n for n in names if n not in by_name]
            if missing:
                raise Forbidden(
                    "未获授权或不存在的数据集 / dataset not granted or unknown: " + ", ".join(missing),
                    refused=missing,
                )
            readables = [
                decide(
                    s,
                    settings,
                    principal,
                    ds,
                    version=_pick(req.versions, ds),
                    grant_id=_pick(req.grant_ids, ds),
                    purpose=req.purpose,
                )
                for ds in datasets
            ]
            query = govern(req.sql, {r.table.name: r.table for r in readables}, parsed=tree)
            relations = {r.table.relation: _version_path(settings, r.version) for r in readables}
            expected = [integrity.Expected.of(settings, r.version) for r in readables]
        cap = reserve_quota(db, readables, req.max_rows)
    except ShuzhiError as e:
        record_denial(db, principal, e, channel=req.channel, sha=sha, datasets=refs, purpose=req.purpose)
        raise

    def record(rows: int, ended: str, error: ShuzhiError | None = None) -> None:
        if error is not None and classify(error) == "damaged":
            # A page checksum failed in a file that hashed right before: hash again and mark it.
            with contextlib.suppress(ShuzhiError):
                integrity.require_intact(db, settings, expected, fresh=True)
        if error is not None:
            _locate(error, tree, readables)
        duration_ms = (time.perf_counter() - started) * 1000
        _record_reads(
            db,
            principal,
            readables,
            query,
            channel=req.channel,
            rows=rows,
            duration_ms=duration_ms,
            ended=ended,
            error=classify(error) if error is not None else None,
        )

    timeout = req.timeout_s or settings.exchange.query_timeout_s
    try:
        # Outside the transaction: hashing a large version the first time takes a while.
        integrity.require_intact(db, settings, expected)
        stream = engine_for(settings).stream(
            query.sql,
            relations,
            tree=query.tree,
            timeout_s=timeout,
            max_rows=cap,
            owner=(principal.user_id, principal.department_id),
            idle_timeout_s=settings.exchange.stream_idle_timeout_s,
        )
    except ShuzhiError as e:
        record(0, "failed", e)
        raise
    read = GovernedRead(stream=stream, query=query, readables=readables, _finish=record, row_cap=cap)
    # The reader stalled past the idle deadline and its worker was taken back (fair queueing).
    stream.on_abandon = lambda: read.close("abandoned", failure("stream_abandoned"))
    return read


_CONSTRUCTS: dict[str, tuple[tuple[type[exp.Expression], ...], str]] = {
    "conversion_error": ((exp.Cast,), "CAST"),
    "out_of_range": ((exp.Cast, exp.Add, exp.Sub, exp.Mul, exp.Pow), "CAST + - * ^"),
    "division_by_zero": ((exp.IntDiv, exp.Mod, exp.Div), "// % /"),
}


def _locate(error: ShuzhiError, tree: exp.Expression, readables: list[Readable]) -> None:
    """Say where a classed engine error may come from — from the consumer's own query (`tree`, as
    parsed: the constructs of that kind and the columns under them) or the grant's row filter,
    never from the engine's text."""
    kinds, label = _CONSTRUCTS.get(classify(error), ((), ""))
    if not kinds or error.where:
        return
    columns: list[str] = []
    for node in tree.find_all(*kinds):
        if isinstance(node, exp.TryCast):
            continue  # TRY_CAST gives NULL, it does not fail
        columns += [c.name for c in node.find_all(exp.Column) if c.name not in columns]
    if columns:
        error.where = f"{label} 涉及字段 / over columns: {', '.join(columns[:12])}"
        return
    filtered = [r.grant.id for r in readables if r.grant is not None and r.grant.row_filter]
    if filtered:
        error.where = f"授权 {filtered[0]} 的行过滤条件 / the row filter of grant {filtered[0]}"


def _pick(mapping: dict[str, int], ds: Dataset) -> int | None:
    for key, value in mapping.items():
        if key.lower() == ds.identifier.lower():
            return value
    return None


def _version_path(settings: Settings, version: DatasetVersion) -> Path:
    if version.damaged_at is not None:
        raise integrity.refused(version.dataset_id, version.number)
    # A missing file is damage like any other: `integrity.require_intact` marks and refuses it.
    return version_store(settings).path(version.path)
