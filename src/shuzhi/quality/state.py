"""The part of the security state quality keeps: which blocked runs a steward let through (an override
makes a held version shareable and publishable), as the ledger's entries imply them and as the tables
hold them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.ledger.reconcile import Rows, StateSource, Table
from shuzhi.quality.events import BlockOverridden
from shuzhi.quality.models import BlockOverride

OVERRIDDEN = BlockOverridden.TYPE.name
EVENTS = frozenset({OVERRIDDEN, "dataset.deleted"})
COLUMNS = ("dataset_id", "version")


class OverrideReplay:
    def __init__(self) -> None:
        self.overrides: Rows = {}

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        if doc.get("event") == OVERRIDDEN:
            self.overrides[(d.get("run_id"),)] = {
                "dataset_id": doc.get("dataset_id"),
                "version": d.get("version"),
            }
        elif (
            doc.get("event") == "dataset.deleted"
        ):  # its runs and their overrides go with it (ON DELETE CASCADE)
            gone = doc.get("dataset_id")
            self.overrides = {k: v for k, v in self.overrides.items() if v["dataset_id"] != gone}

    def tables(self) -> dict[str, Table]:
        return {"quality_block_overrides": Table(("run_id",), self.overrides)}


def read(session: Session) -> dict[str, Rows]:
    from shuzhi.catalog.models import DatasetVersion

    q = select(BlockOverride.run_id, BlockOverride.dataset_id, DatasetVersion.number).join(
        DatasetVersion, DatasetVersion.id == BlockOverride.version_id
    )
    return {
        "quality_block_overrides": {
            (run,): dict(zip(COLUMNS, values, strict=True)) for run, *values in session.execute(q)
        }
    }


SOURCE = StateSource("quality", EVENTS, OverrideReplay, read)
