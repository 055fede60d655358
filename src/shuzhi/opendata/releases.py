"""Releases of open data: a version de-identified under a plan, built, checked, approved by a second person.

States: pending → published | rejected | withdrawn; published → withdrawn. A steward of the owning
department prepares a release (`prepare_release`): the platform refuses the plan when a field graded
L3/L4 or a direct identifier would be released in clear, or when the plan's fields are not the
version's; it then builds the released table, writes it once (named by its SHA-256), and checks the
written file itself for the k and l asked. Another steward of the department, or an admin, approves
it (`approve_release`) — never the one who prepared it. Withdrawing takes it off at once. Every step
is a typed ledger entry in the same transaction. Services never commit.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import can_manage, get_dataset, get_version
from shuzhi.classify.models import ColumnDecision
from shuzhi.classify.readmodel import sensitive_columns
from shuzhi.classify.rules import load_rules
from shuzhi.config import Settings
from shuzhi.engine.parquet import statistics_columns
from shuzhi.errors import Conflict, DataDamaged, Forbidden, InvalidInput, NotFound
from shuzhi.i18n import M_, N_
from shuzhi.ingest.integrity import file_sha256
from shuzhi.keyfile import create_once
from shuzhi.opendata import events
from shuzhi.opendata.disclosure import check, generalise, mondrian
from shuzhi.opendata.models import OPEN_TYPES, Release
from shuzhi.opendata.plans import PlanIn, generalise_column, hierarchy, mask_column, mask_key
from shuzhi.orgs.service import Principal
from shuzhi.quality.holds import require_not_held
from shuzhi.storage import version_store
from shuzhi.store.base import utcnow

STATE_LABELS: dict[str, str] = {
    "pending": N_("pending"),
    "published": N_("published"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
"""A release's states in words (msgids, shown in the reader's language)."""

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("published", "rejected", "withdrawn"),
    "published": ("withdrawn",),
}

ALGORITHMS = {"full-domain": generalise, "mondrian": mondrian}
"""The anonymisation each plan's `algorithm` names; the written file is checked whatever they claim."""

DIRECT_IDENTIFIER = "direct_identifier"

RELEASE_ROW_GROUP = 65_536
"""Rows per row group of a release file. The datastore pages through a release a row group at a time
(a keyset page reads the groups holding its rows): at Arrow's default of a million rows every page of
10,000 decoded a million rows; at this size, about 65,000."""


# -- permissions ------------------------------------------------------------------------------


def _require_preparer(principal: Principal, ds: Dataset) -> None:
    if (
        principal.user_id is None
        or not principal.has("steward")
        or principal.department_id != ds.department_id
    ):
        raise Forbidden(M_("Only a steward of the owning department prepares a release"))


def _require_approver(principal: Principal, release: Release) -> None:
    if not can_manage(principal, release.dataset):
        raise Forbidden(M_("Another steward of the owning department, or an admin, approves a release"))
    if principal.user_id is not None and principal.user_id == release.prepared_by_id:
        raise Forbidden(M_("The one who prepared a release cannot approve it: a second person must"))


def require_open(ds: Dataset) -> None:
    """Refused (Forbidden) for a dataset that is not to be opened (不予开放): it reaches the public
    in no form, neither a release nor statistics."""
    if ds.open_type not in OPEN_TYPES:
        raise Forbidden(
            M_(
                "Dataset %(identifier)s is not to be opened: it can have no release",
                identifier=ds.identifier,
            ),
            where="dataset",
            hint=ds.open_basis or None,
        )


def can_view(principal: Principal, release: Release) -> bool:
    """Who sees a release that is not published (or whose dataset is since not to be opened): the
    owning department's stewards, admins, auditors."""
    public = release.state == "published" and release.dataset.open_type in OPEN_TYPES
    return public or can_manage(principal, release.dataset) or principal.has("auditor")


# -- reading ----------------------------------------------------------------------------------


def get_release(session: Session, principal: Principal, release_id: int) -> Release:
    release = session.get(Release, release_id)
    if release is None or not can_view(principal, release):
        raise NotFound(M_("No release %(id)s", id=release_id), where="release")
    return release


def list_releases(
    session: Session, principal: Principal, *, dataset: str | None = None, state: str | None = None
) -> list[Release]:
    """Releases the caller may see, newest first, of one dataset or state when asked."""
    q = select(Release).order_by(Release.id.desc())
    if dataset:
        q = q.where(Release.dataset_id == get_dataset(session, dataset).id)
    if state:
        if state not in STATE_LABELS:
            raise InvalidInput(M_("Unknown release state %(state)s", state=state), where="state")
        q = q.where(Release.state == state)
    return [r for r in session.scalars(q) if can_view(principal, r)]


def last_plan(session: Session, ds: Dataset) -> Release:
    """The newest release of the dataset that was not rejected: the plan a new version's release reuses."""
    found = session.scalar(
        select(Release)
        .where(Release.dataset_id == ds.id, Release.state != "rejected")
        .order_by(Release.id.desc())
        .limit(1)
    )
    if found is None:
        raise NotFound(
            M_(
                "Dataset %(identifier)s has no earlier release whose plan could be reused",
                identifier=ds.identifier,
            ),
            where="reuse_plan",
        )
    return found


def release_out(r: Release) -> dict:
    """A release as the API and the command line show it."""
    return {
        "id": r.id,
        "dataset": r.dataset.identifier,
        "version": r.version_number,
        "state": r.state,
        "state_label": M_(STATE_LABELS[r.state]),
        "plan": r.plan,
        "reused_from": r.reused_from_id,
        "sha256": r.sha256,
        "byte_size": r.byte_size,
        "row_count": r.row_count,
        "fields": r.public_fields,
        "report": r.report,
        "prepared_by": r.prepared_by_id,
        "prepared_at": _iso(r.prepared_at),
        "decided_by": r.decided_by_id,
        "decided_at": _iso(r.decided_at),
        "decision_reason": r.decision_reason,
        "published_at": _iso(r.published_at),
        "withdrawn_at": _iso(r.withdrawn_at),
        "withdraw_reason": r.withdraw_reason,
    }


def _iso(v) -> str | None:
    return v.isoformat() if v is not None else None


# -- preparing --------------------------------------------------------------------------------


def prepare_release(
    session: Session,
    settings: Settings,
    principal: Principal,
    dataset: str | int,
    *,
    version: int | None = None,
    plan: PlanIn | dict | None = None,
    reuse_plan: bool = False,
) -> Release:
    """Build, write and check a release of a version (the newest when none is named) under `plan`, or
    under the dataset's last plan (`reuse_plan`); it waits for a second person's approval."""
    ds = get_dataset(session, dataset)
    require_open(ds)
    _require_preparer(principal, ds)
    v = get_version(session, ds, version)
    if v.damaged_at is not None:
        raise DataDamaged(M_("Version %(number)s is damaged and cannot be released", number=v.number))
    require_not_held(session, ds, v)
    reused = None
    if reuse_plan:
        if plan is not None:
            raise InvalidInput(M_("Give a plan or reuse the last one, not both"), where="plan")
        reused = last_plan(session, ds)
        plan = reused.plan
    if plan is None:
        raise InvalidInput(M_("A release needs a de-identification plan"), where="plan")
    plan = PlanIn.of(plan)
    _refuse_taken(session, v)
    table = pq.read_table(version_store(settings).path(v.path))
    _refuse_changed_fields(plan, table.schema.names, v.number)
    refuse_clear(session, settings, ds, plan)
    released, public_fields, report = build(settings, ds, v, table, plan)
    release = _store(session, settings, principal, ds, v, plan, released, public_fields, report, reused)
    return release


def _refuse_taken(session: Session, v: DatasetVersion) -> None:
    taken = session.scalar(
        select(Release.id)
        .where(Release.version_id == v.id, Release.state.in_(("pending", "published")))
        .limit(1)
    )
    if taken is not None:
        raise Conflict(
            M_(
                "Version %(number)s already has release %(id)s pending or published",
                number=v.number,
                id=taken,
            ),
            where="version",
        )


def _refuse_changed_fields(plan: PlanIn, names: list[str], number: int) -> None:
    """A plan covers exactly the fields it was written for: a field it never saw is not released unseen."""
    planned, present = set(plan.fields), set(names)
    if planned != present:
        raise Conflict(
            M_(
                "The fields of version %(number)s changed since the plan was written: new %(added)s; gone %(gone)s",
                number=number,
                added=", ".join(sorted(present - planned)) or "-",
                gone=", ".join(sorted(planned - present)) or "-",
            ),
            where="plan.fields",
        )


def direct_identifiers(session: Session, settings: Settings, ds: Dataset) -> set[str]:
    """Fields any grading of the dataset found to be a direct identifier (ID number, phone, name, …)."""
    rules = load_rules(settings)
    cats = session.execute(
        select(ColumnDecision.field_name, ColumnDecision.category).where(ColumnDecision.dataset_id == ds.id)
    )
    return {name for name, cat in cats if rules.kind_of(cat) == DIRECT_IDENTIFIER}


def refuse_clear(session: Session, settings: Settings, ds: Dataset, plan: PlanIn) -> None:
    """Refuse a plan that keeps in clear a direct identifier (found by grading or marked in the plan)
    or a field graded L3/L4 (or never graded: nothing says it is harmless)."""
    clear = plan.clear_fields()
    found = direct_identifiers(session, settings, ds)
    for name in clear:
        if name in found or plan.fields[name].identifier:
            raise Forbidden(
                M_(
                    "Field %(field)s is a direct identifier and cannot be released in clear: drop or mask it",
                    field=name,
                ),
                where=f"plan.fields.{name}",
            )
    sensitive = set(sensitive_columns(session, settings, ds))
    for name in clear:
        if name in sensitive:
            raise Forbidden(
                M_(
                    "Field %(field)s is graded L3 or above (or not yet graded) and cannot be released in clear",
                    field=name,
                ),
                where=f"plan.fields.{name}",
            )


def build(
    settings: Settings, ds: Dataset, v: DatasetVersion, table: pa.Table, plan: PlanIn
) -> tuple[pa.Table, list[dict], dict]:
    """The released table (fields dropped, masked, generalised; quasi-identifiers anonymised), its
    public field list, and the algorithm's report."""
    key = mask_key(_master_key(settings), ds.id, v.id)
    columns = {}
    for name in table.schema.names:
        f = plan.fields[name]
        where = f"plan.fields.{name}"
        if f.action == "mask":
            columns[name] = mask_column(table.column(name), f.mask, key, where)
        elif f.action == "generalise":
            columns[name] = generalise_column(
                table.column(name), hierarchy(f.hierarchy, where), f.level, name
            )
        elif f.action != "drop":
            columns[name] = table.column(name)
    prepared = pa.table(columns)
    result = ALGORITHMS[plan.algorithm](prepared, plan.disclosure_plan())
    released = _shuffled(result.table)
    public_fields = [
        {"name": n, "type": str(released.schema.field(n).type), "treatment": _treatment(plan, n)}
        for n in released.schema.names
    ]
    return released, public_fields, asdict(result.report)


def _shuffled(table: pa.Table) -> pa.Table:
    """The rows in a random order. Row positions are public (a download, the datastore's `_id`): in
    the source's order they would tell what it was sorted by (often an identifier) and let two
    releases of the same people be joined row by row, undoing their generalisation."""
    order = np.random.default_rng(secrets.randbits(128)).permutation(table.num_rows)
    return table.take(pa.array(order))


def _treatment(plan: PlanIn, name: str) -> str:
    f = plan.fields[name]
    if f.action == "mask":
        return f"mask:{f.mask}"
    if f.action == "generalise":
        return f"generalise:{f.hierarchy.kind}:{f.level}"
    if f.action == "qi":
        return f"qi:{f.hierarchy.kind}"
    return "sensitive" if name in plan.sensitive else "keep"


def verify(table: pa.Table, plan: PlanIn) -> dict:
    """k and l of the released table as an attacker holding it would find them; refused below the plan's."""
    seen = check(table, plan.quasi_identifiers, plan.sensitive)
    if seen.k < plan.k or (plan.l > 1 and (seen.diversity or 0) < plan.l):
        raise Conflict(
            M_(
                "The released table does not reach what the plan asks: k=%(k)s (asked %(want_k)s), l=%(l)s (asked %(want_l)s)",
                k=seen.k,
                want_k=plan.k,
                l=seen.diversity if seen.diversity is not None else "-",
                want_l=plan.l,
            ),
            where="plan.k",
        )
    return {"k": seen.k, "l": seen.diversity, "classes": seen.classes, "rows": seen.rows}


def write_checked(released: pa.Table, plan: PlanIn, path: Path) -> tuple[dict, str, int]:
    """Write the released table to `path`, then check the written file itself (what is published is
    what was read back): its k and l, SHA-256 and size."""
    pq.write_table(
        released,
        path,
        compression="zstd",
        write_page_checksum=True,
        row_group_size=RELEASE_ROW_GROUP,
        write_statistics=statistics_columns(released.schema),
    )
    checked = verify(pq.read_table(path), plan)
    return checked, file_sha256(path), path.stat().st_size


def _store(
    session: Session,
    settings: Settings,
    principal: Principal,
    ds: Dataset,
    v: DatasetVersion,
    plan: PlanIn,
    released: pa.Table,
    public_fields: list[dict],
    report: dict,
    reused: Release | None,
) -> Release:
    """Write the file in a staging area, check the written file, and place it under its hash."""
    store = version_store(settings)
    with store.staging() as ws:
        path = ws.path("release.parquet")
        checked, digest, size = write_checked(released, plan, path)
        key = store.put_release(path, ds.id, digest)
    report = {**report, **checked, "rows_in": v.row_count}
    release = Release(
        dataset_id=ds.id,
        version_id=v.id,
        version_number=v.number,
        state="pending",
        plan=json.loads(plan.model_dump_json()),
        reused_from_id=reused.id if reused else None,
        path=key,
        sha256=digest,
        byte_size=size,
        row_count=released.num_rows,
        public_fields=public_fields,
        report=report,
        prepared_by_id=principal.user_id,
        prepared_at=utcnow(),
    )
    release.dataset = ds
    session.add(release)
    session.flush()
    ledger.append(
        session,
        events.ReleasePrepared(
            release_id=release.id,
            version=v.number,
            plan=release.plan,
            reused_from=release.reused_from_id,
            fields=[f["name"] for f in public_fields],
            sha256=digest,
            rows=released.num_rows,
            k=checked["k"],
            l=checked["l"],
            suppressed=int(report.get("suppressed", 0)),
        ),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=ds.id,
    )
    return release


def _master_key(settings: Settings) -> bytes:
    path = settings.keys_dir / "opendata-mask.key"
    if not path.exists():
        import secrets

        create_once(path, secrets.token_hex(32).encode())
    return bytes.fromhex(path.read_text().strip())


# -- deciding ---------------------------------------------------------------------------------


def _move(session: Session, principal: Principal, release: Release, to: str, reason: str | None) -> None:
    limits.check(reason, limits.REASON, "reason")
    if to not in TRANSITIONS.get(release.state, ()):
        raise Conflict(
            M_(
                "Cannot move a %(state)s release to %(to)s",
                state=M_(STATE_LABELS[release.state]),
                to=M_(STATE_LABELS[to]),
            ),
            state=release.state,
        )
    before, release.state = release.state, to
    ledger.append(
        session,
        events.MOVES[to](release_id=release.id, from_=before, to=to, reason=reason, sha256=release.sha256),
        user_id=principal.user_id,
        department_id=principal.department_id,
        dataset_id=release.dataset_id,
    )


def approve_release(
    session: Session, settings: Settings, principal: Principal, release: Release, reason: str | None = None
) -> Release:
    """Publish a pending release: by a second person, the file still the one that was checked."""
    _require_approver(principal, release)
    require_open(release.dataset)
    _refuse_damaged(settings, release)
    require_not_held(session, release.dataset, release.version)  # a run since preparing may have blocked it
    _move(session, principal, release, "published", reason)
    release.decided_by_id, release.decided_at, release.decision_reason = principal.user_id, utcnow(), reason
    release.published_at = release.decided_at
    return release


def reject_release(session: Session, principal: Principal, release: Release, reason: str) -> Release:
    _require_approver(principal, release)
    reason = _need_reason(reason)
    _move(session, principal, release, "rejected", reason)
    release.decided_by_id, release.decided_at, release.decision_reason = principal.user_id, utcnow(), reason
    return release


def withdraw_release(session: Session, principal: Principal, release: Release, reason: str) -> Release:
    """Take a release off at once: it is no longer served (`published.release_table_path` refuses it)."""
    if not can_manage(principal, release.dataset):
        raise Forbidden(M_("owner department's steward or admin only"))
    reason = _need_reason(reason)
    _move(session, principal, release, "withdrawn", reason)
    release.withdrawn_by_id, release.withdrawn_at, release.withdraw_reason = (
        principal.user_id,
        utcnow(),
        reason,
    )
    return release


def _need_reason(reason: str | None) -> str:
    limits.check(reason, limits.REASON, "reason")
    if not reason or not reason.strip():
        raise InvalidInput(M_("A reason is required"), where="reason")
    return reason.strip()


def _refuse_damaged(settings: Settings, release: Release) -> None:
    path: Path = version_store(settings).path(release.path)
    if not path.exists() or file_sha256(path) != release.sha256:
        raise DataDamaged(
            M_("The file of release %(id)s is missing or no longer the one that was checked", id=release.id)
        )
