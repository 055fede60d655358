"""The access decision: whether a principal may read a dataset, on what basis, and as which `GrantedTable`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_version
from shuzhi.config import Settings
from shuzhi.errors import Forbidden
from shuzhi.exchange.grades import version_grades
from shuzhi.exchange.keys import mask_master_key
from shuzhi.exchange.masking import MaskRule, default_rule, grant_key, parse_rule
from shuzhi.exchange.models import Grant
from shuzhi.exchange.policy import GrantedTable
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal
from shuzhi.quality.holds import shared_version
from shuzhi.store.base import utcnow

READER_ROLES = ("analyst", "steward")
"""Roles that read data. Admins and auditors administer and audit; they do not read by role alone."""


@dataclass
class Readable:
    """One dataset as this consumer may read it now."""

    dataset: Dataset
    version: DatasetVersion
    basis: str
    """'owner' · 'unconditional' · 'grant'"""
    grant: Grant | None
    table: GrantedTable
    purpose: str
    reserved_rows: int = 0
    """Rows reserved against the grant's daily quota for the running call."""
    call_counted: bool = False
    """The running call was counted against the grant's daily calls."""


def relation_name(version: DatasetVersion) -> str:
    return f"_sz_d{version.dataset_id}_v{version.number}"


def active_grants(session: Session, department_id: int, dataset_id: int, now: datetime) -> list[Grant]:
    return list(
        session.scalars(
            select(Grant)
            .where(
                Grant.department_id == department_id,
                Grant.dataset_id == dataset_id,
                Grant.revoked_at.is_(None),
                Grant.expires_at > now,
            )
            .order_by(Grant.id.desc())
        )
    )


def _latest_grant(session: Session, department_id: int, dataset_id: int) -> Grant | None:
    return session.scalar(
        select(Grant)
        .where(Grant.department_id == department_id, Grant.dataset_id == dataset_id)
        .order_by(Grant.id.desc())
        .limit(1)
    )


def grant_masks(grant: Grant | None, grades: dict[str, str], fields: list[str]) -> dict[str, MaskRule]:
    """Each field's mask: the grant's explicit rule, else its grade's default (L4: hashed)."""
    explicit = (grant.masks or {}) if grant is not None else {}
    return {
        name: parse_rule(explicit[name]) if name in explicit else default_rule(grades.get(name))
        for name in fields
    }


def decide(
    session: Session,
    settings: Settings,
    principal: Principal,
    dataset: Dataset,
    *,
    version: int | None = None,
    grant_id: int | None = None,
    purpose: str | None = None,
) -> Readable:
    """The access decision for one dataset: owner, unconditional, or an active grant — or Forbidden."""
    if principal.user_id is None or not principal.has(*READER_ROLES):
        raise Forbidden(
            M_("only analysts may read data"),
            hint=M_("admin and auditor roles do not read data"),
        )
    now = utcnow()
    fields = [f.name for f in dataset.fields]
    if principal.department_id == dataset.department_id:
        basis, grant = "owner", None
        key_scope = f"owner:{dataset.id}"
        bound_purpose = purpose or M_("own department's data")
    # A dataset reclassified as not shared stays closed even to grants made before (any channel).
    elif dataset.share_type != "none" and (grant_id is not None or dataset.share_type == "conditional"):
        grant = _grant_for(session, principal, dataset, grant_id, now)
        basis, fields = "grant", list(grant.fields)
        key_scope = f"grant:{grant.id}"
        bound_purpose = grant.purpose
    elif dataset.share_type == "unconditional":
        if not principal.has("analyst"):
            raise Forbidden(M_("unconditional data is read by analysts"))
        basis, grant = "unconditional", None
        key_scope = f"unconditional:{principal.department_id}:{dataset.id}"
        bound_purpose = purpose or M_("unconditional sharing")
    else:
        raise Forbidden(
            M_("dataset %(identifier)s is not shared", identifier=dataset.identifier),
            hint=dataset.share_basis or None,
        )
    # Outside the owning department a version held by a quality rule is not shared: the newest
    # version not held is read instead (a named held version is refused).
    ver = (
        get_version(session, dataset, version)
        if basis == "owner"
        else shared_version(session, dataset, version)
    )
    if basis == "owner":
        masks = {name: MaskRule() for name in fields}
    else:
        # Masked by the grades of the version read, never those of a newer, cleaner-looking one.
        masks = grant_masks(grant, version_grades(session, settings, dataset, ver), fields)
    table = GrantedTable(
        name=dataset.identifier.lower(),
        relation=relation_name(ver),
        fields=tuple((f.name, f.type) for f in dataset.fields),
        masks=masks,
        row_filter=grant.row_filter if grant is not None else None,
        key=grant_key(mask_master_key(settings), key_scope),
        row_quota_grant=grant.id if grant is not None and grant.rows_per_day is not None else None,
    )
    return Readable(
        dataset=dataset, version=ver, basis=basis, grant=grant, table=table, purpose=bound_purpose
    )


def _grant_for(
    session: Session, principal: Principal, dataset: Dataset, grant_id: int | None, now: datetime
) -> Grant:
    if grant_id is not None:
        grant = session.get(Grant, grant_id)
        if grant is None or grant.dataset_id != dataset.id or grant.department_id != principal.department_id:
            raise Forbidden(
                M_("grant %(grant_id)s does not cover this dataset", grant_id=grant_id),
                dataset=dataset.identifier,
            )
        require_active(session, grant, now)
        return grant
    found = active_grants(session, principal.department_id, dataset.id, now)
    if found:
        return found[0]
    last = _latest_grant(session, principal.department_id, dataset.id)
    if last is not None:
        require_active(session, last, now)
    raise Forbidden(
        M_(
            "no active grant for dataset %(identifier)s: submit a sharing request",
            identifier=dataset.identifier,
        ),
        dataset=dataset.identifier,
    )


def require_active(session: Session, grant: Grant, now: datetime) -> None:
    """Refuse a grant that was revoked or has expired (checked again when quotas are reserved)."""
    if grant.revoked_at is not None:
        raise Forbidden(M_("grant %(id)s was revoked", id=grant.id), grant_id=grant.id)
    if grant.expires_at <= now:
        raise Forbidden(M_("grant %(id)s has expired", id=grant.id), grant_id=grant.id)
