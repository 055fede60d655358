"""What both DCAT profiles export of one page of the published catalog: datasets with their releases,
and the addresses of everything (datasets, publishers, downloads, pages)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.orm import Session

from shuzhi.errors import NotFound
from shuzhi.i18n import M_
from shuzhi.opendata.dcat.settings import DcatSettings
from shuzhi.opendata.published import MAX_PER_PAGE, download_path, published_releases


@dataclass(frozen=True)
class CatalogPage:
    """One page of the published catalog as an export at `path` shows it: `datasets` are the newest
    published release of each dataset on the page, each with `releases`, all its published releases
    (newest first): one distribution each."""

    base: str
    path: str
    page: int
    total: int
    datasets: list[dict]
    settings: DcatSettings

    @property
    def per_page(self) -> int:
        return self.settings.per_page

    @property
    def last_page(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.page < self.last_page else None

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    def page_url(self, page: int) -> str:
        return f"{self.base}{self.path}?page={page}"

    @property
    def catalog_uri(self) -> str:
        return f"{self.base}/#catalog"

    def landing_page(self, ds: dict) -> str:
        """The dataset's page on the site."""
        return f"{self.base}/datasets/{quote(ds['dataset'], safe='')}"

    def dataset_uri(self, ds: dict) -> str:
        # The thing, not its page: the page's address with a fragment, as the releases have.
        return f"{self.landing_page(ds)}#dataset"

    def publisher_uri(self, ds: dict) -> str:
        return f"{self.base}/departments/{quote(ds['department'], safe='')}"

    def download_url(self, release: dict) -> str | None:
        """Where the public downloads the release's file; None for a conditional (有条件开放)
        dataset's, whose data goes to approved applicants only (no public download to advertise)."""
        if release["open_type"] != "unconditional":
            return None
        return self.base + download_path(release["dataset"], release["release_id"], release["version"])

    def access_url(self, ds: dict, release: dict) -> str:
        """Where the release is reached: its file when open to all, else the dataset's page (where
        one applies for its data)."""
        return self.download_url(release) or self.landing_page(ds)

    def distribution_uri(self, ds: dict, release: dict) -> str:
        return f"{self.landing_page(ds)}#release-{release['release_id']}"

    @property
    def modified(self) -> str | None:
        """When the newest release on this page was published."""
        return max((d["published_at"] for d in self.datasets if d["published_at"]), default=None)


def catalog_page(session: Session, settings: DcatSettings, base: str, path: str, page: int) -> CatalogPage:
    """Page `page` (from 1) of the published catalog, newest dataset first; NotFound past the last
    page (page 1 of an empty catalog is an empty catalog)."""
    found = published_releases(session, page=page, per_page=settings.per_page)
    if page > 1 and not found.items:
        raise NotFound(M_("No page %(page)s of the catalog", page=page), where="page")
    datasets = [{**item, "releases": _releases_of(session, item["dataset"])} for item in found.items]
    return CatalogPage(base.rstrip("/"), path, page, found.total, datasets, settings)


def _releases_of(session: Session, dataset: str) -> list[dict]:
    out, page = [], 1
    while True:
        found = published_releases(
            session, page=page, per_page=MAX_PER_PAGE, dataset=dataset, latest_only=False
        )
        out += found.items
        if page * MAX_PER_PAGE >= found.total:
            return out
        page += 1
