"""The public's use of published releases: each download and preview audited, and counts per dataset.

Every face that lets release data out to the public (the portal, the CKAN-compatible download route
and datastore) calls here after it has checked the release is published (`published`), in the
same write transaction as the ledger entry: the count, the entry and the decision to serve commit
together. Counts are bumped by one upsert each, so concurrent downloads never lose one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.catalog.models import Dataset
from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.opendata.models import OPEN_TYPES, Release
from shuzhi.opendata.usage_events import ReleaseDownloaded, ReleasePreviewed
from shuzhi.opendata.usage_models import PreviewWindow, UsageCount
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow

FORMATS = ("csv", "xlsx", "json", "parquet")
VIA = ("portal", "ckan", "api")
"""The faces data leaves by: the portal, the CKAN-compatible API, the platform's own API (with a token)."""
CLIENT_CHARS = 64


@dataclass(frozen=True)
class Counts:
    downloads: int = 0
    views: int = 0


def _insert(session: Session):
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _release(session: Session, release_id: int) -> Release:
    r = session.get(Release, release_id)
    # Checked again in the writing transaction: a release withdrawn since the face found it is not served.
    if r is None or r.state != "published" or r.dataset.open_type not in OPEN_TYPES:
        raise NotFound(M_("No published release %(id)s", id=release_id), where="release")
    return r


def _bump(session: Session, dataset_id: int, *, downloads: int = 0, views: int = 0) -> None:
    table = UsageCount.__table__
    stmt = _insert(session)(table).values(
        dataset_id=dataset_id, downloads=downloads, views=views, updated_at=utcnow()
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["dataset_id"],
            set_={
                "downloads": table.c.downloads + stmt.excluded.downloads,
                "views": table.c.views + stmt.excluded.views,
                "updated_at": stmt.excluded.updated_at,
            },
        )
    )


def record_download(
    session: Session,
    *,
    release_id: int,
    format: str,
    via: str,
    client: str,
    rows: int,
    principal: Principal | None = None,
) -> None:
    """A download of a release the caller has found published: one ledger entry (naming the user
    when one is logged in), one count."""
    if format not in FORMATS or via not in VIA:
        raise ValueError(f"unknown download format {format!r} or face {via!r}")
    r = _release(session, release_id)
    _bump(session, r.dataset_id, downloads=1)
    ledger.append(
        session,
        ReleaseDownloaded(
            release_id=r.id,
            dataset=r.dataset.identifier,
            format=format,
            via=via,
            client=client[:CLIENT_CHARS],
            rows=rows,
            sha256=r.sha256,
        ),
        user_id=principal.user_id if principal else None,
        department_id=principal.department_id if principal else None,
        dataset_id=r.dataset_id,
    )


def record_preview(
    session: Session, *, release_id: int, via: str, client: str, rows: int, now: datetime | None = None
) -> bool:
    """Rows of a release the caller has found published, shown to `client`: the first preview of
    the hour writes the ledger entry, the rest count in its window. True when an entry was written."""
    if via not in VIA:
        raise ValueError(f"unknown face {via!r}")
    r = _release(session, release_id)
    hour = (now or utcnow()).replace(minute=0, second=0, microsecond=0)
    client = client[:CLIENT_CHARS]
    table = PreviewWindow.__table__
    stmt = _insert(session)(table).values(
        release_id=r.id, client=client, via=via, window_start=hour, previews=1
    )
    previews = session.execute(
        stmt.on_conflict_do_update(
            index_elements=["release_id", "client", "via", "window_start"],
            set_={"previews": table.c.previews + 1},
        ).returning(table.c.previews)
    ).scalar_one()
    if previews != 1:
        return False
    ledger.append(
        session,
        ReleasePreviewed(
            release_id=r.id,
            dataset=r.dataset.identifier,
            via=via,
            client=client,
            rows=rows,
            window_start=hour.isoformat(),
        ),
        dataset_id=r.dataset_id,
    )
    return True


def record_view(session: Session, dataset: str) -> None:
    """One view of a dataset's public page."""
    dataset_id = session.scalar(select(Dataset.id).where(Dataset.identifier == dataset))
    if dataset_id is not None:
        _bump(session, dataset_id, views=1)


def counts(session: Session, datasets: list[str] | None = None) -> dict[str, Counts]:
    """Downloads and views of every dataset that has any (or of the named ones), by identifier."""
    q = select(Dataset.identifier, UsageCount.downloads, UsageCount.views).join(
        Dataset, Dataset.id == UsageCount.dataset_id
    )
    if datasets is not None:
        q = q.where(Dataset.identifier.in_(datasets))
    return {identifier: Counts(downloads, views) for identifier, downloads, views in session.execute(q)}


def downloaded(session: Session) -> dict[str, int]:
    """Downloads of every dataset downloaded at least once, by identifier."""
    q = (
        select(Dataset.identifier, UsageCount.downloads)
        .join(Dataset, Dataset.id == UsageCount.dataset_id)
        .where(UsageCount.downloads > 0)
    )
    return {identifier: n for identifier, n in session.execute(q)}


def counts_of(session: Session, dataset: str) -> Counts:
    row = session.execute(
        select(UsageCount.downloads, UsageCount.views)
        .join(Dataset, Dataset.id == UsageCount.dataset_id)
        .where(Dataset.identifier == dataset)
    ).first()
    return Counts(*row) if row else Counts()
