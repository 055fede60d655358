"""The one entry point of every governed read: `open_read`, its request and the running read.

`open_read` serves the REST rows endpoint, governed SQL and bulk export alike: each channel only
turns its request into one consumer SELECT. For every dataset the query names it takes the access
decision (`decision.decide`: basis, `GrantedTable`), reserves quotas (`quotas.reserve_quota`),
runs the policy rewrite and starts the sandboxed query. Every read and every denial appends
ledger records (`read_audit`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlglot import exp

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.config import Settings
from shuzhi.engine.failures import classify, failure
from shuzhi.engine.interface import ResultStream, engine_for
from shuzhi.errors import Forbidden, ShuzhiError
from shuzhi.exchange import aliases
from shuzhi.exchange.channels import Channel
from shuzhi.exchange.decision import Readable, decide
from shuzhi.exchange.policy import (
    GovernedQuery,
    QueryLimits,
    govern,
    parse_query,
    query_sha256,
    referenced_names,
)
from shuzhi.exchange.quotas import reserve_quota
from shuzhi.exchange.read_audit import record_denial, record_reads
from shuzhi.i18n import M_
from shuzhi.ingest import integrity
from shuzhi.orgs.service import Principal
from shuzhi.storage import version_store
from shuzhi.store.db import Database


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


def _resolve_names(session: Session, names: list[str]) -> tuple[dict[str, Dataset], dict[int, str]]:
    """Each name the query reads -> its dataset, by identifier, else by SQL-safe alias; a name
    that is neither is left out (and refused by the caller). Also the catalog's aliases (dataset id
    -> alias), settled once and only when some name is not an identifier; else empty."""
    found: dict[str, Dataset] = {}
    named: dict[int, str] | None = None
    for name in names:
        ds = session.scalar(select(Dataset).where(func.lower(Dataset.identifier) == name.lower()))
        if ds is None:
            if named is None:
                named = aliases.catalog_aliases(session)
            owner = next((ds_id for ds_id, alias in named.items() if alias == name.lower()), None)
            ds = session.get(Dataset, owner) if owner is not None else None
        if ds is not None:
            found[name] = ds
    return found, named or {}


def open_read(db: Database, settings: Settings, principal: Principal, req: ReadRequest) -> GovernedRead:
    """Decide, rewrite and start one governed read; audited whether it is refused, fails or succeeds."""
    started = time.perf_counter()
    sha = query_sha256(req.sql)
    text = req.sql[: settings.exchange.query_max_chars]  # the hash covers all of a longer one
    refs: list[tuple[int, str]] = []
    try:
        with db.read() as s:
            limits = QueryLimits(settings.exchange.query_max_chars, settings.exchange.query_max_depth)
            tree = parse_query(req.sql, limits=limits)  # the one parse of the consumer's SQL
            names = referenced_names(tree)
            by_name, named = _resolve_names(s, names)
            datasets = list({d.id: d for d in by_name.values()}.values())  # one dataset, two names
            refs = [(d.id, d.identifier) for d in datasets]
            missing = [n for n in names if n not in by_name]
            if missing:
                raise Forbidden(
                    M_(
                        "%(reason)s: %(names)s",
                        reason=M_("dataset not granted or unknown"),
                        names=", ".join(missing),
                    ),
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
            if any(n.lower() != d.identifier.lower() for n, d in by_name.items()):
                # Written by an alias: the same table answers to it, with every check unchanged.
                for r in readables:
                    r.table = dataclasses.replace(r.table, alias=named.get(r.dataset.id))
            query = govern(req.sql, {r.table.name: r.table for r in readables}, parsed=tree)
            relations = {r.table.relation: _version_path(settings, r.version) for r in readables}
            expected = [integrity.Expected.of(settings, r.version) for r in readables]
        cap = reserve_quota(db, readables, req.max_rows)
    except ShuzhiError as e:
        record_denial(
            db, principal, e, channel=req.channel, sha=sha, datasets=refs, purpose=req.purpose, sql=text
        )
        raise

    def record(rows: int, ended: str, error: ShuzhiError | None = None) -> None:
        if error is not None and classify(error) == "damaged":
            # A page checksum failed in a file that hashed right before: hash again and mark it.
            with contextlib.suppress(ShuzhiError):
                integrity.require_intact(db, settings, expected, fresh=True)
        if error is not None:
            _locate(error, tree, readables)
        duration_ms = (time.perf_counter() - started) * 1000
        record_reads(
            db,
            principal,
            readables,
            query,
            channel=req.channel,
            rows=rows,
            duration_ms=duration_ms,
            ended=ended,
            error=classify(error) if error is not None else None,
            sql=text,
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
        error.where = M_("%(label)s over columns: %(columns)s", label=label, columns=", ".join(columns[:12]))
        return
    filtered = [r.grant.id for r in readables if r.grant is not None and r.grant.row_filter]
    if filtered:
        error.where = M_("the row filter of grant %(grant)s", grant=filtered[0])


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
