"""The one append path of the audit ledger, and reads of the stored tree (roots, proofs)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from shuzhi import hooks
from shuzhi.errors import InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.ledger import merkle
from shuzhi.ledger.events import Event, type_of
from shuzhi.ledger.models import LedgerEntry
from shuzhi.store.base import utcnow
from shuzhi.textlimits import LEDGER_TEXT

ENTRY_VERSION = 1
OUTCOMES = ("ok", "denied", "failed")
LOCK_KEY = 0x53485A484C454447
"""pg_advisory_xact_lock key ("SHZHLEDG") that serialises appends on PostgreSQL."""


# -- canonical serialisation -----------------------------------------------------------------------


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    if isinstance(value, (Decimal,)):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def canonical_json(obj: dict) -> str:
    """Sorted keys, no whitespace, non-ASCII kept as UTF-8, no NaN: the bytes the leaf hashes."""
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    )


def format_ts(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def build_entry(
    seq: int,
    created_at: datetime,
    event: str,
    *,
    user_id: int | None,
    department_id: int | None,
    dataset_id: int | None,
    outcome: str,
    detail: dict | None,
    prev: bytes | None,
) -> str:
    """The canonical entry text. `prev` chains each entry to the leaf hash before it, so an edit
    that recomputes one leaf hash still shows up at the very entry that was changed."""
    return canonical_json(
        {
            "v": ENTRY_VERSION,
            "seq": seq,
            "ts": format_ts(created_at),
            "event": event,
            "user_id": user_id,
            "department_id": department_id,
            "dataset_id": dataset_id,
            "outcome": outcome,
            "detail": detail or {},
            "prev": prev.hex() if prev else None,
        }
    )


def check_entry(event: str, outcome: str, detail: dict | None) -> None:
    """Refuse an entry whose event name, outcome or detail the ledger cannot take."""
    if not event or len(event) > 64 or event != event.strip():
        raise InvalidInput(M_("invalid audit event name"), where="event", event=event)
    if outcome not in OUTCOMES:
        raise InvalidInput(M_("outcome must be ok, denied or failed"), where="outcome")
    if detail is not None and not isinstance(detail, dict):
        raise InvalidInput(M_("detail must be a dict"), where="detail")


def bounded(value: Any) -> Any:
    """The detail with every string longer than LEDGER_TEXT cut, its length and SHA-256 kept.

    Callers bound their input, but the ledger must never grow by what a caller typed: one entry
    of a refused read once carried a 5 MB purpose."""
    if isinstance(value, str):
        if len(value) <= LEDGER_TEXT:
            return value
        digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
        return f"{value[: LEDGER_TEXT // 4]}… [cut: {len(value)} chars, sha256 {digest}]"
    if isinstance(value, dict):
        return {bounded(k): bounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [bounded(v) for v in value]
    return value


# -- append -----------------------------------------------------------------------------------------


class _Statements:
    """The append path's SQL for one dialect, run on the driver's own cursor inside the session's
    transaction. Appends are the hottest write in the platform; SQLAlchemy's per-statement
    machinery cost more than the statements themselves (see benchmarks/ledger.py)."""

    COLUMNS = (
        "seq",
        "created_at",
        "event",
        "user_id",
        "department_id",
        "dataset_id",
        "outcome",
        "entry",
        "leaf_hash",
    )

    def __init__(self, dialect) -> None:
        def mark(name: str) -> str:
            return f":{name}" if dialect.name == "sqlite" else f"%({name})s"

        self.postgres = dialect.name == "postgresql"
        self.lock = "SELECT pg_advisory_xact_lock(%(k)s)"
        self.head = "SELECT seq, leaf_hash FROM ledger_entries ORDER BY seq DESC LIMIT 1"
        self.insert_entry = f"INSERT INTO ledger_entries ({', '.join(self.COLUMNS)}) VALUES ({', '.join(map(mark, self.COLUMNS))})"
        self.insert_node = f"INSERT INTO ledger_nodes (level, idx, hash) VALUES ({mark('level')}, {mark('idx')}, {mark('hash')})"
        # created_at is stored exactly as SQLAlchemy would store it (SQLite keeps text)
        column_type = LedgerEntry.__table__.c.created_at.type
        self.bind_time = column_type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)


_STATEMENTS: dict[str, _Statements] = {}


def _driver(session: Session):
    """(statements, driver cursor) on the session's connection; the transaction is begun first
    (on SQLite that is BEGIN IMMEDIATE)."""
    conn = session.connection()
    dialect = conn.dialect
    statements = _STATEMENTS.get(dialect.name)
    if statements is None:
        statements = _STATEMENTS[dialect.name] = _Statements(dialect)
    return statements, conn.connection.dbapi_connection.cursor()


def lock_ledger(session: Session) -> None:
    """Serialise ledger writers until the caller's transaction ends.

    SQLite needs nothing: every transaction already starts with BEGIN IMMEDIATE (one writer).
    PostgreSQL takes a transaction-scoped advisory lock, so the next writer reads the head only
    after this transaction has committed or rolled back: sequence numbers stay gap-free."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})


def _read_head(statements: _Statements, cur) -> tuple[int, bytes | None]:
    cur.execute(statements.head)
    row = cur.fetchone()
    return (0, None) if row is None else (row[0] + 1, bytes(row[1]))


def head(session: Session) -> tuple[int, bytes | None]:
    """(next sequence number, leaf hash of the last entry)."""
    statements, cur = _driver(session)
    try:
        return _read_head(statements, cur)
    finally:
        cur.close()


def completed_nodes(
    size: int, leaf: bytes, left_of: dict[merkle.NodeKey, bytes]
) -> list[tuple[int, int, bytes]]:
    """Perfect subtrees that leaf number size-1 completes, as (level, idx, hash), bottom up.

    `left_of` must hold the left siblings at levels >= 1 (see `left_siblings`); level 0's left
    sibling is the previous leaf, passed in `left_of` too."""
    out = []
    h, level, idx = leaf, 0, size - 1
    while idx & 1:
        h = merkle.node_hash(left_of[(level, idx - 1)], h)
        level, idx = level + 1, idx >> 1
        out.append((level, idx, h))
    return out


def left_siblings(size: int) -> list[merkle.NodeKey]:
    """Stored hashes that appending leaf number size-1 needs: the left sibling at each level it
    completes."""
    keys, level, idx = [], 0, size - 1
    while idx & 1:
        keys.append((level, idx - 1))
        level, idx = level + 1, idx >> 1
    return keys


def append(
    session: Session,
    record: Event,
    *,
    user_id: int | None = None,
    department_id: int | None = None,
    dataset_id: int | None = None,
    outcome: str = "ok",
) -> LedgerEntry:
    """Append one audit entry, a declared event (`shuzhi.ledger.events`), inside the caller's
    transaction (never commits).

    The action and its entry therefore commit or roll back together. On PostgreSQL the ledger
    lock is held until that transaction ends, so append late in long transactions. The returned
    entry is not attached to the session: it is written with the driver's own statements, several
    times cheaper than an ORM flush on the hottest write path."""
    event, detail = type_of(record).name, record.detail()
    check_entry(event, outcome, detail)
    statements, cur = _driver(session)
    try:
        if statements.postgres:
            cur.execute(statements.lock, {"k": LOCK_KEY})
        seq, prev = _read_head(statements, cur)
        created_at = utcnow()
        text_ = build_entry(
            seq,
            created_at,
            event,
            user_id=user_id,
            department_id=department_id,
            dataset_id=dataset_id,
            outcome=outcome,
            detail=bounded(detail),
            prev=prev,
        )
        values = {
            "seq": seq,
            "created_at": created_at,
            "event": event,
            "user_id": user_id,
            "department_id": department_id,
            "dataset_id": dataset_id,
            "outcome": outcome,
            "entry": text_,
            "leaf_hash": merkle.leaf_hash(text_.encode("utf-8")),
        }
        cur.execute(statements.insert_entry, values | {"created_at": statements.bind_time(created_at)})
        nodes = _new_nodes(session, seq, values["leaf_hash"], prev)
        if nodes:
            cur.executemany(statements.insert_node, nodes)
    finally:
        cur.close()
    announce(session, [record])
    return LedgerEntry(**values)


def announce(session: Session, records: list[Event]) -> None:
    """Tell the `ledger_appended` implementations (if any) of appended events, in the same transaction."""
    hook = hooks.plugin_manager().hook.ledger_appended
    if not hook.get_hookimpls():
        return
    for record in records:
        hook(session=session, record=record)


def _new_nodes(session: Session, seq: int, leaf: bytes, prev: bytes | None) -> list[dict]:
    """Rows for the perfect subtrees that leaf `seq` completes."""
    needed = left_siblings(seq + 1)
    if not needed:
        return []
    known = {(0, seq - 1): prev}
    inner = {k for k in needed if k[0] > 0}
    if inner:
        known.update(fetch_nodes(session, inner))
    return [{"level": lv, "idx": i, "hash": h} for lv, i, h in completed_nodes(seq + 1, leaf, known)]


# -- reading the stored tree ------------------------------------------------------------------------


def _nodes_sql(keys: set[merkle.NodeKey], with_size: bool) -> str:
    """One statement for every stored hash in `keys` (and the log's last seq): one round trip.

    The numbers are inlined: they are ints computed here, never caller text, and a literal
    statement skips SQLAlchemy's compiler, which costs more than the query on this hot path.
    Nodes are asked for as (level = L AND idx IN (…)) per level, which SQLite and PostgreSQL both
    answer from the primary key (SQLite scans the table for a row-value (level, idx) IN list)."""
    leaves = sorted(int(i) for lv, i in keys if lv == 0)
    by_level: dict[int, list[int]] = {}
    for lv, i in keys:
        if lv > 0:
            by_level.setdefault(int(lv), []).append(int(i))
    parts = []
    if leaves:
        parts.append(
            f"SELECT 0, seq, leaf_hash FROM ledger_entries WHERE seq IN ({','.join(map(str, leaves))})"
        )
    if by_level:
        where = " OR ".join(
            f"(level = {lv} AND idx IN ({','.join(map(str, sorted(ids)))}))"
            for lv, ids in sorted(by_level.items())
        )
        parts.append(f"SELECT level, idx, hash FROM ledger_nodes WHERE {where}")
    if with_size or not parts:
        parts.append("SELECT -1, (SELECT max(seq) FROM ledger_entries), NULL")
    return " UNION ALL ".join(parts)


def _read(
    session: Session, keys: set[merkle.NodeKey], *, size: int | None = None
) -> dict[merkle.NodeKey, bytes]:
    """Stored perfect-subtree hashes for `keys` (leaves from the entries, the rest from nodes);
    with `size`, also checks in the same statement that the log has at least that many entries."""
    out: dict[merkle.NodeKey, bytes] = {}
    last = None
    for lv, i, h in session.connection().exec_driver_sql(_nodes_sql(keys, size is not None)):
        if lv == -1:
            last = i
        else:
            out[(lv, i)] = bytes(h)
    if size is not None:
        _check_size(size, 0 if last is None else last + 1)
    return out


def fetch_nodes(session: Session, keys: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
    return _read(session, keys)


def tree_size(session: Session) -> int:
    last = session.connection().execute(select(func.max(LedgerEntry.seq))).scalar()
    return 0 if last is None else last + 1


def _check_size(size: int, current: int) -> None:
    if size > current:  # a size the log has not reached yet: no such tree
        raise NotFound(
            M_("tree size must be between 0 and %(current)s", current=current),
            where="tree_size",
        )
    if size < 0:
        raise InvalidInput(
            M_("tree size must be between 0 and %(current)s", current=current),
            where="tree_size",
        )


def root_hash(session: Session, size: int | None = None) -> bytes:
    """MTH of the first `size` entries (default: all), from O(log n) stored hashes."""
    if size is None:
        size = tree_size(session)
    if size == 0:
        _check_size(size, tree_size(session))
        return merkle.EMPTY_ROOT
    return merkle.resolve([(0, size)], lambda keys: _read(session, keys, size=size))[0]


def inclusion_proof(session: Session, seq: int, size: int) -> list[bytes]:
    """Audit path for entry `seq` in the tree of `size` entries (RFC 6962 §2.1.1), in one query."""
    if not 0 <= seq < size:
        _check_size(size, tree_size(session))
        raise NotFound(M_("entry %(seq)s is not in a tree of size %(size)s", seq=seq, size=size))
    return merkle.resolve(merkle.inclusion_ranges(seq, size), lambda keys: _read(session, keys, size=size))


def consistency_proof(session: Session, first: int, second: int) -> list[bytes]:
    """Proof that the first `first` entries are a prefix of the first `second` (RFC 6962 §2.1.2)."""
    if first < 0:
        raise InvalidInput(M_("first must not be negative"), where="first")
    if first > second:
        _check_size(second, tree_size(session))
        # No tree is a prefix of a smaller one: the proof asked for does not exist.
        raise NotFound(M_("first must not exceed second"), where="first")
    return merkle.resolve(
        merkle.consistency_ranges(first, second), lambda keys: _read(session, keys, size=second)
    )


def get_entry(session: Session, seq: int) -> LedgerEntry:
    entry = session.get(LedgerEntry, seq)
    if entry is None:
        raise NotFound(M_("audit entry %(seq)s not found", seq=seq), where="seq")
    return entry
