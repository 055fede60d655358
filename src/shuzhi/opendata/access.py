"""Who may read the rows and files of a published release: anyone for 无条件开放, only approved readers for 有条件开放.

Every face that hands out a release's data (the CKAN download route and datastore, the staff API,
the public portal) asks `may_read_data` through `published.release_table_path`; the metadata of a
conditional dataset stays public, its data does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from shuzhi.errors import Forbidden
from shuzhi.i18n import M_
from shuzhi.opendata.models import Release
from shuzhi.orgs.service import Principal

FACES = ("download", "datastore", "sql", "preview", "api")
"""How a release's data was read, as its ledger entry names it."""


@dataclass(frozen=True)
class Reader:
    """Who asks for a release's data: a staff member, a registered portal user, or nobody known."""

    staff: Principal | None = None
    portal_user_id: int | None = None

    @property
    def anonymous(self) -> bool:
        return self.staff is None and self.portal_user_id is None


ANONYMOUS = Reader()


@dataclass(frozen=True)
class Grant:
    """Why a read is allowed: `open` (无条件开放, no record kept), `department` (staff of the owning
    department), `admin`, or `application` (an approved application, named by `application_id`)."""

    basis: str
    application_id: int | None = None

    @property
    def recorded(self) -> bool:
        """Whether the read is written to the ledger (every read of a conditional release is)."""
        return self.basis != "open"


OPEN = Grant("open")


def may_read_data(session: Session, release: Release, reader: Reader, *, today: date | None = None) -> Grant:
    """The grant under which `reader` may read the published `release`'s data; Forbidden otherwise.

    Conditional data goes to staff of the owning department, to admins, and to a portal user with
    an application for the dataset approved and current on `today` (UTC date)."""
    if release.dataset.open_type == "unconditional":
        return OPEN
    staff = reader.staff
    if staff is not None:
        if staff.is_admin:
            return Grant("admin")
        if staff.department_id == release.dataset.department_id:
            return Grant("department")
    if reader.portal_user_id is not None:
        from shuzhi.opendata import applications

        found = applications.current_application(session, reader.portal_user_id, release.dataset_id, today)
        if found is not None:
            return Grant("application", found.id)
    raise Forbidden(
        M_(
            "The data of %(dataset)s is open on condition: only applicants whose application was approved may read it",
            dataset=release.dataset.identifier,
        ),
        where="release",
    )
