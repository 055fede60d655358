"""Reading shared data: the rows, SQL and export channels on top of the one policy decision."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shuzhi.catalog.service import get_dataset
from shuzhi.config import Settings
from shuzhi.errors import ShuzhiError
from shuzhi.exchange import channels, formats
from shuzhi.exchange.access import GovernedRead, ReadRequest, open_read
from shuzhi.exchange.channels import Channel, RowsQuery
from shuzhi.exchange.decision import decide
from shuzhi.exchange.policy import query_sha256
from shuzhi.exchange.read_audit import record_denial
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database


def granted_fields(
    db: Database,
    settings: Settings,
    principal: Principal,
    dataset: str,
    *,
    grant_id: int | None = None,
    version: int | None = None,
    channel: Channel = Channel.ROWS,
) -> list[str]:
    """The fields this consumer may read of a dataset version, in schema order (refusals are audited)."""
    refs: list[tuple[int, str]] = []
    try:
        with db.read() as s:
            ds = get_dataset(s, dataset)
            refs = [(ds.id, ds.identifier)]
            readable = decide(s, settings, principal, ds, version=version, grant_id=grant_id)
            return readable.table.granted_in_order()
    except ShuzhiError as e:
        asked = f"fields:{dataset}"
        record_denial(
            db, principal, e, channel=channel, sha=query_sha256(asked), datasets=refs, sql=asked[:200]
        )
        raise


def read_rows(
    db: Database,
    settings: Settings,
    principal: Principal,
    q: RowsQuery,
    *,
    grant_id: int | None = None,
    version: int | None = None,
    purpose: str | None = None,
    max_rows: int | None = None,
    timeout_s: float | None = None,
    channel: Channel = Channel.ROWS,
) -> GovernedRead:
    """Rows of one dataset (its granted fields unless `q` names some), as a governed read."""
    fields = granted_fields(
        db, settings, principal, q.dataset, grant_id=grant_id, version=version, channel=channel
    )
    return open_read(
        db,
        settings,
        principal,
        ReadRequest(
            sql=channels.rows_sql(q, fields),
            channel=channel,
            grant_ids=_one(q.dataset, grant_id),
            versions=_one(q.dataset, version),
            purpose=purpose,
            max_rows=max_rows,
            timeout_s=timeout_s,
        ),
    )


def run_sql(
    db: Database,
    settings: Settings,
    principal: Principal,
    sql: str,
    *,
    grant_ids: dict[str, int] | None = None,
    purpose: str | None = None,
    max_rows: int | None = None,
) -> GovernedRead:
    cap = min(max_rows or settings.exchange.query_max_rows, settings.exchange.query_max_rows)
    return open_read(
        db,
        settings,
        principal,
        ReadRequest(
            sql=sql,
            channel=Channel.SQL,
            grant_ids=grant_ids or {},
            purpose=purpose,
            max_rows=cap,
        ),
    )


def open_export(
    db: Database,
    settings: Settings,
    principal: Principal,
    dataset: str,
    *,
    grant_id: int | None = None,
    version: int | None = None,
    purpose: str | None = None,
) -> GovernedRead:
    """All rows of the granted fields of one dataset, under the export time limit."""
    return read_rows(
        db,
        settings,
        principal,
        RowsQuery(dataset=dataset),
        grant_id=grant_id,
        version=version,
        purpose=purpose,
        timeout_s=settings.exchange.export_timeout_s,
        channel=Channel.EXPORT,
    )


@dataclass(frozen=True)
class ExportedFile:
    rows: int
    bytes: int
    truncated: bool
    """A row cap or the day's row quota ended the read early: the file is not the whole dataset."""


def export_to_file(
    db: Database,
    settings: Settings,
    principal: Principal,
    dataset: str,
    path: Path,
    fmt: str = "parquet",
    progress: Callable[[int], None] | None = None,
    **kwargs,
) -> ExportedFile:
    """Bulk export of a granted dataset to a file, written beside and renamed into place.

    `progress` hears the rows written so far."""
    formats.get(fmt)  # refused before a read is opened (an opened read holds quota)
    read = open_export(db, settings, principal, dataset, **kwargs)

    def counted():
        done = 0
        for batch in read.batches():
            yield batch
            done += batch.num_rows
            if progress is not None:
                progress(done)

    with read:
        size = channels.write_file(path, fmt, read.schema, counted())
    return ExportedFile(rows=read.stream.rows, bytes=size, truncated=read.stream.truncated)


def _one(dataset: str, value: int | None) -> dict[str, int]:
    return {dataset: value} if value is not None else {}
