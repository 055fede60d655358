"""Reconciliation of the security state with the ledger: the tables must hold the rows its entries imply.

Each domain states, through the `ledger_state` hook, which events change its part of the state, how
they replay into expected rows (a pure function of the entries, in order) and how its tables are read.
The ledger itself imports no domain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.i18n import M_, joined
from shuzhi.ledger.log import format_ts
from shuzhi.ledger.models import LedgerEntry

Key = tuple
Rows = dict[Key, dict[str, Any]]
MAX_LISTED = 50
"""Differences described in an answer; all are counted."""


class _Unknown:
    """A value the ledger did not record (an entry written before it did): never compared."""

    def __repr__(self) -> str:
        return "unknown"


UNKNOWN: Any = _Unknown()


@dataclass
class Table:
    """The rows of one table as the ledger implies them."""

    key: tuple[str, ...]
    """Names of the key's parts, for the report."""
    rows: Rows = field(default_factory=dict)
    unrecorded: set[Key] = field(default_factory=set)
    """Key prefixes whose rows the ledger did not record (older entries): not compared."""

    def loose(self, key: Key) -> bool:
        return bool(self.unrecorded) and any(key[:n] in self.unrecorded for n in range(1, len(key) + 1))


class Replayer(Protocol):
    def feed(self, doc: dict) -> None:
        """Apply one `ok` entry (the canonical entry as a dict), in sequence order."""

    def tables(self) -> dict[str, Table]:
        """The expected rows, by table name."""


@dataclass(frozen=True)
class StateSource:
    """One domain's part of the security state."""

    name: str
    events: frozenset[str]
    """Events that change it; only their `ok` entries are replayed."""
    replayer: Callable[[], Replayer]
    """A fresh replayer: entries in, expected rows out."""
    read: Callable[[Session], dict[str, Rows]]
    """The rows as the tables hold them, in the same shape."""


@dataclass(frozen=True)
class Difference:
    table: str
    key: dict[str, Any]
    columns: dict[str, dict[str, Any]]
    """Column -> {"ledger": …, "table": …}; empty when the whole row is missing or extra."""
    where: str
    """'ledger' (the row is only in the ledger), 'table' (only in the table) or 'both'."""

    def as_dict(self) -> dict:
        return {"table": self.table, "key": self.key, "where": self.where, "columns": self.columns}

    def message(self) -> str:
        row = f"{self.table} ({', '.join(f'{k}={_show(v)}' for k, v in self.key.items())})"
        if self.where == "table":
            return M_("%(row)s: row in the table that the ledger never recorded", row=row)
        if self.where == "ledger":
            return M_("%(row)s: row the ledger recorded is not in the table", row=row)
        each = [
            M_(
                "%(column)s: ledger %(ledger)s, table %(table)s",
                column=c,
                ledger=_show(v["ledger"]),
                table=_show(v["table"]),
            )
            for c, v in self.columns.items()
        ]
        differs = joined(each)
        return M_("%(row)s: %(differences)s", row=row, differences=differs)


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


# -- helpers the domains share ---------------------------------------------------------------------


def moment(value: datetime | str | None) -> str | None:
    """A time as the state compares it: UTC, microseconds, whatever form it was stored in."""
    if value is None or value is UNKNOWN:
        return value
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return format_ts(value)


def digest(secret_hash: str | None) -> str | None:
    """A short fingerprint of a stored credential hash: tells a swapped hash from the recorded one
    and reveals nothing that would help to log in (the hash itself is already one-way)."""
    if secret_hash is None:
        return None
    return hashlib.sha256(b"shuzhi.state\x00" + secret_hash.encode("utf-8")).hexdigest()[:16]


# -- replay and comparison -------------------------------------------------------------------------


class Replay:
    """Entries fed in sequence order, each handed to the sources that replay its event."""

    def __init__(self, sources: Sequence[StateSource]) -> None:
        self.replayers = [s.replayer() for s in sources]
        self.by_event: dict[str, list[Callable[[dict], None]]] = {}
        for source, replayer in zip(sources, self.replayers, strict=True):
            for event in source.events:
                self.by_event.setdefault(event, []).append(replayer.feed)
        self.events = frozenset(self.by_event)

    def feed(self, doc: dict) -> None:
        if doc.get("outcome") != "ok":
            return
        for feed in self.by_event.get(doc.get("event"), ()):
            feed(doc)

    def tables(self) -> dict[str, Table]:
        out: dict[str, Table] = {}
        for replayer in self.replayers:
            out.update(replayer.tables())
        return out


def expected_state(sources: Sequence[StateSource], docs: Iterable[dict]) -> dict[str, Table]:
    """The state the entries imply (pure: entries in, rows out)."""
    replay = Replay(sources)
    for doc in docs:
        replay.feed(doc)
    return replay.tables()


def actual_state(session: Session, sources: Sequence[StateSource]) -> dict[str, Rows]:
    out: dict[str, Rows] = {}
    for source in sources:
        out.update(source.read(session))
    return out


def compare(expected: dict[str, Table], actual: dict[str, Rows]) -> Iterator[Difference]:
    """Every row that is only in the ledger, only in the table, or in both with other values."""
    for name in sorted(set(expected) | set(actual)):
        table = expected.get(name) or Table(key=())
        have = actual.get(name, {})
        for key in sorted(set(table.rows) | set(have), key=_sort_key):
            named = dict(zip(table.key, key, strict=False)) if table.key else {"key": list(key)}
            want, got = table.rows.get(key), have.get(key)
            if want is None:
                if not table.loose(key):
                    yield Difference(name, named, {}, "table")
            elif got is None:
                yield Difference(name, named, {}, "ledger")
            else:
                cols = {
                    c: {"ledger": v, "table": got.get(c)}
                    for c, v in want.items()
                    if v is not UNKNOWN and got.get(c) != v
                }
                if cols:
                    yield Difference(name, named, cols, "both")


def _sort_key(key: Key) -> tuple:
    return tuple((0, v) if isinstance(v, int) else (1, str(v)) for v in key)


def rows_compared(actual: dict[str, Rows]) -> int:
    return sum(len(rows) for rows in actual.values())


# -- the registered sources ------------------------------------------------------------------------


def registered_sources() -> list[StateSource]:
    """Every domain's state source, from the `ledger_state` hook."""
    from shuzhi.hooks import plugin_manager  # the hook registry loads the domains: only when asked

    return [s for found in plugin_manager().hook.ledger_state() for s in found]


def security_entries(session: Session, events: Iterable[str], chunk: int = 5000) -> Iterator[dict]:
    """The `ok` entries of these events in sequence order, through the event index (no full scan)."""
    names = sorted(events)
    after = -1
    while True:
        rows = session.execute(
            select(LedgerEntry.seq, LedgerEntry.entry)
            .where(LedgerEntry.event.in_(names), LedgerEntry.outcome == "ok", LedgerEntry.seq > after)
            .order_by(LedgerEntry.seq)
            .limit(chunk)
        ).all()
        for _, text in rows:
            try:
                doc = json.loads(text)
            except ValueError:
                continue  # a damaged entry is full verification's to report
            if isinstance(doc, dict):
                yield doc
        if len(rows) < chunk:
            return
        after = rows[-1][0]


def reconcile(session: Session, sources: Sequence[StateSource] | None = None) -> tuple[int, list[Difference]]:
    """Replay the security entries and compare with the tables, without checking the hashes
    (`verify_ledger` does both in one pass). Returns (rows compared, differences)."""
    sources = registered_sources() if sources is None else sources
    replay = Replay(sources)
    for doc in security_entries(session, replay.events):
        replay.feed(doc)
    actual = actual_state(session, sources)
    return rows_compared(actual), list(compare(replay.tables(), actual))
