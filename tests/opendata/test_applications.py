"""Applications for conditional open data: registering, applying, the department's decision, and what it lets through."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.opendata.conftest import add_dataset, plan, population

from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import applications, published, releases
from shuzhi.opendata.access import Reader
from shuzhi.opendata.application_models import Application, PortalUser
from shuzhi.opendata.models import Release
from shuzhi.orgs import service as orgs

TODAY = date.today()


def _publish(world, dataset: str, preparer, approver) -> int:
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, preparer, dataset, plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, approver, s.get(Release, rid))
    return rid


@pytest.fixture
def release(world) -> int:
    """The published release of population (GA, conditional)."""
    return _publish(world, "population", world.steward, world.steward2)


def register(world, email: str = "li@example.org") -> int:
    with world.db.transaction() as s:
        return applications.register(
            s, email=email, password="correct horse", display_name="李研究", organisation="某大学"
        ).id


def apply(world, user_id: int, dataset: str = "population", **over) -> int:
    args = {
        "purpose": "研究低保覆盖率",
        "organisation": "某大学",
        "start": TODAY,
        "end": TODAY + timedelta(days=30),
        "accepted_terms": applications.terms_sha256(),
        **over,
    }
    with world.db.transaction() as s:
        return applications.apply(s, s.get(PortalUser, user_id), dataset, **args).id


def decide(world, app_id: int, who, action: str, *args, **kw):
    with world.db.transaction() as s:
        app = s.get(Application, app_id)
        getattr(applications, action)(s, who, app, *args, **kw)
        return applications.shown_state(app)


def read(world, release_id: int, user_id: int | None, *, today: date | None = None):
    with world.db.transaction() as s:
        if today is None:
            return published.release_table_path(
                s, world.settings, release_id, reader=Reader(portal_user_id=user_id)
            )
        from shuzhi.opendata.access import may_read_data

        return may_read_data(s, s.get(Release, release_id), Reader(portal_user_id=user_id), today=today)


def entries(world, event: str) -> list[dict]:
    with world.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [{**json.loads(e.entry)["detail"], "_user": e.user_id} for e in rows]


def test_register_hashes_the_password_and_refuses_duplicates_and_bad_input(world):
    uid = register(world, "Li@Example.org ")
    with world.db.read() as s:
        user = s.get(PortalUser, uid)
        assert user.email == "li@example.org" and user.password_hash.startswith("$argon2")
    with pytest.raises(Conflict):
        register(world, "LI@example.org")
    for email, password in (("not-an-address", "correct horse"), ("a@b.cn", "short")):
        with world.db.transaction() as s, pytest.raises(InvalidInput):
            applications.register(s, email=email, password=password, display_name="x", organisation="y")
    [registered] = entries(world, "opendata.portal_user_registered")
    assert registered["portal_user_id"] == uid and "password" not in json.dumps(registered).replace(
        "password_digest", ""
    )


def test_portal_login_checks_the_password_and_records_failures(world):
    uid = register(world)
    auth = world.settings.auth
    assert (
        applications.sign_in(world.db, "li@example.org", "wrong one", address="10.0.0.1", auth=auth) is None
    )
    clear = applications.sign_in(world.db, "LI@example.org", "correct horse", address="10.0.0.1", auth=auth)
    with world.db.transaction() as s:
        login = applications.find_session(s, clear)
        assert login.portal_user_id == uid
        applications.end_session(s, login)
    with world.db.read() as s:
        assert applications.find_session(s, clear) is None
    assert [e["email"] for e in entries(world, "opendata.portal_login_failed")] == ["li@example.org"]
    assert len(entries(world, "opendata.portal_login")) == len(entries(world, "opendata.portal_logout")) == 1


def test_a_portal_user_is_no_staff_member(world):
    register(world, "ga_steward@example.org")
    clear = applications.sign_in(
        world.db, "ga_steward@example.org", "correct horse", address=None, auth=world.settings.auth
    )
    with world.db.read() as s:
        # the portal cookie is no staff login, and no staff account exists for the portal user
        assert orgs.find_login_session(s, clear) is None
        with pytest.raises(NotFound):
            orgs.get_user(s, "ga_steward@example.org")


def test_the_whole_path_submit_approve_read_revoke(world, release):
    uid = register(world)
    app_id = apply(world, uid)
    with pytest.raises(Forbidden):  # not before approval
        read(world, release, uid)
    assert decide(world, app_id, world.steward, "approve", reason="用途明确") == "approved"
    path = read(world, release, uid)
    assert path.is_file()
    [data_read] = entries(world, "opendata.data_read")
    assert data_read["application_id"] == app_id and data_read["portal_user_id"] == uid
    assert data_read["basis"] == "application" and data_read["face"] == "download"
    with world.db.read() as s:
        assert applications.reader_may_download(s, s.get(PortalUser, uid), release)
        assert not applications.reader_may_download(s, None, release)
    assert decide(world, app_id, world.steward2, "revoke", "超范围使用") == "revoked"
    with pytest.raises(Forbidden):
        read(world, release, uid)
    [submitted] = entries(world, "opendata.application_submitted")
    assert submitted["terms_sha256"] == applications.terms_sha256() and submitted["portal_user_id"] == uid
    [approved] = entries(world, "opendata.application_approved")
    assert (
        approved["_user"] == world.steward.user_id
        and approved["end"] == (TODAY + timedelta(days=30)).isoformat()
    )
    [revoked] = entries(world, "opendata.application_revoked")
    assert revoked["reason"] == "超范围使用" and revoked["_user"] == world.steward2.user_id


def test_only_the_owning_departments_stewards_or_admins_decide(world, release):
    uid = register(world)
    app_id = apply(world, uid)
    for who in (world.other_steward, world.analyst):
        with pytest.raises(Forbidden):
            decide(world, app_id, who, "approve")
    with world.db.read() as s:
        with pytest.raises(NotFound):  # another department's steward does not even see it
            applications.get_for_staff(s, world.other_steward, app_id)
        with pytest.raises(Forbidden):
            applications.for_staff(s, world.analyst)
        assert [a.id for a in applications.for_staff(s, world.steward)] == [app_id]
        assert applications.for_staff(s, world.other_steward) == []
    assert decide(world, app_id, world.admin, "approve") == "approved"


def test_an_applicant_never_decides_their_own_application(world, release, db):
    with db.transaction() as s:
        orgs.get_user(s, "ga_steward2").email = "li@example.org"
    app_id = apply(world, register(world, "li@example.org"))
    with pytest.raises(Forbidden, match="own"):
        decide(world, app_id, world.steward2, "approve")
    with pytest.raises(Forbidden, match="own"):
        decide(world, app_id, world.steward2, "reject", "不合适")
    assert decide(world, app_id, world.steward, "approve") == "approved"


def test_rejected_gives_nothing_and_needs_a_reason(world, release):
    uid = register(world)
    app_id = apply(world, uid)
    with pytest.raises(InvalidInput):
        decide(world, app_id, world.steward, "reject", " ")
    assert decide(world, app_id, world.steward, "reject", "用途不明") == "rejected"
    with pytest.raises(Forbidden):
        read(world, release, uid)
    with pytest.raises(Conflict):
        decide(world, app_id, world.steward, "approve")
    with pytest.raises(Conflict):
        decide(world, app_id, world.steward, "revoke", "x")
    apply(world, uid)  # a rejected one does not stop a new application


def test_an_approval_may_shorten_the_period_never_lengthen_it_and_expiry_ends_it(world, release):
    uid = register(world)
    app_id = apply(world, uid)
    with pytest.raises(InvalidInput):
        decide(world, app_id, world.steward, "approve", end=TODAY + timedelta(days=31))
    decide(world, app_id, world.steward, "approve", end=TODAY + timedelta(days=5))
    with world.db.read() as s:
        app = s.get(Application, app_id)
        assert (app.granted_start, app.granted_end) == (TODAY, TODAY + timedelta(days=5))
        assert applications.shown_state(app, TODAY + timedelta(days=6)) == "expired"
    assert read(world, release, uid, today=TODAY + timedelta(days=5)).application_id == app_id
    with pytest.raises(Forbidden):
        read(world, release, uid, today=TODAY + timedelta(days=6))
    with pytest.raises(Forbidden):
        read(world, release, uid, today=TODAY - timedelta(days=1))


def test_another_users_approval_lets_nobody_else_read(world, release):
    owner, other = register(world, "a@example.org"), register(world, "b@example.org")
    decide(world, apply(world, owner), world.steward, "approve")
    with pytest.raises(Forbidden):
        read(world, release, other)
    with world.db.read() as s:
        with pytest.raises(NotFound):
            applications.my_application(s, s.get(PortalUser, other), 1)
        assert [a.portal_user_id for a in applications.mine(s, s.get(PortalUser, other))] == []


@pytest.mark.parametrize(
    "over, where",
    [
        ({"start": TODAY - timedelta(days=1)}, "start"),
        ({"start": TODAY + timedelta(days=181), "end": TODAY + timedelta(days=200)}, "start"),
        ({"end": TODAY - timedelta(days=1)}, "end"),
        ({"end": TODAY + timedelta(days=366)}, "end"),
        ({"accepted_terms": None}, "terms"),
        ({"accepted_terms": "0" * 64}, "terms"),
        ({"purpose": "  "}, "purpose"),
    ],
)
def test_bad_applications_are_refused(world, release, over, where):
    uid = register(world)
    with pytest.raises(InvalidInput) as refused:
        apply(world, uid, **over)
    assert refused.value.where == where


def test_only_published_conditional_datasets_take_applications(world, release):
    uid = register(world)
    add_dataset(world.db, world.settings, world.steward, "roads", "unconditional", population(60))
    _publish(world, "roads", world.steward, world.steward2)
    with pytest.raises(InvalidInput):
        apply(world, uid, "roads")
    add_dataset(world.db, world.settings, world.steward, "unpublished", "conditional", population(60))
    for dataset in ("unpublished", "secret_registry", "nothing"):
        with pytest.raises(NotFound):
            apply(world, uid, dataset)
    apply(world, uid)
    with pytest.raises(Conflict):  # one open application per dataset
        apply(world, uid)


def test_an_approval_opens_its_own_dataset_only(world, release):
    add_dataset(world.db, world.settings, world.steward, "households", "conditional", population(80, seed=9))
    other = _publish(world, "households", world.steward, world.steward2)
    uid = register(world)
    decide(world, apply(world, uid), world.steward, "approve")
    assert read(world, release, uid).is_file()
    with pytest.raises(Forbidden):
        read(world, other, uid)
    with world.db.transaction() as s:  # a deactivated account reads nothing, approval or not
        s.get(PortalUser, uid).active = False
    with pytest.raises(Forbidden):
        read(world, release, uid)


def test_application_states_reconcile_with_the_ledger(world, release):
    from shuzhi.ledger.reconcile import reconcile
    from shuzhi.opendata.state import SOURCE

    approved = apply(world, register(world))
    decide(world, approved, world.steward, "approve", end=TODAY + timedelta(days=7))
    rejected = apply(world, register(world, "wang@example.org"))
    decide(world, rejected, world.steward, "reject", "用途不明")
    revoked = apply(world, register(world, "zhao@example.org"))
    decide(world, revoked, world.steward, "approve")
    decide(world, revoked, world.steward, "revoke", "违反使用条款")
    waiting = apply(world, register(world, "sun@example.org"))
    with world.db.session() as s:
        compared, differences = reconcile(s, [SOURCE])
        assert differences == [] and compared >= 5
    with world.db.transaction() as s:
        s.get(Application, waiting).state = "approved"  # approved behind the workflow's back
        s.get(Application, approved).granted_end = TODAY + timedelta(days=300)  # period stretched
    with world.db.session() as s:
        found = {d.key["id"]: d for d in reconcile(s, [SOURCE])[1]}
    assert set(found) == {waiting, approved}
    assert all(d.table == "opendata_applications" for d in found.values())
    assert "state" in found[waiting].columns and "granted_end" in found[approved].columns
