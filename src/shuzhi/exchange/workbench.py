"""What the SQL workbench needs of the exchange: result pages read through the governed path, the
datasets and fields a consumer may query, and the consumer's own recent queries from the ledger."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from shuzhi.catalog.models import Dataset
from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError
from shuzhi.exchange import aliases
from shuzhi.exchange.channels import Channel
from shuzhi.exchange.decision import decide
from shuzhi.exchange.models import Grant
from shuzhi.exchange.policy import parse_query
from shuzhi.exchange.results import Page, first_page
from shuzhi.exchange.service import run_sql
from shuzhi.ledger.query import EntryFilter, search
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

# -- result pages --------------------------------------------------------------------------

MARK = "/* workbench page */"
"""Starts what the workbench adds to a query to read one page of it: the ledger keeps the query
that ran, and the history finds the consumer's own text again by this mark."""

_WRAPPED = re.compile(
    r"\A/\* workbench page \*/ SELECT .*? FROM \(\n(?P<asked>.*)\n\) AS workbench_page\n"
    r"/\* workbench page \*/ [^\n]*\Z",
    re.DOTALL,
)


@dataclass(frozen=True)
class Order:
    """Sort a result by its column at `column` (0-based), descending or not."""

    column: int
    descending: bool = False


@dataclass(frozen=True)
class ResultPage:
    page: Page
    offset: int
    size: int
    order: Order | None
    pageable: bool
    """The query could be paged and sorted (a result with two columns of one name cannot)."""

    @property
    def has_next(self) -> bool:
        return self.pageable and self.page.truncated

    @property
    def total(self) -> int | None:
        """Rows in the whole result when this page shows its end, else None (not counted)."""
        return None if self.page.truncated else self.offset + self.page.shown


def page_sql(sql: str, *, size: int, offset: int = 0, order: Order | None = None) -> str | None:
    """The consumer's query limited to one page (`size` rows from `offset`, and one more to know
    whether the result goes on), in `order` or else a stable one; None when it cannot be paged.

    The consumer's text is kept verbatim: a query without an ORDER BY, LIMIT or OFFSET of its own
    gets them appended; one with them is read as a subquery of its named columns (its first page
    unsorted: as written). Either way the
    result goes through the governed path like any query (policy, quotas, audit)."""
    try:
        tree = parse_query(sql)
    except ShuzhiError:
        return None  # refused, with the position of the error, when it is run as written
    asked = sql.rstrip()
    while asked.endswith(";"):
        asked = asked[:-1].rstrip()
    names = [s.output_name or f"_col_{i}" for i, s in enumerate(normalize_identifiers(tree.copy()).selects)]
    if not names or any(isinstance(s, exp.Star) or not n for s, n in zip(tree.selects, names, strict=True)):
        return None
    if len(set(names)) != len(names):
        return None
    if order is not None and not 0 <= order.column < len(names):
        order = None
    ordinals = list(range(1, len(names) + 1))
    if order is not None:
        first = order.column + 1
        by = [f"{first} {'DESC' if order.descending else 'ASC'}"] + [str(n) for n in ordinals if n != first]
    else:
        by = [str(n) for n in ordinals]
    limit = f"LIMIT {size + 1} OFFSET {offset}"
    own = any(tree.args.get(k) for k in ("order", "limit", "offset", "fetch"))
    if own and offset == 0 and order is None:
        # Its first page is the query as written, capped by the engine: no subquery, which a grant
        # under a rows-per-day quota (record reads only) would refuse.
        return sql
    if not own:
        return f"{asked}\n{MARK} ORDER BY {', '.join(by)} {limit}"
    columns = ", ".join(exp.to_identifier(n, quoted=True).sql("duckdb") for n in names)
    ordered = f"ORDER BY {', '.join(by)} " if order is not None else ""
    return f"{MARK} SELECT {columns} FROM (\n{asked}\n) AS workbench_page\n{MARK} {ordered}{limit}"


def asked_query(recorded: str) -> str:
    """The consumer's own text of a query the workbench read a page of (else the text as is)."""
    wrapped = _WRAPPED.match(recorded)
    if wrapped:
        return wrapped.group("asked")
    head, mark, tail = recorded.rpartition("\n" + MARK + " ")
    if mark and "\n" not in tail:
        return head
    return recorded


def sql_page(
    db: Database,
    settings: Settings,
    principal: Principal,
    sql: str,
    *,
    size: int,
    offset: int = 0,
    order: Order | None = None,
) -> ResultPage:
    """One page of a governed query, read (and audited, and counted against quotas) like any other."""
    paged = page_sql(sql, size=size, offset=offset, order=order)
    if paged is None:
        offset, order = 0, None
    read = run_sql(db, settings, principal, paged or sql, max_rows=size)
    return ResultPage(
        page=first_page(read, size),
        offset=offset,
        size=size,
        order=order,
        pageable=paged is not None,
    )


# -- what may be queried -------------------------------------------------------------------


@dataclass(frozen=True)
class QueryableField:
    name: str
    type: str
    mask: str
    """The mask's label, in the reader's language."""


@dataclass(frozen=True)
class Queryable:
    """One dataset as this consumer may query it now: its alias, basis and readable fields."""

    dataset: Dataset
    alias: str
    basis: str
    grant_id: int | None
    fields: list[QueryableField]


def queryable(
    session: Session, settings: Settings, principal: Principal, lang: str = "zh"
) -> list[Queryable]:
    """Every dataset this consumer's governed SQL would be allowed to read, with the fields and masks
    it would read them under — the access decision itself (`decision.decide`), taken for each
    dataset it could apply to: the department's own, those it holds a grant in force for, and
    those shared unconditionally (only a narrowing of whom to ask: what is listed is what
    `decide` allows). A dataset the decision refuses is left out."""
    now = utcnow()
    granted = select(Grant.dataset_id).where(
        Grant.department_id == principal.department_id,
        Grant.revoked_at.is_(None),
        Grant.expires_at > now,
    )
    candidates = session.scalars(
        select(Dataset)
        .where(
            or_(
                Dataset.department_id == principal.department_id,
                Dataset.share_type == "unconditional",
                Dataset.id.in_(granted),
            )
        )
        .order_by(Dataset.identifier)
    ).all()
    named = aliases.catalog_aliases(session) if candidates else {}
    out = []
    for ds in candidates:
        try:
            readable = decide(session, settings, principal, ds)
        except ShuzhiError:
            continue
        table = readable.table
        types = dict(table.fields)
        out.append(
            Queryable(
                dataset=ds,
                alias=named[ds.id],
                basis=readable.basis,
                grant_id=readable.grant.id if readable.grant is not None else None,
                fields=[
                    QueryableField(name, types[name], table.masks[name].label(lang))
                    for name in table.granted_in_order()
                ],
            )
        )
    return out


# -- history -------------------------------------------------------------------------------

HISTORY = 50
_SCAN = 2000
"""Ledger entries of the consumer's looked through at most, for the distinct recent queries."""


@dataclass(frozen=True)
class PastQuery:
    sql: str
    at: datetime
    outcome: str
    face: str | None


def recent_queries(session: Session, principal: Principal, limit: int = HISTORY) -> list[PastQuery]:
    """This consumer's own governed SQL, newest first, each query once (its latest use): from the
    ledger's read and refusal entries, which keep the query's text. Nobody else's entries are read."""
    if principal.user_id is None:
        return []
    out: dict[str, PastQuery] = {}
    before = None
    scanned = 0
    while len(out) < limit and scanned < _SCAN:
        entries = search(session, EntryFilter(user_id=principal.user_id, event="data."), before_seq=before)
        if not entries:
            break
        for e in entries:
            scanned += 1
            if e.event not in ("data.read", "data.denied"):
                continue
            detail = json.loads(e.entry).get("detail", {})
            if detail.get("channel") != Channel.SQL.value or not detail.get("query"):
                continue
            sql = asked_query(detail["query"])
            if sql not in out and len(out) < limit:
                out[sql] = PastQuery(sql=sql, at=e.created_at, outcome=e.outcome, face=detail.get("face"))
        before = entries[-1].seq
    return list(out.values())
