"""Departments, users, passwords, tokens and login sessions."""

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.conftest import PASSWORD

from shuzhi.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from shuzhi.orgs import service as orgs
from shuzhi.orgs.models import ApiToken, User
from shuzhi.store.base import utcnow


def test_department_hierarchy(db):
    with db.transaction() as s:
        orgs.create_department(s, code="JS", name_zh="江苏省人民政府", level="province", region_code="320000")
        orgs.create_department(s, code="SZ", name_zh="苏州市人民政府", parent_code="JS", region_code="320500")
        orgs.create_department(s, code="SZ-GA", name_zh="苏州市公安局", parent_code="SZ")
        d = orgs.create_department(
            s, code="GS-GA", name_zh="姑苏区公安分局", level="district", parent_code="SZ-GA"
        )
        assert [x.code for x in orgs.department_path(d)] == ["JS", "SZ", "SZ-GA", "GS-GA"]
    with db.session() as s:
        assert {c.code for c in orgs.get_department(s, "SZ").children} == {"SZ-GA"}


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"code": "bad code!", "name_zh": "x"}, "code"),
        ({"code": "OK", "name_zh": "  "}, "name_zh"),
        ({"code": "OK", "name_zh": "x", "level": "galaxy"}, "level"),
        ({"code": "OK", "name_zh": "x", "region_code": "32"}, "region_code"),
    ],
)
def test_department_validation(db, kwargs, where):
    with pytest.raises(InvalidInput) as e, db.transaction() as s:
        orgs.create_department(s, **kwargs)
    assert e.value.where == where


def test_duplicate_and_unknown_parent(db):
    with db.transaction() as s:
        orgs.create_department(s, code="A", name_zh="甲")
    with pytest.raises(Conflict), db.transaction() as s:
        orgs.create_department(s, code="A", name_zh="乙")
    with pytest.raises(NotFound), db.transaction() as s:
        orgs.create_department(s, code="B", name_zh="乙", parent_code="NOPE")


def test_the_platform_hashes_passwords_at_argon2s_recommended_cost():
    """The tests hash at argon2's least cost (tests/conftest.py); the platform itself at RFC 9106's
    second recommended option: argon2id, 3 passes over 64 MiB."""
    from tests.conftest import PLATFORM_HASHER

    assert PLATFORM_HASHER.type.name == "ID"
    assert PLATFORM_HASHER.time_cost >= 3 and PLATFORM_HASHER.memory_cost >= 64 * 1024


def test_password_is_argon2_and_checked(db, make_user):
    make_user("li.na", roles=("steward",))
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == "li.na"))
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
    with db.transaction() as s:
        assert orgs.authenticate(s, "li.na", PASSWORD).username == "li.na"
        assert orgs.authenticate(s, "li.na", "wrong-password") is None
        assert orgs.authenticate(s, "nobody", PASSWORD) is None


def test_roles_are_validated(db, make_user):
    with pytest.raises(InvalidInput) as e:
        make_user("x1", roles=("superuser",))
    assert e.value.where == "roles"
    with pytest.raises(InvalidInput):
        make_user("x2", roles=())


def test_short_password_rejected(db):
    with db.transaction() as s:
        orgs.create_department(s, code="GA", name_zh="公安")
    with pytest.raises(InvalidInput) as e, db.transaction() as s:
        orgs.create_user(s, username="u1", password="short", department_code="GA", roles=["analyst"])
    assert e.value.where == "password"


def test_token_shown_once_stored_hashed_expires_and_revokes(db, make_user):
    p = make_user("wang", roles=("analyst",))
    with db.transaction() as s:
        token, clear = orgs.create_token(s, orgs.get_user(s, "wang"), days=1)
        token_id = token.id
    assert clear.startswith("szt_")
    with db.session() as s:
        row = s.get(ApiToken, token_id)
        assert clear not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
        assert orgs.principal_from_token(s, clear).user_id == p.user_id
        with pytest.raises(Unauthenticated):
            orgs.principal_from_token(s, clear, now=utcnow() + timedelta(days=2))
        with pytest.raises(Unauthenticated):
            orgs.principal_from_token(s, clear + "x")
    with db.transaction() as s:
        orgs.revoke_token(s, token_id)
    with db.session() as s, pytest.raises(Unauthenticated):
        orgs.principal_from_token(s, clear)


def test_only_owner_or_admin_revokes(db, make_user):
    make_user("owner", roles=("analyst",))
    other = make_user("other", roles=("analyst",))
    admin = make_user("root", roles=("admin",))
    with db.transaction() as s:
        token, _ = orgs.create_token(s, orgs.get_user(s, "owner"))
        tid = token.id
    with pytest.raises(Forbidden), db.transaction() as s:
        orgs.revoke_token(s, tid, actor=other)
    with db.transaction() as s:
        assert orgs.revoke_token(s, tid, actor=admin).revoked_at is not None


def test_login_session_lifecycle(db, make_user):
    make_user("zhao", roles=("analyst",))
    with db.transaction() as s:
        login, clear = orgs.start_login_session(s, orgs.get_user(s, "zhao"), hours=1)
    with db.transaction() as s:
        found = orgs.find_login_session(s, clear)
        assert found is not None and len(found.csrf_token) >= 24
        orgs.end_login_session(s, found)
    with db.session() as s:
        assert orgs.find_login_session(s, clear) is None


def test_two_role_changes_of_one_user_at_once_take_turns(db, make_user):
    """Two write transactions change one user's roles to the same set at the same time: the second
    waits for the first and starts from what it left (on PostgreSQL it used to delete rows already
    gone and collide with the rows the first had added)."""
    import threading
    import time

    make_user("ana", roles=("analyst",))
    first_flushed, second_started, errors = threading.Event(), threading.Event(), []

    def first():
        with db.write() as s:
            orgs.set_roles(s, orgs.get_user(s, "ana"), ["steward"])
            first_flushed.set()
            second_started.wait(10)
            time.sleep(0.5)  # the second is now waiting on this transaction

    def second():
        first_flushed.wait(10)
        try:
            second_started.set()
            with db.write() as s:
                orgs.set_roles(s, orgs.get_user(s, "ana"), ["steward"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with db.read() as s:
        assert set(orgs.get_user(s, "ana").roles) == {"steward"}
