"""The orgs services the administration pages use: editing a department, resetting a password."""

from __future__ import annotations

import json

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from tests.conftest import PASSWORD

from shuzhi.errors import Forbidden, InvalidInput, NotFound
from shuzhi.ledger import LedgerEntry, reconcile
from shuzhi.orgs import service as orgs


def _entries(db, event: str) -> list[dict]:
    with db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [json.loads(e.entry) for e in rows]


@pytest.fixture
def tree(db, make_user):
    admin = make_user("root", dept="BDB", roles=("admin",))
    with db.transaction() as s:
        orgs.create_department(s, code="SZF", name_zh="市政府")
        orgs.create_department(s, code="GA", name_zh="市公安局", parent_code="SZF")
        orgs.create_department(s, code="GA-XC", name_zh="西城分局", parent_code="GA", level="district")
    return admin


def test_update_department_renames_and_moves_audited(db, tree):
    with db.transaction() as s:
        dept = orgs.get_department(s, "GA-XC")
        orgs.update_department(
            s, dept, name_zh="西城公安分局", name_en="Xicheng branch", parent_code="SZF", actor=tree
        )
    with db.session() as s:
        dept = orgs.get_department(s, "GA-XC")
        assert (dept.name_zh, dept.name_en, dept.parent.code) == ("西城公安分局", "Xicheng branch", "SZF")
    [entry] = _entries(db, "dept.updated")
    assert entry["detail"] == {
        "code": "GA-XC",
        "name_zh": "西城公安分局",
        "name_zh_before": "西城分局",
        "name_en": "Xicheng branch",
        "name_en_before": None,
        "parent": "SZF",
        "parent_before": "GA",
    }
    assert entry["user_id"] == tree.user_id


def test_update_department_without_change_writes_nothing(db, tree):
    with db.transaction() as s:
        orgs.update_department(
            s, orgs.get_department(s, "GA"), name_zh="市公安局", parent_code="SZF", actor=tree
        )
    assert _entries(db, "dept.updated") == []


@pytest.mark.parametrize("parent", ["GA", "GA-XC"])
def test_a_department_cannot_go_under_itself_or_below_it(db, tree, parent):
    with pytest.raises(InvalidInput) as refused, db.transaction() as s:
        orgs.update_department(s, orgs.get_department(s, "GA"), name_zh="市公安局", parent_code=parent)
    assert refused.value.where == "parent"
    with db.session() as s:
        assert orgs.get_department(s, "GA").parent.code == "SZF"
    assert _entries(db, "dept.updated") == []


def test_update_department_checks_names_and_parent(db, tree):
    with pytest.raises(InvalidInput) as empty, db.transaction() as s:
        orgs.update_department(s, orgs.get_department(s, "GA"), name_zh="  ")
    assert empty.value.where == "name_zh"
    with pytest.raises(NotFound), db.transaction() as s:
        orgs.update_department(s, orgs.get_department(s, "GA"), name_zh="市公安局", parent_code="NOPE")


def test_reset_password_given_and_generated(db, tree, make_user):
    make_user("ga.analyst", dept="GA")
    with db.transaction() as s:
        assert orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), "a-new-password", actor=tree) is None
    with db.transaction() as s:
        assert orgs.authenticate(s, "ga.analyst", "a-new-password") is not None
        assert orgs.authenticate(s, "ga.analyst", PASSWORD) is None
    with db.transaction() as s:
        clear = orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), actor=tree)
    assert clear and len(clear) >= 16
    with db.transaction() as s:
        user = orgs.authenticate(s, "ga.analyst", clear)
        assert user is not None and PasswordHasher().verify(user.password_hash, clear)
    given, generated = _entries(db, "user.password_reset")
    assert given["detail"]["generated"] is False and generated["detail"]["generated"] is True
    assert clear not in json.dumps(generated) and "a-new-password" not in json.dumps(given)


def test_reset_password_ends_the_users_login_sessions(db, tree, make_user):
    make_user("ga.analyst", dept="GA")
    with db.transaction() as s:
        _, clear = orgs.start_login_session(s, orgs.get_user(s, "ga.analyst"))
        _, token = orgs.create_token(s, orgs.get_user(s, "ga.analyst"))
    with db.transaction() as s:
        orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), actor=tree)
    with db.session() as s:
        assert orgs.find_login_session(s, clear) is None
        assert orgs.principal_from_token(s, token).username == "ga.analyst"
    assert len(_entries(db, "auth.logout")) == 1


def test_reset_password_is_admin_only_and_checked(db, tree, make_user):
    steward = make_user("ga.steward", dept="GA", roles=("steward",))
    make_user("ga.analyst", dept="GA")
    with pytest.raises(Forbidden), db.transaction() as s:
        orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), "stolen-password", actor=steward)
    with pytest.raises(InvalidInput) as short, db.transaction() as s:
        orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), "short", actor=tree)
    assert short.value.where == "password"
    assert _entries(db, "user.password_reset") == []


def test_a_reset_password_reconciles_with_the_ledger(db, tree, make_user):
    """The ledger vouches for password hashes: a reset through the service leaves no difference."""
    make_user("ga.analyst", dept="GA")
    with db.transaction() as s:
        orgs.reset_password(s, orgs.get_user(s, "ga.analyst"), actor=tree)
    with db.session() as s:
        sources = reconcile.registered_sources()
        docs = [json.loads(e) for e in s.scalars(text("SELECT entry FROM ledger_entries ORDER BY seq"))]
        actual = reconcile.actual_state(s, sources)
    assert list(reconcile.compare(reconcile.expected_state(sources, docs), actual)) == []
