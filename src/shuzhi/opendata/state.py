"""The part of the security state open data keeps: which releases exist, which file each serves and in which
state (published is what the public gets), as the ledger's entries imply them and as the table holds them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.ledger.reconcile import Rows, StateSource, Table
from shuzhi.opendata.events import MOVES, ReleasePrepared
from shuzhi.opendata.models import Release

PREPARED = ReleasePrepared.TYPE.name
MOVED = {e.TYPE.name for e in MOVES.values()}
EVENTS = frozenset({PREPARED, *MOVED, "dataset.deleted"})
COLUMNS = ("dataset_id", "version", "sha256", "state")


class ReleaseReplay:
    def __init__(self) -> None:
        self.releases: Rows = {}

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
        elif event == "dataset.deleted":
            # the dataset's releases go with it (ON DELETE CASCADE)
            gone = doc.get("dataset_id")
            self.releases = {k: v for k, v in self.releases.items() if v["dataset_id"] != gone}

    def tables(self) -> dict[str, Table]:
        return {"opendata_releases": Table(("id",), self.releases)}


def read(session: Session) -> dict[str, Rows]:
    q = select(Release.id, Release.dataset_id, Release.version_number, Release.sha256, Release.state)
    return {
        "opendata_releases": {
            (rid,): dict(zip(COLUMNS, values, strict=True)) for rid, *values in session.execute(q)
        }
    }


SOURCE = StateSource("opendata", EVENTS, ReleaseReplay, read)
