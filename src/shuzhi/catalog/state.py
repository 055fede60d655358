"""The part of the security state the catalog keeps: which department owns a dataset and how it may be
shared or opened, and which bytes each version is, as the ledger's entries imply them and as the
tables hold them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.ledger.reconcile import UNKNOWN, Rows, StateSource, Table

EVENTS = frozenset({"dataset.created", "dataset.updated", "dataset.deleted", "version.ingested"})
DATASET_COLUMNS = ("department_id", "share_type", "open_type")
"""What decides who may read a dataset: its owner (manage rights, clear reads) and its share type
(an unconditional dataset is read by every analyst without a grant)."""


class CatalogReplay:
    def __init__(self) -> None:
        self.datasets: Rows = {}
        self.versions: Rows = {}

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        event, ds = doc.get("event"), doc.get("dataset_id")
        if ds is None:
            return
        if event == "dataset.created":
            self.datasets[(ds,)] = {
                "department_id": doc.get("department_id"),
                "share_type": d.get("share_type", UNKNOWN),
                "open_type": d.get("open_type", UNKNOWN),
            }
        elif event == "dataset.updated":
            row = self.datasets.setdefault((ds,), dict.fromkeys(DATASET_COLUMNS, UNKNOWN))
            values = d.get("values")
            for name in d.get("changed") or []:
                if name in DATASET_COLUMNS:
                    # Entries written before the new values were recorded say only what changed.
                    row[name] = values[name] if isinstance(values, dict) and name in values else UNKNOWN
        elif event == "dataset.deleted":
            self.datasets.pop((ds,), None)
            self.versions = {k: v for k, v in self.versions.items() if k[0] != ds}
        elif event == "version.ingested" and isinstance(d.get("version"), int):
            self.versions[(ds, d["version"])] = {"sha256": d.get("sha256", UNKNOWN)}

    def tables(self) -> dict[str, Table]:
        return {
            "datasets": Table(("id",), self.datasets),
            "dataset_versions": Table(("dataset_id", "number"), self.versions),
        }


def read(session: Session) -> dict[str, Rows]:
    datasets: Rows = {}
    for ds_id, *values in session.execute(
        select(Dataset.id, *(getattr(Dataset, c) for c in DATASET_COLUMNS))
    ):
        datasets[(ds_id,)] = dict(zip(DATASET_COLUMNS, values, strict=True))
    versions: Rows = {
        (ds_id, number): {"sha256": sha}
        for ds_id, number, sha in session.execute(
            select(DatasetVersion.dataset_id, DatasetVersion.number, DatasetVersion.sha256)
        )
    }
    return {"datasets": datasets, "dataset_versions": versions}


SOURCE = StateSource("catalog", EVENTS, CatalogReplay, read)
