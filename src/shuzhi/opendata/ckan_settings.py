"""The `[ckan]` settings section: limits of the public CKAN-compatible Action API."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CkanSettings(BaseModel):
    requests_per_minute: int = Field(default=600, ge=1)
    """Calls one client (by address) may make per minute, sustained; past it, 429 with Retry-After."""
    burst: int = Field(default=60, ge=1)
    """Calls a client may make at once before the per-minute rate applies."""
    calls_at_once: int = Field(default=4, ge=1)
    """Calls one client may have running at once; more are refused with 429 (slow calls within the
    rate could otherwise hold every server thread)."""
    search_rows_max: int = Field(default=1000, ge=1)
    """Largest `rows` of package_search (CKAN's ckan.search.rows_max): larger asks are cut to it."""
    datastore_rows_max: int = Field(default=32000, ge=1)
    """Largest `limit` of datastore_search (CKAN's ckan.datastore.search.rows_max)."""
    sql_max_rows: int = Field(default=32000, ge=1)
    """Rows datastore_search_sql returns at most; a result cut there says `records_truncated`."""
    sql_timeout_s: float = Field(default=10.0, gt=0)
    """Time limit of one datastore_search_sql query."""
    site_title: str = "数治开放数据"
    """The portal's name in status_show."""


SECTIONS = {"ckan": CkanSettings}
