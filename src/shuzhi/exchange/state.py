"""The part of the security state the exchange keeps: grants (who may read what of a dataset, masked and
filtered how, until when), as the ledger's entries imply them and as the table holds them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.exchange.models import Grant
from shuzhi.ledger.reconcile import UNKNOWN, Rows, StateSource, Table, moment

EVENTS = frozenset({"grant.created", "grant.revoked", "grant.renewed", "dataset.deleted"})
COLUMNS = (
    "dataset_id",
    "department_id",
    "fields",
    "masks",
    "row_filter",
    "expires_at",
    "rows_per_day",
    "calls_per_day",
)


class GrantReplay:
    def __init__(self) -> None:
        self.grants: Rows = {}

    def feed(self, doc: dict) -> None:
        d = doc.get("detail") or {}
        event = doc.get("event")
        if event == "grant.created" and "grant_id" in d:
            row = {c: d.get(c, UNKNOWN) for c in COLUMNS}
            row["dataset_id"] = doc.get("dataset_id")
            row["expires_at"] = moment(row["expires_at"])
            row["revoked"] = False
            self.grants[(d["grant_id"],)] = row
        elif event == "grant.revoked" and "grant_id" in d:
            row = self.grants.setdefault((d["grant_id"],), dict.fromkeys(COLUMNS, UNKNOWN))
            row["revoked"] = True
        elif event == "grant.renewed" and "grant_id" in d:
            row = self.grants.setdefault((d["grant_id"],), dict.fromkeys(COLUMNS, UNKNOWN))
            row["expires_at"] = moment(d.get("expires_at"))
        elif event == "dataset.deleted":
            # the dataset's grants go with it (ON DELETE CASCADE)
            gone = doc.get("dataset_id")
            self.grants = {k: v for k, v in self.grants.items() if v.get("dataset_id") != gone}

    def tables(self) -> dict[str, Table]:
        return {"exchange_grants": Table(("id",), self.grants)}


def read(session: Session) -> dict[str, Rows]:
    cols = [getattr(Grant, c) for c in COLUMNS]
    rows: Rows = {}
    for gid, *values, revoked in session.execute(select(Grant.id, *cols, Grant.revoked_at)):
        row = dict(zip(COLUMNS, values, strict=True))
        row["fields"] = list(row["fields"] or [])
        row["masks"] = dict(row["masks"] or {})
        row["expires_at"] = moment(row["expires_at"])
        row["revoked"] = revoked is not None
        rows[(gid,)] = row
    return {"exchange_grants": rows}


SOURCE = StateSource("exchange", EVENTS, GrantReplay, read)
