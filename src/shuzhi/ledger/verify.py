"""Full verification of the ledger: every leaf, the hash chain, stored subtrees, every tree head, and the
security state reconciled with what the entries imply."""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.i18n import M_, Message
from shuzhi.ledger import merkle, reconcile
from shuzhi.ledger.models import TreeHead
from shuzhi.ledger.sth import SignedHead

MAX_PROBLEMS = 50
COLUMNS = ("event", "user_id", "department_id", "dataset_id", "outcome")


@dataclass(frozen=True)
class Problem:
    kind: str
    """entry · missing · chain · inserted · node · tree_head · truncated · fork · state"""
    message: str
    seq: int | None = None
    tree_head_id: int | None = None
    state: dict | None = None
    """For `state`: the table, the row's key and the columns that differ (ledger vs table)."""


@dataclass
class Report:
    entries: int = 0
    tree_heads: int = 0
    nodes_checked: int = 0
    state_rows: int | None = None
    """Rows of security state reconciled with the ledger (None: not reconciled)."""
    state_differences: int = 0
    """Rows that differ (all of them, also those beyond the problems listed)."""
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def tampered(self) -> bool:
        """The log itself is damaged (as opposed to the state differing from it)."""
        return any(p.kind != "state" for p in self.problems)

    @property
    def first_bad_seq(self) -> int | None:
        """The earliest entry that cannot be trusted: entry-level evidence first, since it names
        an entry exactly; a bad subtree or tree head only bounds where the damage starts."""
        exact = [
            p.seq for p in self.problems if p.seq is not None and p.kind not in ("node", "tree_head", "fork")
        ]
        rough = [p.seq for p in self.problems if p.seq is not None]
        pool = exact or rough
        return min(pool) if pool else None

    def add(self, problem: Problem) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "tree_heads": self.tree_heads,
            "state_rows": self.state_rows,
            "state_differences": self.state_differences,
            "first_bad_seq": self.first_bad_seq,
            "problems": [{k: v for k, v in p.__dict__.items() if k != "state" or v} for p in self.problems],
        }


def _same_time(stored, ts: str | None) -> bool:
    """The created_at column against the entry's "ts". SQLite hands back SQLAlchemy's text
    ('2026-01-02 03:04:05.678901', UTC), compared as text for speed; PostgreSQL a datetime."""
    if not isinstance(ts, str) or len(ts) != 27:
        return False
    if isinstance(stored, str):
        if stored[:10] == ts[:10] and stored[11:26] == ts[11:26] and len(stored) == 26:
            return True
        try:
            stored = datetime.fromisoformat(stored).replace(tzinfo=UTC)
        except ValueError:
            return False
    try:
        return datetime.fromisoformat(ts) == stored
    except ValueError:
        return False


def _entry_problem(seq: int, created_at, columns: tuple, doc: dict) -> str | None:
    """Why the row's columns disagree with its canonical text, if they do."""
    if doc.get("seq") != seq:
        return M_("entry text says seq %(seq)s", seq=doc.get("seq"))
    for name, value in zip(COLUMNS, columns, strict=True):
        if doc.get(name) != value:
            return M_("column %(name)s disagrees with the entry text", name=name)
    if not _same_time(created_at, doc.get("ts")):
        return M_("timestamp disagrees with the entry text")
    return None


def _stream(session: Session, sql: str, chunk: int):
    """Rows straight from the driver's cursor, in chunks: a million ORM or even Core rows cost
    more than the hashing they feed. PostgreSQL streams through a named (server-side) cursor."""
    conn = session.connection()
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name=f"ledger_verify_{id(sql)}")
        cursor.itersize = chunk
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(chunk):
            yield from rows
    finally:
        cursor.close()


class _Leaves:
    """Recomputed leaf hashes in one contiguous buffer (32 bytes each)."""

    def __init__(self) -> None:
        self.buf = bytearray()

    def __len__(self) -> int:
        return len(self.buf) // 32

    def append(self, h: bytes) -> None:
        self.buf += h


def _scan_entries(
    session: Session, report: Report, chunk: int, replay: reconcile.Replay | None = None
) -> _Leaves:
    """Stream every entry in order; recompute its leaf and check columns, hash and chain; hand the
    entries that change the security state to `replay`."""
    leaves = _Leaves()
    wanted = replay.events if replay is not None else frozenset()
    sha = hashlib.sha256
    expected = 0
    back1 = back2 = None  # recomputed leaf hashes of the previous two rows, as hex
    sql = (
        "SELECT seq, created_at, event, user_id, department_id, dataset_id, outcome, entry, leaf_hash"
        " FROM ledger_entries ORDER BY seq"
    )
    for seq, created_at, *columns, text_, stored in _stream(session, sql, chunk):
        report.entries += 1
        if seq != expected:
            report.add(
                Problem(
                    "missing",
                    M_("entries %(expected)s..%(value)s are missing", expected=expected, value=seq - 1),
                    expected,
                )
            )
            back1 = back2 = None  # the chain restarts after a gap
        expected = seq + 1
        leaf = sha(b"\x00" + text_.encode("utf-8")).digest()
        leaves.append(leaf)
        try:
            doc = json.loads(text_)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            doc, local = {}, M_("entry is not a JSON object")
        elif (
            doc.get("seq") == seq
            and (
                doc.get("event"),
                doc.get("user_id"),
                doc.get("department_id"),
                doc.get("dataset_id"),
                doc.get("outcome"),
            )
            == tuple(columns)
            and _same_time(created_at, doc.get("ts"))
        ):
            local = None  # the common case, checked without building messages
        else:
            local = _entry_problem(seq, created_at, tuple(columns), doc)
        if leaf != bytes(stored):
            local = local or M_("stored leaf hash does not match the entry")
        if local:
            report.add(Problem("entry", M_("entry %(seq)s: %(problem)s", seq=seq, problem=local), seq))
        here = leaf.hex()
        if back1 is not None and doc.get("prev") != back1:
            _chain_problem(report, seq, doc.get("prev"), back2, local)
        back2, back1 = back1, here
        if doc.get("event") in wanted:
            replay.feed(doc)
    return leaves


def _chain_problem(report: Report, seq: int, prev: str | None, back2: str | None, local: str | None) -> None:
    """Entry `seq` is not chained to the entry before it. Who is to blame: an entry slipped in
    before it (it chains to the one two back), itself (it has its own defect: moved or edited),
    or the entry before it (changed after `seq` was chained to it)."""
    if prev is not None and prev == back2:
        report.add(Problem("inserted", M_("entry %(value)s was inserted", value=seq - 1), seq - 1))
    elif local:
        report.add(Problem("chain", M_("entry %(seq)s does not chain on", seq=seq), seq))
    else:
        report.add(
            Problem(
                "chain",
                M_("entry %(value)s changed after entry %(seq)s chained to it", value=seq - 1, seq=seq),
                seq - 1,
            )
        )


class _Tree:
    """All perfect-subtree hashes recomputed from the leaves, level by level."""

    def __init__(self, leaves: _Leaves):
        self.levels = [bytes(leaves.buf)]
        while len(self.levels[-1]) >= 64:
            below = self.levels[-1]
            above = bytearray()
            for off in range(0, len(below) - 63, 64):
                above += hashlib.sha256(b"\x01" + below[off : off + 64]).digest()
            self.levels.append(bytes(above))

    def get(self, level: int, idx: int) -> bytes | None:
        if level >= len(self.levels):
            return None
        h = self.levels[level][idx * 32 : idx * 32 + 32]
        return h if len(h) == 32 else None

    def fetch(self, keys: set[merkle.NodeKey]) -> dict[merkle.NodeKey, bytes]:
        return {k: h for k in keys if (h := self.get(*k)) is not None}

    def root(self, size: int) -> bytes:
        return merkle.resolve([(0, size)], self.fetch)[0] if size else merkle.EMPTY_ROOT


def _check_nodes(session: Session, tree: _Tree, report: Report, chunk: int) -> None:
    """Stored subtree hashes (what proofs are served from) must equal the recomputed ones."""
    sql = "SELECT level, idx, hash FROM ledger_nodes ORDER BY level, idx"
    for level, idx, stored in _stream(session, sql, chunk):
        report.nodes_checked += 1
        if tree.get(level, idx) != bytes(stored):
            report.add(
                Problem(
                    "node",
                    M_("stored subtree hash (%(level)s, %(idx)s) is wrong", level=level, idx=idx),
                    idx << level,
                )
            )
    expected = sum(len(lv) // 32 for lv in tree.levels[1:])
    if report.nodes_checked != expected:
        report.add(
            Problem(
                "node",
                M_(
                    "stored %(nodes_checked)s subtree hashes, expected %(expected)s",
                    nodes_checked=report.nodes_checked,
                    expected=expected,
                ),
            )
        )


@dataclass(frozen=True)
class _Seen:
    """A validly signed tree head within the log, and whether the recomputed log agrees with it."""

    head: SignedHead
    name: Message
    head_id: int | None
    matches: bool
    since: int


def _check_head(
    head: SignedHead,
    where: str,
    tree: _Tree,
    size: int,
    key: Ed25519PublicKey,
    report: Report,
    *,
    since: int,
    head_id: int | None = None,
) -> bool | None:
    """One tree head: genuine signature, within the log, root equal to the recomputed one.
    True when all holds; False when validly signed and within the log but the root differs;
    None otherwise."""
    if not head.valid_under(key):
        report.add(Problem("tree_head", M_("%(where)s: signature is not valid", where=where), None, head_id))
        return None
    if head.tree_size > size:
        report.add(
            Problem(
                "truncated",
                M_("%(where)s: log has only %(size)s entries: truncated", where=where, size=size),
                size,
                head_id,
            )
        )
        return None
    if tree.root(head.tree_size) != head.root_hash:
        report.add(
            Problem(
                "tree_head",
                M_("%(where)s: root differs; damage at or after %(since)s", where=where, since=since),
                since,
                head_id,
            )
        )
        return False
    return True


def _check_tree_heads(
    session: Session, tree: _Tree, size: int, key: Ed25519PublicKey, report: Report
) -> list[_Seen]:
    """Each stored tree head, and that it is consistent with the previous one (RFC 9162 §2.1.4.2),
    never shrinking or going back in time. Returns the validly signed ones."""
    prev: TreeHead | None = None
    seen: list[_Seen] = []
    for head in session.scalars(select(TreeHead).order_by(TreeHead.id)):
        report.tree_heads += 1
        where = M_("tree head #%(id)s, size %(tree_size)s", id=head.id, tree_size=head.tree_size)
        # a smaller head after a larger one signed a different history: it bounds nothing
        since = prev.tree_size if prev and prev.tree_size <= head.tree_size else 0
        signed = SignedHead.of(head)
        matches = _check_head(signed, where, tree, size, key, report, since=since, head_id=head.id)
        if matches is not None:
            name = M_("tree head #%(id)s (size %(size)s)", id=head.id, size=head.tree_size)
            seen.append(_Seen(signed, name, head.id, matches, since))
        if not matches:
            continue
        if prev is not None:
            _check_successor(prev, head, tree, where, report)
        prev = head
    return seen


def _since_for_kept(head: SignedHead, seen: Sequence[_Seen]) -> int:
    """Entries a kept head can still vouch for: those below the largest stored head that holds,
    is no larger and was signed no later (it signed the same history up to its size)."""
    return max(
        (
            s.head.tree_size
            for s in seen
            if s.matches and s.head.tree_size <= head.tree_size and s.head.timestamp_ms <= head.timestamp_ms
        ),
        default=0,
    )


def _check_forks(seen: Sequence[_Seen], tree: _Tree, report: Report) -> None:
    """Two validly signed heads that cannot both be true: the log now agrees with `b` but not with
    `a` (no larger), and the consistency proof from `a` to `b` fails. Only the key holder can sign
    both histories, so this is a forked log, not a mere edit in the store. One problem for each
    such `b`, naming the first head it contradicts."""
    holding = sorted((s for s in seen if s.matches), key=lambda s: s.head.tree_size)
    sizes = [s.head.tree_size for s in holding]
    named: set[int] = set()
    for a in seen:
        i = bisect.bisect_left(sizes, a.head.tree_size)
        if a.matches or i == len(holding):
            continue  # nothing signed agrees with the log up to this head's size: plain tampering
        b = holding[i]  # the smallest head that holds and covers `a`
        m, n = a.head.tree_size, b.head.tree_size
        proof = merkle.resolve(merkle.consistency_ranges(m, n), tree.fetch)
        if id(b) in named or merkle.verify_consistency(m, n, a.head.root_hash, b.head.root_hash, proof):
            continue
        named.add(id(b))
        report.add(
            Problem(
                "fork",
                M_(
                    "fork: %(later)s and %(earlier)s are both validly signed but inconsistent: the consistency "
                    "proof from size %(m)s to %(n)s fails; the log now matches %(later)s, and entries in "
                    "%(since)s..%(last)s are not what %(earlier)s signed: the ledger key signed two histories",
                    later=b.name,
                    earlier=a.name,
                    m=m,
                    n=n,
                    since=a.since,
                    last=m - 1,
                ),
                a.since,
                a.head_id if a.head_id is not None else b.head_id,
            )
        )


def _check_successor(prev: TreeHead, head: TreeHead, tree: _Tree, where: str, report: Report) -> None:
    if head.tree_size < prev.tree_size or head.timestamp_ms < prev.timestamp_ms:
        report.add(
            Problem(
                "tree_head",
                M_("%(where)s: older or smaller than #%(id)s", where=where, id=prev.id),
                None,
                head.id,
            )
        )
        return
    proof = merkle.resolve(merkle.consistency_ranges(prev.tree_size, head.tree_size), tree.fetch)
    if not merkle.verify_consistency(prev.tree_size, head.tree_size, prev.root_hash, head.root_hash, proof):
        report.add(
            Problem(
                "tree_head",
                M_("%(where)s: inconsistent with #%(id)s", where=where, id=prev.id),
                None,
                head.id,
            )
        )


def verify_ledger(
    session: Session,
    key: Ed25519PublicKey,
    *,
    chunk: int = 50_000,
    progress: Callable[[str], None] | None = None,
    trusted: Sequence[SignedHead] = (),
    state: Sequence[reconcile.StateSource] | None = None,
) -> Report:
    """Recompute everything from the entries and check it against what is stored and signed, then
    reconcile the security state with the entries.

    `trusted` are tree heads kept outside the store (by an auditor or a client): the log must
    still contain each of them, which catches a truncation that also deleted the stored heads.
    `state` are the state sources to reconcile (default: every registered one; () for none)."""
    report = Report()
    say = progress or (lambda _msg: None)
    sources = reconcile.registered_sources() if state is None else list(state)
    replay = reconcile.Replay(sources) if sources else None
    say("entries")
    leaves = _scan_entries(session, report, chunk, replay)
    say("tree")
    tree = _Tree(leaves)
    _check_nodes(session, tree, report, chunk)
    say("tree heads")
    seen = _check_tree_heads(session, tree, len(leaves), key, report)
    for i, head in enumerate(trusted):
        where = M_("kept tree head %(value)s, size %(tree_size)s", value=i + 1, tree_size=head.tree_size)
        since = _since_for_kept(head, seen)
        matches = _check_head(head, where, tree, len(leaves), key, report, since=since)
        if matches is not None:
            name = M_("kept tree head %(number)s (size %(size)s)", number=i + 1, size=head.tree_size)
            seen.append(_Seen(head, name, None, matches, since))
    _check_forks(seen, tree, report)
    if replay is not None:
        say("state")
        _check_state(session, sources, replay, report)
    return report


def _check_state(
    session: Session, sources: Sequence[reconcile.StateSource], replay: reconcile.Replay, report: Report
) -> None:
    """Each row of users, roles, tokens, grants, grades … must be what the entries imply."""
    actual = reconcile.actual_state(session, sources)
    report.state_rows = reconcile.rows_compared(actual)
    for diff in reconcile.compare(replay.tables(), actual):
        report.state_differences += 1
        if len(report.problems) >= MAX_PROBLEMS:
            continue  # counted, not described
        report.add(
            Problem(
                "state",
                diff.message(),
                state=diff.as_dict(),
            )
        )
