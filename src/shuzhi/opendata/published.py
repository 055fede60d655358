"""What the public may see of open data: published releases with their datasets' metadata, files and fields.

The read side other faces build on (a CKAN-compatible API, DCAT exports, the public portal): only
releases in state `published` are ever listed or served; a withdrawn one disappears from every
function here at once. Metadata is public; the data of a conditional (有条件开放) release only goes to
the readers `access.may_read_data` allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from shuzhi import ledger
from shuzhi.catalog.models import Dataset, DatasetField
from shuzhi.config import Settings
from shuzhi.errors import DataDamaged, InvalidInput, NotFound
from shuzhi.i18n import M_
from shuzhi.opendata.access import ANONYMOUS, FACES, Grant, Reader, may_read_data
from shuzhi.opendata.events import DataRead
from shuzhi.opendata.models import OPEN_TYPES, ListingVersion, Release
from shuzhi.storage import version_store

MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PublishedPage:
    """One page of published releases: `items` (see `published_release_out`), and the total count."""

    items: list[dict]
    total: int
    page: int
    per_page: int


def published_releases(
    session: Session,
    *,
    page: int = 1,
    per_page: int = 20,
    dataset: str | None = None,
    department: str | None = None,
    latest_only: bool = True,
) -> PublishedPage:
    """Published releases, newest first, `per_page` at a time (page 1 first), each with its dataset's
    metadata. `latest_only` keeps the newest published release of each dataset (what a portal lists);
    without it every published release is listed (a dataset's history). `dataset` (identifier) and
    `department` (code) narrow the list."""
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise InvalidInput(
            M_("Pages start at 1 and hold 1 to %(max)s releases", max=MAX_PER_PAGE), where="page"
        )
    q = (
        select(Release)
        .join(Dataset, Dataset.id == Release.dataset_id)
        .where(Release.state == "published", Dataset.open_type.in_(OPEN_TYPES))
    )
    if latest_only:
        newest = (
            select(func.max(Release.id))
            .where(Release.state == "published")
            .group_by(Release.dataset_id)
            .scalar_subquery()
        )
        q = q.where(Release.id.in_(newest))
    if dataset:
        q = q.where(Dataset.identifier == dataset)
    if department:
        from shuzhi.orgs.models import Department

        q = q.join(Department, Department.id == Dataset.department_id).where(Department.code == department)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(Release.published_at.desc(), Release.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return PublishedPage([published_release_out(r) for r in rows], total, page, per_page)


def listing_version(session: Session) -> tuple[str, int]:
    """Which store, and how many times what the public listing shows may have changed in it (the
    database counts, so every process sees a change at once): read it before the listing, and a
    cache built from that listing is current while the pair stays the same."""
    row = session.execute(
        select(ListingVersion.token, ListingVersion.version).where(ListingVersion.id == 1)
    ).first()
    return (row[0], row[1]) if row else ("", -1)


def published_listing(session: Session) -> list[dict]:
    """Every dataset with a published release, in one pass (what a search index needs, not the full
    records): the newest published release's dataset metadata and public fields with their
    descriptions, its release id and row count, and when the first and last of its published
    releases came out."""
    ranked = (
        select(
            Release.id,
            Release.dataset_id,
            Release.published_at,
            func.row_number()
            .over(partition_by=Release.dataset_id, order_by=(Release.published_at.desc(), Release.id.desc()))
            .label("rank"),
            func.min(Release.published_at).over(partition_by=Release.dataset_id).label("first"),
            func.count().over(partition_by=Release.dataset_id).label("releases"),
        )
        .join(Dataset, Dataset.id == Release.dataset_id)
        .where(Release.state == "published", Dataset.open_type.in_(OPEN_TYPES))
        .subquery()
    )
    from shuzhi.orgs.models import Department

    q = (
        select(
            ranked.c.id,
            ranked.c.published_at,
            ranked.c.first,
            ranked.c.releases,
            Release.public_fields,
            Dataset.id,
            Dataset.identifier,
            Dataset.title_zh,
            Dataset.title_en,
            Dataset.description,
            Dataset.theme,
            Dataset.keywords,
            Dataset.licence,
            Dataset.open_type,
            Dataset.update_frequency,
            Release.row_count,
            Department.code,
            Department.name_zh,
            Department.name_en,
        )
        .join(Release, Release.id == ranked.c.id)
        .join(Dataset, Dataset.id == Release.dataset_id)
        .join(Department, Department.id == Dataset.department_id)
        .where(ranked.c.rank == 1)
    )
    rows = session.execute(q).all()
    described: dict[int, dict[str, str | None]] = {}
    fields = select(DatasetField.dataset_id, DatasetField.name, DatasetField.description).where(
        DatasetField.dataset_id.in_(select(ranked.c.dataset_id).where(ranked.c.rank == 1))
    )
    for dataset_id, name, description in session.execute(fields):
        described.setdefault(dataset_id, {})[name] = description
    return [
        {
            "release_id": rid,
            "dataset": identifier,
            "title_zh": title_zh,
            "title_en": title_en,
            "description": description,
            "department": code,
            "department_name": name_zh,
            "department_name_en": name_en,
            "theme": theme,
            "keywords": list(keywords or []),
            "licence": licence,
            "open_type": open_type,
            "update_frequency": update_frequency,
            "row_count": row_count,
            "published_at": _iso(published_at),
            "first_published_at": _iso(first),
            "releases": releases,
            "fields": [
                {**f, "description": described.get(dataset_id, {}).get(f["name"])}
                for f in public_fields or []
            ],
        }
        for (
            rid,
            published_at,
            first,
            releases,
            public_fields,
            dataset_id,
            identifier,
            title_zh,
            title_en,
            description,
            theme,
            keywords,
            licence,
            open_type,
            update_frequency,
            row_count,
            code,
            name_zh,
            name_en,
        ) in rows
    ]


def published_releases_of(session: Session, datasets: list[str]) -> list[dict]:
    """Every published release of the named datasets (see `published_release_out`), newest first, read
    in a few queries whatever their number (a page of search results)."""
    if not datasets:
        return []
    q = (
        select(Release)
        .join(Dataset, Dataset.id == Release.dataset_id)
        .where(
            Release.state == "published",
            Dataset.open_type.in_(OPEN_TYPES),
            Dataset.identifier.in_(datasets),
        )
        .options(selectinload(Release.dataset).selectinload(Dataset.fields))
        .order_by(Release.published_at.desc(), Release.id.desc())
    )
    return [published_release_out(r) for r in session.scalars(q)]


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def published_release_out(r: Release) -> dict:
    """A published release with what a catalog record needs of its dataset: titles, description,
    publisher (department), theme, keywords, open type, licence, contact, coverage in time and space;
    and of the release: version, when published, rows, size, SHA-256 and public fields."""
    ds = r.dataset
    return {
        "release_id": r.id,
        "dataset": ds.identifier,
        "title_zh": ds.title_zh,
        "title_en": ds.title_en,
        "description": ds.description,
        "department": ds.department.code,
        "department_name": ds.department.name_zh,
        "department_name_en": ds.department.name_en,
        "theme": ds.theme,
        "keywords": list(ds.keywords or []),
        "open_type": ds.open_type,
        "licence": ds.licence,
        "contact_name": ds.contact_name,
        "contact_email": ds.contact_email,
        "update_frequency": ds.update_frequency,
        "temporal_start": ds.temporal_start.isoformat() if ds.temporal_start else None,
        "temporal_end": ds.temporal_end.isoformat() if ds.temporal_end else None,
        "spatial": ds.spatial,
        "version": r.version_number,
        "published_at": r.published_at.isoformat() if r.published_at else None,
        "row_count": r.row_count,
        "byte_size": r.byte_size,
        "sha256": r.sha256,
        "media_type": "application/vnd.apache.parquet",
        "fields": public_fields_of(r),
    }


def _published(session: Session, release_id: int) -> Release:
    """The release if it is published and its dataset still to be opened; NotFound otherwise (never
    published, rejected, withdrawn, or the dataset since made 不予开放): to the public a release taken
    off is simply not there."""
    r = session.get(Release, release_id)
    if r is None or r.state != "published" or r.dataset.open_type not in OPEN_TYPES:
        raise NotFound(M_("No published release %(id)s", id=release_id), where="release")
    return r


def release_table_path(
    session: Session,
    settings: Settings,
    release_id: int,
    *,
    reader: Reader = ANONYMOUS,
    face: str = "download",
) -> Path:
    """The local file of a published release's table (Parquet), to serve or read, for `reader`;
    refused (NotFound) for anything not published, (Forbidden) when `reader` may not read its data
    (`access.may_read_data`: a conditional dataset's), and (DataDamaged) when the file is gone. The
    bytes are those hashed when the release was checked (`sha256`): serve them as they are.

    A read of a conditional release is written to the ledger here (`opendata.data_read`, naming
    the application it was allowed under), so `session` must then be a write transaction."""
    r = _published(session, release_id)
    grant = may_read_data(session, r, reader)
    path = version_store(settings).path(r.path)
    if not path.is_file():
        raise DataDamaged(M_("The file of release %(id)s is missing", id=release_id))
    if grant.recorded:
        _record_read(session, r, reader, grant, face)
    return path


def data_is_open(session: Session, release_id: int) -> bool:
    """Whether anyone may read a published release's data (无条件开放) without being approved."""
    return _published(session, release_id).dataset.open_type == "unconditional"


def _record_read(session: Session, r: Release, reader: Reader, grant: Grant, face: str) -> None:
    if face not in FACES:
        raise ValueError(f"unknown face {face!r}")
    ledger.append(
        session,
        DataRead(
            release_id=r.id,
            dataset=r.dataset.identifier,
            face=face,
            basis=grant.basis,
            application_id=grant.application_id,
            portal_user_id=reader.portal_user_id,
        ),
        user_id=reader.staff.user_id if reader.staff else None,
        department_id=r.dataset.department_id,
        dataset_id=r.dataset_id,
    )


def public_fields(session: Session, release_id: int) -> list[dict]:
    """The released columns of a published release, in order: name, Arrow type, and how each was
    treated (keep, sensitive, mask:<kind>, generalise:<hierarchy>:<level>, qi:<hierarchy>)."""
    return public_fields_of(_published(session, release_id))


def public_fields_of(r: Release) -> list[dict]:
    """The release's fields with the catalog's description of each."""
    described = {f.name: f.description for f in r.dataset.fields}
    return [{**f, "description": described.get(f["name"])} for f in r.public_fields]


def resource_id(dataset: str, release_id: int) -> str:
    """A published release's public id (a CKAN resource's id): the dataset and the release."""
    return f"{dataset}-r{release_id}"


def portal_path(dataset: str) -> str:
    """The dataset's page on the public portal: where a conditional dataset's data is applied for
    (and, once approved, downloaded)."""
    return f"/open/dataset/{quote(dataset, safe='')}"


def download_path(dataset: str, release_id: int, version: int) -> str:
    """Where a published release's file is downloaded without logging in (the CKAN-compatible
    route; a conditional release's file is refused there); the DCAT exports of unconditional
    datasets and the CKAN resources point here."""
    name = quote(dataset, safe="")
    return f"/dataset/{name}/resource/{quote(resource_id(dataset, release_id), safe='')}/download/{name}-v{version}.parquet"


def published_statistics(session: Session, dataset: str) -> list[dict]:
    """A dataset's differentially private statistics, newest first, each figure with the accuracy
    OpenDP states for it: public once computed, for any dataset still to be opened (无条件 or 有条件:
    the noise protects the people counted, so no application is needed); none for one not to be
    opened (不予开放), even if its open type changed after they were computed."""
    from shuzhi.opendata.budget_models import StatisticsRelease

    rows = session.execute(
        select(StatisticsRelease, Dataset.identifier)
        .join(Dataset, Dataset.id == StatisticsRelease.dataset_id)
        .where(Dataset.identifier == dataset, Dataset.open_type.in_(OPEN_TYPES))
        .order_by(StatisticsRelease.id.desc())
        .limit(MAX_PER_PAGE)
    )
    return [
        {
            "id": r.id,
            "dataset": identifier,
            "version": r.version_number,
            "epsilon": r.epsilon,
            "delta": r.delta,
            "mechanism": r.spec.get("mechanism"),
            "confidence": r.spec.get("confidence"),
            "figures": r.figures,
            "created_at": r.created_at.isoformat(),
        }
        for r, identifier in rows
    ]
