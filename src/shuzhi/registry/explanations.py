"""Why a stored entry's records are one entry: each member paired with the entry's first, scored under the model of the last build.

Who may ask is who may decide on the entry (an admin, a steward of a department whose records are
in it); anyone else is told the entry does not exist, as `service.read_entry` does. An explanation
names record keys, comparison levels and weights, never a value; it is still recorded in the ledger.
The records are scored as the last build scored them: its model, the records it normalised (kept
by `registry.prepared`; read again and normalised when that file is gone), term frequencies over all
of them.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi.errors import Conflict, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.registry import events, prepared, service
from shuzhi.registry.explain import Explanation, explain
from shuzhi.registry.linkage import Linkage, bands, model_columns
from shuzhi.registry.models import Registry
from shuzhi.registry.settings import RegistrySettings

MAX_PAIRS = 30
"""An entry of more members is explained for its first 31 (by record key)."""


def explain_entry(session: Session, settings, principal: Principal, name: str, entry_id: str) -> dict:
    """`{registry, entry, run_id, pairs: [Explanation.as_dict()], members, truncated}`; audited."""
    row = service.decidable_entry(session, principal, name, entry_id, active=True)
    reg = service.get_registry(session, name)
    run_id, model = _last_model(session, reg)
    keys = service._record_keys(session, row)
    shown = keys[: MAX_PAIRS + 1]
    pairs = []
    if len(shown) > 1:
        conf = service.settings_of(reg)
        linkage = Linkage(
            pairs=_NO_PAIRS,
            clusters=_NO_PAIRS,
            model=model,
            records=_records(session, settings, reg, conf, model),
        )
        pairs = [_decided(conf, linkage, explain(linkage, shown[0], other)) for other in shown[1:]]
    ledger.append(
        session,
        events.EntryExplained(registry=name, entry=entry_id, run_id=run_id, pairs=len(pairs)),
        user_id=principal.user_id,
        department_id=principal.department_id,
    )
    return {
        "registry": name,
        "entry": entry_id,
        "run_id": run_id,
        "members": len(keys),
        "truncated": len(keys) > len(shown),
        "pairs": [p.as_dict() for p in pairs],
    }


def may_explain(session: Session, principal: Principal, name: str, entry_id: str) -> bool:
    """Whether `principal` may read why the active entry's records are one entry."""
    try:
        service.decidable_entry(session, principal, name, entry_id, active=True)
    except NotFound:
        return False
    return True


_NO_PAIRS = pa.table({"record_key_l": pa.array([], pa.string()), "record_key_r": pa.array([], pa.string())})


def _last_model(session: Session, reg: Registry) -> tuple[int, dict]:
    run = service.last_run(session, reg)
    if run is None or not run.model:
        raise Conflict(
            M_(
                "registry %(name)s has no stored model yet: build it again to explain its entries",
                name=reg.name,
            ),
            where="registry",
        )
    return run.id, run.model["splink"]


def _records(session: Session, settings, reg: Registry, conf: RegistrySettings, model: dict) -> pa.Table:
    """The model's columns of every record the last build normalised (or of every current record)."""
    needed = model_columns(conf)
    kept = prepared.cache_file(settings.data_dir, reg.id, service.settings_digest(reg.settings))
    if kept.exists():
        try:
            return pq.read_table(kept, columns=needed)
        except (OSError, pa.ArrowException, KeyError):
            pass
    from shuzhi.registry.pipeline import prepare
    from shuzhi.registry.sources import locate, read_records

    con = duckdb.connect()
    try:
        parts = [read_records(locate(session, settings, src), src, con) for src in conf.sources]
    finally:
        con.close()
    return prepare(conf, pa.concat_tables(parts, promote_options="default")).select(needed)


def _decided(conf: RegistrySettings, linkage: Linkage, found: Explanation) -> Explanation:
    """The explanation with how the build decides such a pair: by a shared valid identifier, else
    by the thresholds (the pair may have been linked through other records of the entry)."""
    from dataclasses import replace

    records = linkage.records
    left, right = (_row(records, k) for k in (found.record_key_l, found.record_key_r))
    for ident in conf.identifiers:
        if left[ident.valid] and right[ident.valid] and left[ident.column] == right[ident.column]:
            return replace(found, matched_by="identifier", decision="link")
    link_at, review_at = bands(conf)
    weight = found.match_weight
    decision = "link" if weight >= link_at else "review" if weight >= review_at else None
    return replace(found, matched_by="probabilistic" if decision else None, decision=decision)


def _row(records: pa.Table, key: str) -> dict:
    import pyarrow.compute as pc

    return records.filter(pc.equal(records["record_key"], key)).slice(0, 1).to_pylist()[0]
