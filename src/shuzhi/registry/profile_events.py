"""The audit events of registry profiles: a profile read (with the sections shown) and a read refused."""

from __future__ import annotations

from shuzhi.ledger.events import Event, event


@event("registry.profile_read", "档案查阅", "registry profile read")
class ProfileRead(Event):
    """Someone read the profile of an entry: the source versions it showed, each under its basis."""

    registry: str
    entry: str
    sections: list[dict]
    """[{dataset, version, basis, rows}] for every section shown."""


@event("registry.profile_refused", "档案查阅被拒", "registry profile read refused")
class ProfileRefused(Event):
    """A profile was asked for and nothing of it was shown: no such entry, or no source the reader may read."""

    registry: str
    entry: str


EVENTS = (ProfileRead, ProfileRefused)
