"""Catalog operations: register, read, update and delete datasets, with ownership checks."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shuzhi import ledger
from shuzhi import textlimits as limits
from shuzhi.catalog import events
from shuzhi.catalog.models import Dataset, DatasetField, DatasetVersion
from shuzhi.catalog.schemas import DatasetIn, DatasetOut, DatasetPatch, FieldIn, FieldOut
from shuzhi.catalog.search import index_dataset
from shuzhi.errors import Conflict, Forbidden, NotFound
from shuzhi.i18n import M_
from shuzhi.orgs.service import Principal, get_department
from shuzhi.store.db import Database


def can_manage(principal: Principal, dataset_or_dept_id: Dataset | int) -> bool:
    """Admins manage everything; a steward manages the datasets of their own department."""
    dept_id = dataset_or_dept_id if isinstance(dataset_or_dept_id, int) else dataset_or_dept_id.department_id
    return principal.is_admin or (principal.has("steward") and principal.department_id == dept_id)


def require_manage(principal: Principal, dataset_or_dept_id: Dataset | int) -> None:
    if not can_manage(principal, dataset_or_dept_id):
        raise Forbidden(M_("owner department's steward or admin only"))


def get_dataset(session: Session, ref: str | int) -> Dataset:
    """A dataset by numeric id or identifier."""
    ds = None
    if isinstance(ref, str) and ref.isascii() and ref.isdigit() and int(ref) <= limits.INT64_MAX:
        ref = int(ref)  # a larger number is no id any store holds: looked up as an identifier
    if isinstance(ref, int):
        ds = session.get(Dataset, ref)
    if ds is None:
        ds = session.scalar(select(Dataset).where(Dataset.identifier == str(ref)))
    if ds is None:
        raise NotFound(M_("no dataset %(ref)r", ref=ref), where="dataset")
    return ds


def _fields(items: list[FieldIn]) -> list[DatasetField]:
    return [
        DatasetField(
            position=i,
            name=f.name,
            type=f.type,
            description=f.description,
            standard_element=f.standard_element,
        )
        for i, f in enumerate(items)
    ]


def _alias_owner(session: Session, identifier: str) -> str | None:
    """The dataset whose SQL alias `identifier` would take over, if any."""
    from shuzhi.catalog.names import assign, may_be_alias_of

    rows = list(session.execute(select(Dataset.id, Dataset.identifier)))
    lower = identifier.lower()
    if any(ident.lower() == lower for _id, ident in rows):
        return None
    # Registering must not parse every identifier of the catalog (10,000 datasets, each a sqlglot
    # parse past the cache): aliases are settled only when some identifier could own this one.
    if not any(may_be_alias_of(lower, ident) for _id, ident in rows):
        return None
    for ds_id, alias in assign(rows).items():
        if alias == lower:
            return next(ident for i, ident in rows if i == ds_id)
    return None


def create_dataset(session: Session, principal: Principal, data: DatasetIn) -> Dataset:
    dept = get_department(session, data.department)
    require_manage(principal, dept.id)
    if session.scalar(select(Dataset.id).where(Dataset.identifier == data.identifier)):
        raise Conflict(M_("identifier %(identifier)r exists", identifier=data.identifier), where="identifier")
    owner = _alias_owner(session, data.identifier)
    if owner is not None:
        # An identifier always means its own dataset: taking another's alias would silently point
        # every query, starter and saved history written with that alias at the new dataset.
        raise Conflict(
            M_(
                "identifier %(identifier)r is the SQL alias of dataset %(owner)r: choose another",
                identifier=data.identifier,
                owner=owner,
            ),
            where="identifier",
        )
    values = data.model_dump(exclude={"department", "fields"})
    ds = Dataset(
        **values, department_id=dept.id, created_by_id=principal.user_id, fields=_fields(data.fields)
    )
    session.add(ds)
    session.flush()
    index_dataset(session, ds)
    ledger.append(
        session,
        events.DatasetCreated(
            identifier=ds.identifier, title_zh=ds.title_zh, share_type=ds.share_type, open_type=ds.open_type
        ),
        user_id=principal.user_id,
        department_id=dept.id,
        dataset_id=ds.id,
    )
    return ds


def update_dataset(session: Session, principal: Principal, ds: Dataset, patch: DatasetPatch) -> Dataset:
    require_manage(principal, ds)
    changes = patch.model_dump(exclude_unset=True)
    new_fields = changes.pop("fields", None)
    share_type = changes.get("share_type", ds.share_type)
    basis = changes.get("share_basis", ds.share_basis)
    if share_type == "none" and not (basis or "").strip():
        from shuzhi.errors import InvalidInput

        raise InvalidInput(
            M_("share_basis is required when share_type is 'none'"),
            where="share_basis",
        )
    for key, value in changes.items():
        setattr(ds, key, value)
    if new_fields is not None:
        merge_fields(ds, [FieldIn(**f) for f in new_fields])
    session.flush()
    index_dataset(session, ds)
    ledger.append(
        session,
        events.DatasetUpdated(
            changed=sorted(changes) + (["fields"] if new_fields else []),
            values={k: getattr(ds, k) for k in ("share_type", "open_type") if k in changes},
        ),
        user_id=principal.user_id,
        department_id=ds.department_id,
        dataset_id=ds.id,
    )
    return ds


def merge_fields(ds: Dataset, items: list[FieldIn]) -> None:
    """Bring the field list in line with `items`, keeping descriptions that the new list leaves empty."""
    old = {f.name: f for f in ds.fields}
    merged = []
    for i, item in enumerate(items):
        f = old.get(item.name) or DatasetField(name=item.name)
        f.position, f.type = i, item.type
        f.description = item.description or f.description
        f.standard_element = item.standard_element or f.standard_element
        merged.append(f)
    ds.fields = merged


def delete_dataset(session: Session, principal: Principal, ds: Dataset) -> None:
    require_manage(principal, ds)
    ledger.append(
        session,
        events.DatasetDeleted(identifier=ds.identifier, versions=[v.number for v in ds.versions]),
        user_id=principal.user_id,
        department_id=ds.department_id,
        dataset_id=ds.id,
    )
    session.delete(ds)
    session.flush()


def latest_version(session: Session, ds: Dataset) -> DatasetVersion | None:
    return session.scalar(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == ds.id)
        .order_by(DatasetVersion.number.desc())
        .limit(1)
    )


def get_version(session: Session, ds: Dataset, number: int | None = None) -> DatasetVersion:
    v = (
        latest_version(session, ds)
        if number is None
        else session.scalar(
            select(DatasetVersion).where(DatasetVersion.dataset_id == ds.id, DatasetVersion.number == number)
        )
    )
    if v is None:
        raise NotFound(
            M_(
                "dataset %(identifier)s has no version %(value)s",
                identifier=ds.identifier,
                value=number or "",
            ),
            where="version",
        )
    return v


VALUE_KEYS = ("min", "max", "top")
"""Profile entries that carry data values, not statistics about them."""


def can_see_profile_values(principal: Principal, ds: Dataset) -> bool:
    """Min, max and most common values are data: only the owning department's stewards see them.

    Not the platform admin, who runs the platform but does not read data."""
    return principal.has("steward") and principal.department_id == ds.department_id


def sensitive_columns(session: Session, settings, ds: Dataset) -> frozenset[str]:
    """Fields whose values are sensitive, as the grading domain says (the `sensitive_columns` hook);
    every field when no domain says (nothing yet vouches that a value is harmless)."""
    from shuzhi.hooks import plugin_manager  # the domains load only when asked

    answers = plugin_manager().hook.sensitive_columns(session=session, settings=settings, dataset=ds)
    if not answers:
        return frozenset(ds.field_names())
    return frozenset(name for names in answers for name in (names or []))


@dataclass(frozen=True)
class ProfileValues:
    """Which values of a profile a caller who may see values is shown: those of the sensitive
    fields only when they asked (`reveal`), which their audit entry then names."""

    sensitive: frozenset[str]
    reveal: bool = False

    @classmethod
    def for_viewer(
        cls, session: Session, settings, principal: Principal, ds: Dataset, *, reveal: bool = False
    ) -> ProfileValues:
        """What this viewer is shown: grading is asked which fields are sensitive only when the
        viewer may see values at all (everyone else sees statistics, whatever the grading)."""
        if not can_see_profile_values(principal, ds):
            return cls(frozenset())
        return cls(sensitive_columns(session, settings, ds), reveal=reveal)


def visible_profile(principal: Principal, ds: Dataset, profile: dict | None, values: ProfileValues) -> dict:
    """A version's profile as this caller may see it: everyone but the owning department's stewards
    sees the statistics (null share, distinct estimate) without values; those stewards see the
    values too, except those of sensitive fields unless they asked to reveal them. A caller shown values must have the read audited
    (`audit_profile_values`)."""
    profile = dict(profile or {})
    if not can_see_profile_values(principal, ds):
        profile["columns"] = [_without_values(col) for col in profile.get("columns", [])]
        profile["values_hidden"] = True
        return profile
    held = (
        [] if values.reveal else [c for c in profile.get("columns", []) if c.get("name") in values.sensitive]
    )
    profile["columns"] = [
        {**_without_values(col), "values_masked": True} if col in held else col
        for col in profile.get("columns", [])
    ]
    profile["sensitive_masked"] = [c.get("name") for c in held]
    return profile


def _without_values(col: dict) -> dict:
    return {k: v for k, v in col.items() if k not in VALUE_KEYS}


def audit_profile_values(
    db: Database,
    principal: Principal,
    ds: Dataset,
    versions: list[DatasetVersion],
    *,
    channel: str,
    values: ProfileValues,
) -> None:
    """One 'profile.values_read' entry when these versions' profiles were shown with values, naming
    the sensitive fields revealed.

    Owns its write transaction: the page or API read that shows the values stays a read (no write
    lock for every viewer), and only a viewer who sees values takes one, before the answer leaves."""
    if not can_see_profile_values(principal, ds):
        return

    def shown_in(v: DatasetVersion) -> set[str]:
        names = {col.get("name") for col in (v.profile or {}).get("columns", [])}
        return names if values.reveal else names - values.sensitive

    shown = [v.number for v in versions if shown_in(v)]
    if not shown:
        return  # every value held back: nothing was read
    revealed = sorted({n for v in versions for n in shown_in(v) & values.sensitive})
    with db.write() as session:
        ledger.append(
            session,
            events.ProfileValuesRead(
                dataset=ds.identifier, versions=shown, channel=channel, revealed=revealed or ledger.ABSENT
            ),
            user_id=principal.user_id,
            department_id=principal.department_id,
            dataset_id=ds.id,
        )


UPDATE_PERIODS = {
    "daily": (0, 1),
    "weekly": (0, 7),
    "monthly": (1, 0),
    "quarterly": (3, 0),
    "yearly": (12, 0),
}
"""Months and days between updates, by update frequency; realtime and irregular have no next date."""


def next_update(frequency: str | None, last: datetime | None) -> datetime | None:
    """When the next version is due, from the update frequency and the last version (None when the
    frequency promises no date or nothing was loaded yet)."""
    period = UPDATE_PERIODS.get(frequency or "")
    if period is None or last is None:
        return None
    months, days = period
    month_index = last.month - 1 + months
    year, month = last.year + month_index // 12, month_index % 12 + 1
    day = min(last.day, calendar.monthrange(year, month)[1])
    return last.replace(year=year, month=month, day=day) + timedelta(days=days)


def latest_numbers(session: Session, dataset_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(DatasetVersion.dataset_id, func.max(DatasetVersion.number))
        .where(DatasetVersion.dataset_id.in_(dataset_ids))
        .group_by(DatasetVersion.dataset_id)
    )
    return dict(rows.all())


def to_out(ds: Dataset, latest: int | None) -> DatasetOut:
    return DatasetOut(
        **{
            k: getattr(ds, k)
            for k in DatasetOut.model_fields
            if hasattr(ds, k) and k not in ("department", "fields")
        },
        department=ds.department.code,
        department_name=ds.department.name_zh,
        fields=[FieldOut.model_validate(f) for f in ds.fields],
        latest_version=latest,
    )
