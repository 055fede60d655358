"""Names for the ids a ledger entry holds (users, departments, datasets), and the reverse for filters.

The ledger stores ids only (it sits below the domains that own the names); auditors read and ask by
name, from the pages and the command line alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from shuzhi.catalog.models import Dataset
from shuzhi.errors import InvalidInput
from shuzhi.i18n import M_, N_
from shuzhi.orgs.models import Department, User

_KINDS = {
    "user": (User, User.username, N_("user")),
    "department": (Department, Department.code, N_("department")),
    "dataset": (Dataset, Dataset.identifier, N_("dataset")),
}


def resolve(session: Session, kind: str, value: str | int | None) -> int | None:
    """The id of a user (username), department (code) or dataset (identifier) named in a filter; a
    number is taken as the id itself, blank as no filter. An unknown name is refused naming it."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    model, column, zh = _KINDS[kind]
    found = session.scalar(select(model.id).where(column == value))
    if found is None:
        raise InvalidInput(M_("no %(kind)s %(value)r", kind=M_(zh), value=value), where=kind)
    return found


@dataclass
class EntryNames:
    """Names of the users, departments and datasets some entries refer to, by id."""

    users: dict[int, str] = field(default_factory=dict)
    depts: dict[int, str] = field(default_factory=dict)
    datasets: dict[int, str] = field(default_factory=dict)

    def of(self, entry: dict) -> dict:
        """The entry's who and what as names (the id where the thing no longer exists), "" for none."""
        return {
            "user": _named(self.users, entry.get("user_id")),
            "dept": _named(self.depts, entry.get("department_id")),
            "dataset": _named(self.datasets, entry.get("dataset_id")),
        }


def _named(names: dict[int, str], key: int | None) -> str:
    return "" if key is None else names.get(key, str(key))


def names_for(session: Session, entries: Iterable) -> EntryNames:
    """One query per kind for every id the entries hold."""
    entries = list(entries)
    wanted = {
        kind: {getattr(e, attr) for e in entries if getattr(e, attr)}
        for kind, attr in (("user", "user_id"), ("department", "department_id"), ("dataset", "dataset_id"))
    }

    def lookup(kind: str) -> dict[int, str]:
        model, column, _ = _KINDS[kind]
        if not wanted[kind]:
            return {}
        return dict(session.execute(select(model.id, column).where(model.id.in_(wanted[kind]))).all())

    return EntryNames(lookup("user"), lookup("department"), lookup("dataset"))
