"""Every security action, done through the real faces, leaves its ledger entry with the right who/where/what."""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from tests.conftest import PASSWORD

from shuzhi.ledger import LedgerEntry
from shuzhi.orgs import service as orgs

DATASET = {
    "identifier": "GA-RK-001",
    "title_zh": "常住人口基本信息",
    "department": "GA",
    "theme": "population",
    "share_type": "conditional",
    "open_type": "none",
    "fields": [{"name": "sfzh", "type": "VARCHAR", "description": "居民身份证号"}],
}


@dataclass
class World:
    client: object
    db: object
    admin: orgs.Principal
    steward: orgs.Principal
    admin_headers: dict[str, str]
    steward_headers: Callable[[], dict[str, str]]

    def dept_id(self, code: str) -> int:
        with self.db.session() as s:
            return orgs.get_department(s, code).id

    def new_dataset(self) -> int:
        r = self.client.post("/api/v1/datasets", json=DATASET, headers=self.admin_headers)
        assert r.status_code == 201, r.text
        return r.json()["id"]


# Each action returns the (user_id, department_id, dataset_id) its ledger entry must carry.
Action = Callable[[World], tuple[int | None, int | None, int | None]]


def _login(w: World):
    form = w.client.get("/login").text
    token = re.search(r'name="login_csrf" value="([^"]+)"', form).group(1)
    r = w.client.post(
        "/login",
        data={"username": "ga.steward", "password": PASSWORD, "login_csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return w.steward.user_id, w.steward.department_id, None


def _token_created(w: World):
    r = w.client.post("/api/v1/tokens", json={"username": "ga.steward", "password": PASSWORD})
    assert r.status_code == 201, r.text
    return w.steward.user_id, w.steward.department_id, None


def _token_revoked(w: World):
    created = w.client.post("/api/v1/tokens", json={"username": "ga.steward", "password": PASSWORD}).json()
    r = w.client.delete(
        f"/api/v1/tokens/{created['id']}", headers={"Authorization": f"Bearer {created['token']}"}
    )
    assert r.status_code == 200 and r.json()["revoked"], r.text
    return w.steward.user_id, w.steward.department_id, None


def _user_created(w: World):
    body = {"username": "wang.wu", "password": PASSWORD, "department": "GA", "roles": ["analyst"]}
    assert w.client.post("/api/v1/users", json=body, headers=w.admin_headers).status_code == 201
    return w.admin.user_id, w.dept_id("GA"), None


def _user_updated(w: World):
    r = w.client.patch(
        "/api/v1/users/ga.steward", json={"roles": ["analyst", "auditor"]}, headers=w.admin_headers
    )
    assert r.status_code == 200 and r.json()["roles"] == ["analyst", "auditor"], r.text
    return w.admin.user_id, w.steward.department_id, None


def _dept_created(w: World):
    body = {"code": "SCJG", "name_zh": "市市场监督管理局", "parent": "BDB"}
    assert w.client.post("/api/v1/departments", json=body, headers=w.admin_headers).status_code == 201
    return w.admin.user_id, w.dept_id("SCJG"), None


def _dataset_created(w: World):
    return w.admin.user_id, w.dept_id("GA"), w.new_dataset()


def _dataset_updated(w: World):
    ds_id = w.new_dataset()
    r = w.client.patch("/api/v1/datasets/GA-RK-001", json={"title_en": "Residents"}, headers=w.admin_headers)
    assert r.status_code == 200, r.text
    return w.admin.user_id, w.dept_id("GA"), ds_id


def _dataset_deleted(w: World):
    ds_id = w.new_dataset()
    assert w.client.delete("/api/v1/datasets/GA-RK-001", headers=w.admin_headers).status_code == 204
    return w.admin.user_id, w.dept_id("GA"), ds_id


def _alert_resolved(w: World):
    ds_id = w.new_dataset()
    names = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
    diagnoses = ["高血压", "2型糖尿病", "肺炎", "冠心病", "抑郁症", "胃炎"]
    for cols in ({"xm": names}, {"xm": names, "zdmc": diagnoses}):  # the diagnosis column raises alerts
        rows = [",".join(r) for r in zip(*cols.values(), strict=True)] * 5
        body = "\n".join([",".join(cols), *rows]) + "\n"
        r = w.client.post(
            "/api/v1/datasets/GA-RK-001/versions", headers=w.admin_headers, files={"file": ("rk.csv", body)}
        )
        assert r.status_code == 201, r.text
    info = w.client.get("/api/v1/datasets/GA-RK-001/classification", headers=w.admin_headers).json()
    alert = next(a for a in info["alerts"] if a["kind"] == "sensitive_column_added")
    r = w.client.post(
        f"/api/v1/datasets/GA-RK-001/classification/alerts/{alert['id']}/resolve",
        json={"note": "诊断列为真实数据，已登记"},
        headers=w.steward_headers(),
    )
    assert r.status_code == 200 and r.json()["resolved"], r.text
    return w.steward.user_id, w.steward.department_id, ds_id


ACTIONS: dict[str, Action] = {
    "auth.login": _login,
    "token.created": _token_created,
    "token.revoked": _token_revoked,
    "user.created": _user_created,
    "user.updated": _user_updated,
    "dept.created": _dept_created,
    "dataset.created": _dataset_created,
    "dataset.updated": _dataset_updated,
    "dataset.deleted": _dataset_deleted,
    "grade.alert_resolved": _alert_resolved,
}


@pytest.fixture
def world(client, db, make_user, token_for) -> World:
    admin = make_user("root", dept="BDB", roles=("admin",))
    steward = make_user("ga.steward", dept="GA", roles=("steward",))
    return World(client, db, admin, steward, token_for("root"), lambda: token_for("ga.steward"))


def _last(db, event: str) -> LedgerEntry | None:
    with db.session() as s:
        return s.scalar(
            select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq.desc())
        )


@pytest.mark.parametrize("event", sorted(ACTIONS))
def test_action_writes_its_ledger_entry(world, db, event):
    before = _last(db, event)
    expected = ACTIONS[event](world)
    entry = _last(db, event)
    assert entry is not None and (before is None or entry.seq > before.seq), f"no new {event} entry"
    assert (entry.user_id, entry.department_id, entry.dataset_id) == expected
    assert entry.outcome == "ok"


def test_deactivated_user_is_locked_out_and_audited(world, db, token_for):
    steward_headers = token_for("ga.steward")
    r = world.client.patch("/api/v1/users/ga.steward", json={"active": False}, headers=world.admin_headers)
    assert r.status_code == 200 and r.json()["active"] is False
    assert world.client.get("/api/v1/me", headers=steward_headers).status_code == 401
    entry = _last(db, "user.updated")
    assert entry.user_id == world.admin.user_id and '"active":false' in entry.entry


def test_only_admins_change_users(world, token_for):
    r = world.client.patch(
        "/api/v1/users/ga.steward", json={"roles": ["admin"]}, headers=token_for("ga.steward")
    )
    assert r.status_code == 403
