"""The auditor's search over the ledger: filters, pages and CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_
from shuzhi.ledger.log import format_ts
from shuzhi.ledger.models import LedgerEntry

MAX_PAGE = 1000
SUMMARY_COLUMNS = ("seq", "timestamp", "event", "outcome", "user_id", "department_id", "dataset_id")
"""What a listing shows of an entry; the CSV export adds its leaf hash and the entry itself."""
CSV_COLUMNS = (*SUMMARY_COLUMNS, "leaf_hash", "entry")


@dataclass(frozen=True)
class EntryFilter:
    """What an auditor asks for. `event` matches exactly, or as a prefix when it ends in '.' or
    '*' ('request.' finds every request transition)."""

    user_id: int | None = None
    department_id: int | None = None
    dataset_id: int | None = None
    event: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                object.__setattr__(self, name, value.replace(tzinfo=UTC))

    def apply(self, stmt: Select) -> Select:
        for column, value in (
            (LedgerEntry.user_id, self.user_id),
            (LedgerEntry.department_id, self.department_id),
            (LedgerEntry.dataset_id, self.dataset_id),
            (LedgerEntry.outcome, self.outcome),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if self.event:
            if self.event.endswith(("*", ".")):
                prefix = self.event.rstrip("*")
                stmt = stmt.where(LedgerEntry.event.startswith(prefix, autoescape=True))
            else:
                stmt = stmt.where(LedgerEntry.event == self.event)
        if self.since:
            stmt = stmt.where(LedgerEntry.created_at >= self.since)
        if self.until:
            stmt = stmt.where(LedgerEntry.created_at < self.until)
        return stmt


def search(
    session: Session, flt: EntryFilter, *, before_seq: int | None = None, limit: int = 100
) -> list[LedgerEntry]:
    """Newest first; page on with before_seq = the last seq of the previous page."""
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(M_("limit must be 1..%(MAX_PAGE)s", MAX_PAGE=MAX_PAGE), where="limit")
    stmt = flt.apply(select(LedgerEntry))
    if before_seq is not None:
        stmt = stmt.where(LedgerEntry.seq < before_seq)
    return list(session.scalars(stmt.order_by(LedgerEntry.seq.desc()).limit(limit)))


def entry_dict(e: LedgerEntry) -> dict:
    return {
        "seq": e.seq,
        "timestamp": format_ts(e.created_at),
        "event": e.event,
        "outcome": e.outcome,
        "user_id": e.user_id,
        "department_id": e.department_id,
        "dataset_id": e.dataset_id,
        "leaf_hash": e.leaf_hash.hex(),
        "entry": e.entry,
    }


def entry_row(e: LedgerEntry, columns: tuple[str, ...] = CSV_COLUMNS) -> list[str]:
    """The entry's values in these columns, as text ("" for none)."""
    d = entry_dict(e)
    return ["" if d[c] is None else str(d[c]) for c in columns]


def iter_csv(session: Session, flt: EntryFilter, *, chunk: int = 5000) -> Iterator[str]:
    """CSV (UTF-8 with BOM so spreadsheet programs read the Chinese right), oldest first, streamed
    in pages by sequence number (use a read snapshot for long exports)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    buf.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    after = -1
    while True:
        stmt = flt.apply(select(LedgerEntry)).where(LedgerEntry.seq > after)
        rows = list(session.scalars(stmt.order_by(LedgerEntry.seq).limit(chunk)))
        writer.writerows(entry_row(e) for e in rows)
        yield buf.getvalue()
        buf.seek(0)
        buf.truncate()
        if len(rows) < chunk:
            return
        after = rows[-1].seq
        session.expunge_all()
