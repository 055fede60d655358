"""Times as people read and type them: the display time zone's wall clock, the ledger's UTC inside."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo


@lru_cache(maxsize=8)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_text(value: datetime | str | None, zone_name: str) -> str:
    """A stored UTC time (datetime, naive meaning UTC, or ISO text) as a wall clock in the zone, with
    its offset: `2026-12-05 14:48:24 (UTC+8)`."""
    if value is None or value == "":
        return ""
    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    local = when.astimezone(zone(zone_name))
    offset = local.utcoffset().total_seconds() / 3600
    return local.strftime("%Y-%m-%d %H:%M:%S") + f" (UTC{offset:+g})"


def to_utc(when: datetime | None, zone_name: str) -> datetime | None:
    """A time someone typed, read in the zone unless it names its own offset, as naive UTC (how the
    ledger stores and compares times)."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone(zone_name))
    return when.astimezone(UTC).replace(tzinfo=None)
