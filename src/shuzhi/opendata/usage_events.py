"""The audit events of the public's use of open data: a release's file downloaded, its rows previewed."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("opendata.release_downloaded", "开放数据下载", "open-data release downloaded")
class ReleaseDownloaded(Event):
    """One download of a published release, whole, in one format; one entry per download."""

    release_id: int
    dataset: str
    format: str
    """csv, xlsx, json or parquet."""
    via: str
    """Which face served it: portal, ckan, or api (the platform's API, to a token's holder)."""
    client: str
    """The client's address (an IPv6 client's /64), as the rate limits count it."""
    rows: int
    sha256: str
    """The released file's digest: the rows are exactly those of that file."""


@event("opendata.release_previewed", "开放数据预览", "open-data release previewed")
class ReleasePreviewed(Event):
    """Rows of a published release shown to one client: one entry per client, release and hour,
    written by its first preview; the later ones in that hour are counted, not entered again."""

    release_id: int
    dataset: str
    via: str
    """portal (the dataset page's preview) or ckan (datastore_search)."""
    client: str
    rows: int
    """Rows shown by the first preview of the window."""
    window_start: str
    """The hour (UTC, ISO 8601) this entry covers."""


EVENTS = (ReleaseDownloaded, ReleasePreviewed)
