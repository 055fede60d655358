"""The first page of a governed result, for the faces that show rows rather than send them (the
workbench page, the CLI): read up to the page, not a row further, then end the read."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shuzhi.config import Settings
from shuzhi.exchange.access import GovernedRead
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database


@dataclass(frozen=True)
class Page:
    """Rows to show, in column order, and whether the result went on past them."""

    columns: list[str]
    rows: list[list]
    truncated: bool
    datasets: list[str]

    @property
    def shown(self) -> int:
        return len(self.rows)


def first_page(read: GovernedRead, size: int) -> Page:
    """At most `size` rows of the read, then the read ends (audited with the rows taken).

    Only the page's rows are turned into Python values. A read capped at the page (`row_cap`) is
    read to its end, which the engine's cap makes the page itself; any other read stops at the
    batch that fills the page and is recorded as cut short there."""
    rows: list[list] = []
    with read:
        batches = read.batches()
        try:
            for batch in batches:
                room = size - len(rows)
                if room > 0:
                    rows += _python_rows(batch.slice(0, room))
                if len(rows) >= size and (read.row_cap is None or read.row_cap > size):
                    read.cut(len(rows))
                    break
        finally:
            batches.close()
    return Page(
        columns=list(read.schema.names),
        rows=rows,
        truncated=read.stream.truncated,
        datasets=list(read.query.datasets),
    )


def _python_rows(batch: pa.RecordBatch) -> list[list]:
    # By position: a result may name two columns alike (SELECT a, a), which a dict would merge.
    return [list(r) for r in zip(*(c.to_pylist() for c in batch.columns), strict=True)]


def sql_first_page(
    db: Database, settings: Settings, principal: Principal, sql: str, size: int, **kwargs
) -> Page:
    """Governed SQL capped at one page: the engine stops at `size` rows, so no more are computed,
    fetched or held, and the read is audited as cut short when the result had more."""
    from shuzhi.exchange.service import run_sql

    return first_page(run_sql(db, settings, principal, sql, max_rows=size, **kwargs), size)
