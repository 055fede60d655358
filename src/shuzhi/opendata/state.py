"""The part of the security state open data keeps: which releases exist, which file each serves and in which
state (published is what the public gets), and which applications for conditional data exist, in which
state and for which granted period (approved is who reads the data), as the ledger's entries imply them
and as the tables hold them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.ledger.reconcile import Rows, StateSource, Table
from shuzhi.opendata import application_events as app_events
from shuzhi.opendata.application_models import Application
from shuzhi.opendata.events import MOVES, ReleasePrepared
from shuzhi.opendata.models import Release

PREPARED = ReleasePrepared.TYPE.name
MOVED = {e.TYPE.name for e in MOVES.values()}
SUBMITTED = app_events.ApplicationSubmitted.TYPE.name
DECIDED = {
    app_events.ApplicationApproved.TYPE.name: "approved",
    app_events.ApplicationRejected.TYPE.name: "rejected",
    app_events.ApplicationRevoked.TYPE.name: "revoked",
}
EVENTS = frozenset({PREPARED, *MOVED, SUBMITTED, *DECIDED, "dataset.deleted"})
COLUMNS = ("dataset_id", "version", "sha256", "state")
APP_COLUMNS = ("dataset_id", "portal_user_id", "state", "granted_start", "granted_end")


class ReleaseReplay:
    def __init__(self) -> None:
        self.releases: Rows = {}
        self.applications: Rows = {}

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        event = doc.get("event")
        if event == PREPARED:
            self.releases[(d["release_id"],)] = {
                "dataset_id": doc.get("dataset_id"),
                "version": d.get("version"),
                "sha256": d.get("sha256"),
                "state": "pending",
            }
        elif event in MOVED and (d.get("release_id"),) in self.releases:
            self.releases[(d["release_id"],)]["state"] = d.get("to")
        elif event == SUBMITTED:
            self.applications[(d["application_id"],)] = {
                "dataset_id": doc.get("dataset_id"),
                "portal_user_id": d.get("portal_user_id"),
                "state": "submitted",
                "granted_start": None,
                "granted_end": None,
            }
        elif event in DECIDED and (d.get("application_id"),) in self.applications:
            row = self.applications[(d["application_id"],)]
            row["state"] = DECIDED[event]
            if event == app_events.ApplicationApproved.TYPE.name:
                row["granted_start"], row["granted_end"] = d.get("start"), d.get("end")
        elif event == "dataset.deleted":
            # the dataset's releases and applications go with it (ON DELETE CASCADE)
            gone = doc.get("dataset_id")
            self.releases = {k: v for k, v in self.releases.items() if v["dataset_id"] != gone}
            self.applications = {k: v for k, v in self.applications.items() if v["dataset_id"] != gone}

    def tables(self) -> dict[str, Table]:
        return {
            "opendata_releases": Table(("id",), self.releases),
            "opendata_applications": Table(("id",), self.applications),
        }


def _day(value) -> str | None:
    return value.isoformat() if value is not None else None


def read(session: Session) -> dict[str, Rows]:
    q = select(Release.id, Release.dataset_id, Release.version_number, Release.sha256, Release.state)
    apps = select(
        Application.id,
        Application.dataset_id,
        Application.portal_user_id,
        Application.state,
        Application.granted_start,
        Application.granted_end,
    )
    return {
        "opendata_releases": {
            (rid,): dict(zip(COLUMNS, values, strict=True)) for rid, *values in session.execute(q)
        },
        "opendata_applications": {
            (aid,): dict(zip(APP_COLUMNS, (ds, user, state, _day(start), _day(end)), strict=True))
            for aid, ds, user, state, start, end in session.execute(apps)
        },
    }


SOURCE = StateSource("opendata", EVENTS, ReleaseReplay, read)
