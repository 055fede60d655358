"""Administration pages: departments, users, one's own API tokens, dataset registration and upload with
its progress, vocabularies — each action's happy path, its ledger entry, and its denials."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select
from tests.conftest import csrf_of, login

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.ledger import LedgerEntry
from shuzhi.orgs import service as orgs
from shuzhi.orgs.models import ApiToken, Department, User

HTML = {"Accept": "text/html"}


@pytest.fixture
def people(client, make_user):
    make_user("root", dept="BDB", roles=("admin",), display_name="平台管理员")
    make_user("ga.steward", dept="GA", roles=("steward",), display_name="公安管理员")
    make_user("ga.analyst", dept="GA", display_name="公安分析员")
    make_user("mz.steward", dept="MZ", roles=("steward",), display_name="民政管理员")
    return client


def _as(client, username: str, page: str = "/me/tokens") -> str:
    """Log in and return the CSRF token of the user's pages."""
    login(client, username)
    return csrf_of(client.get(page).text)


def _events(db, event: str) -> list[dict]:
    with db.session() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [json.loads(e.entry) for e in rows]


def _ledger_size(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


def _count(db, model) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def _banner(client, r) -> str:
    """Follow a form's redirect and return the banner the next page shows."""
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"], headers=HTML)
    return re.search(r'id="banner">([^<]*)<', page.text).group(1)


# -- denials ------------------------------------------------------------------------------------------------

ADMIN_PAGES = [
    "/admin",
    "/admin/departments",
    "/admin/departments/GA",
    "/admin/users",
    "/admin/datasets",
    "/admin/vocabularies",
]


def _admin_posts(csrf: str) -> list[tuple[str, dict]]:
    return [
        ("/admin/departments", {"code": "X1", "name_zh": "新部门"}),
        ("/admin/departments/GA", {"name_zh": "改名"}),
        ("/admin/users", {"username": "evil", "department": "GA", "roles": "admin", "password": "p" * 12}),
        ("/admin/users/ga.analyst/roles", {"roles": ["admin"]}),
        ("/admin/users/ga.steward/active", {"active": "0"}),
        ("/admin/users/ga.steward/password", {"mode": "set", "password": "taken-over-1"}),
        (
            "/admin/datasets",
            {"identifier": "sneaky", "title_zh": "偷登", "department": "GA", "theme": "credit"},
        ),
    ]


def test_analyst_is_refused_every_admin_page_and_action(people, db):
    csrf = _as(people, "ga.analyst")
    for path in ADMIN_PAGES:
        assert people.get(path, headers=HTML).status_code == 403, path
    before = (_ledger_size(db), _count(db, Department), _count(db, User), _count(db, Dataset))
    for path, data in _admin_posts(csrf):
        r = people.post(path, data={**data, "csrf_token": csrf}, headers=HTML, follow_redirects=False)
        assert r.status_code == 403, path
    assert (_ledger_size(db), _count(db, Department), _count(db, User), _count(db, Dataset)) == before
    with db.session() as s:
        assert orgs.get_user(s, "ga.analyst").roles == {"analyst"}
        assert orgs.get_user(s, "ga.steward").active
        assert orgs.get_department(s, "GA").name_zh == "部门GA"
    nav = people.get("/me/tokens", headers=HTML).text
    assert 'id="nav-admin"' not in nav and 'id="nav-tokens"' in nav


def test_steward_is_refused_what_only_admins_do(people, db):
    csrf = _as(people, "ga.steward")
    for path in ("/admin/departments", "/admin/departments/GA"):
        assert people.get(path, headers=HTML).status_code == 403
    before = (_ledger_size(db), _count(db, Department), _count(db, User))
    for path, data in _admin_posts(csrf)[:-1]:
        r = people.post(path, data={**data, "csrf_token": csrf}, headers=HTML, follow_redirects=False)
        assert r.status_code == 403, path
    assert (_ledger_size(db), _count(db, Department), _count(db, User)) == before
    with db.session() as s:
        assert orgs.get_user(s, "ga.analyst").roles == {"analyst"}
    index = people.get("/admin", headers=HTML).text
    assert 'id="nav-admin"' in index and 'id="go-departments"' not in index and 'id="go-users"' in index


def test_a_form_without_csrf_is_refused_and_changes_nothing(people, db):
    login(people, "root")
    before = (_ledger_size(db), _count(db, Department))
    r = people.post("/admin/departments", data={"code": "X1", "name_zh": "新部门"}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text
    r = people.post("/admin/departments", data={"code": "X1", "name_zh": "新部门", "csrf_token": "forged"})
    assert r.status_code == 403
    assert (_ledger_size(db), _count(db, Department)) == before


def test_pages_need_a_login(people):
    for path in [*ADMIN_PAGES, "/me/tokens"]:
        r = people.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), path


# -- departments --------------------------------------------------------------------------------------------


def test_admin_adds_a_department_under_a_parent(people, db):
    csrf = _as(people, "root")
    r = people.post(
        "/admin/departments",
        data={
            "code": "GA-XC",
            "name_zh": "西城分局",
            "name_en": "Xicheng",
            "level": "district",
            "parent": "GA",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert "西城分局（GA-XC）已添加" in _banner(people, r)
    tree = people.get("/admin/departments", headers=HTML).text
    ga = tree[tree.index('id="dept-GA"') :]
    assert 'id="dept-GA-XC"' in ga[: ga.index("</li>")]  # drawn inside its parent's branch
    [entry] = _events(db, "dept.created")[-1:]
    assert entry["detail"] == {"code": "GA-XC", "name_zh": "西城分局", "parent": "GA"}


def test_a_refused_department_keeps_the_input_beside_the_field(people, db):
    csrf = _as(people, "root")
    before = (_ledger_size(db), _count(db, Department))
    r = people.post(
        "/admin/departments",
        data={"code": "GA", "name_zh": "重复的部门", "name_en": "Dup", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 409
    assert 'value="重复的部门"' in r.text and 'value="Dup"' in r.text
    assert re.search(r'name="code"[^>]*aria-invalid="true"', r.text)
    assert 'data-where="code"' in r.text and "部门代码已存在" in r.text
    r = people.post(
        "/admin/departments", data={"code": "bad code!", "name_zh": "x", "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 422 and 'data-where="code"' in r.text
    assert (_ledger_size(db), _count(db, Department)) == before


def test_admin_edits_a_department(people, db):
    csrf = _as(people, "root")
    page = people.get("/admin/departments/MZ", headers=HTML).text
    assert 'value="部门MZ"' in page
    r = people.post(
        "/admin/departments/MZ",
        data={"name_zh": "市民政局", "name_en": "Civil Affairs", "parent": "BDB", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "MZ 已保存" in _banner(people, r)
    with db.session() as s:
        mz = orgs.get_department(s, "MZ")
        assert (mz.name_zh, mz.name_en, mz.parent.code) == ("市民政局", "Civil Affairs", "BDB")
    [entry] = _events(db, "dept.updated")
    assert entry["detail"]["parent"] == "BDB" and entry["detail"]["name_zh_before"] == "部门MZ"


def test_a_department_moved_below_itself_is_refused_beside_the_field(people, db):
    csrf = _as(people, "root")
    people.post(
        "/admin/departments", data={"code": "MZ-1", "name_zh": "下级", "parent": "MZ", "csrf_token": csrf}
    )
    before = _ledger_size(db)
    r = people.post(
        "/admin/departments/MZ",
        data={"name_zh": "新名字", "parent": "MZ-1", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-where="parent"' in r.text and 'value="新名字"' in r.text
    assert _ledger_size(db) == before
    with db.session() as s:
        assert (
            orgs.get_department(s, "MZ").name_zh == "部门MZ" and orgs.get_department(s, "MZ").parent is None
        )
    assert people.get("/admin/departments/NOPE", headers=HTML).status_code == 404


# -- users ----------------------------------------------------------------------------------------------------


def test_admin_adds_a_user_who_can_log_in(people, db):
    csrf = _as(people, "root")
    r = people.post(
        "/admin/users",
        data={
            "username": "mz.clerk",
            "display_name": "民政文员",
            "department": "MZ",
            "roles": ["analyst", "auditor"],
            "password": "first-password",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert "mz.clerk 已添加" in _banner(people, r)
    [entry] = _events(db, "user.created")[-1:]
    assert entry["detail"]["username"] == "mz.clerk" and entry["detail"]["roles"] == ["analyst", "auditor"]
    listed = people.get("/admin/users?department=MZ", headers=HTML).text
    assert 'id="user-mz.clerk"' in listed and 'id="user-ga.analyst"' not in listed
    people.cookies.clear()
    token = re.search(r'name="login_csrf" value="([^"]+)"', people.get("/login").text).group(1)
    r = people.post(
        "/login",
        data={"username": "mz.clerk", "password": "first-password", "login_csrf": token},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_a_refused_user_keeps_the_input_but_not_the_password(people, db):
    csrf = _as(people, "root")
    before = (_ledger_size(db), _count(db, User))
    r = people.post(
        "/admin/users",
        data={
            "username": "mz.new",
            "display_name": "新人",
            "department": "MZ",
            "roles": ["analyst"],
            "password": "short",
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-where="password"' in r.text
    assert 'value="mz.new"' in r.text and 'value="新人"' in r.text and 'value="short"' not in r.text
    assert re.search(r'value="analyst" checked', r.text)
    r = people.post(
        "/admin/users",
        data={"username": "mz.new", "department": "MZ", "password": "long-enough-1", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-where="roles"' in r.text
    assert (_ledger_size(db), _count(db, User)) == before


def test_admin_changes_roles_deactivates_and_reactivates(people, db):
    csrf = _as(people, "root")
    r = people.post(
        "/admin/users/ga.analyst/roles",
        data={"roles": ["analyst", "steward"], "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "ga.analyst 的角色已更新" in _banner(people, r)
    r = people.post(
        "/admin/users/ga.analyst/active", data={"active": "0", "csrf_token": csrf}, follow_redirects=False
    )
    assert "已停用" in _banner(people, r)
    with db.session() as s:
        user = orgs.get_user(s, "ga.analyst")
        assert user.roles == {"analyst", "steward"} and not user.active
    r = people.post(
        "/admin/users/ga.analyst/active", data={"active": "1", "csrf_token": csrf}, follow_redirects=False
    )
    assert "已启用" in _banner(people, r)
    updates = [e["detail"] for e in _events(db, "user.updated")]
    assert updates == [
        {"username": "ga.analyst", "roles_before": ["analyst"], "roles": ["analyst", "steward"]},
        {"username": "ga.analyst", "active": False},
        {"username": "ga.analyst", "active": True},
    ]


def test_admin_cannot_lock_themself_out(people, db):
    csrf = _as(people, "root")
    before = _ledger_size(db)
    r = people.post("/admin/users/root/active", data={"active": "0", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 422 and "不能停用自己" in r.text and 'id="user-root"' in r.text
    r = people.post("/admin/users/root/roles", data={"roles": ["analyst"], "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 422 and "不能取消自己的管理员角色" in r.text
    r = people.post(
        "/admin/users/ga.analyst/roles", data={"roles": ["wizard"], "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 422 and 'data-where="roles"' in r.text
    assert _ledger_size(db) == before
    assert (
        people.post(
            "/admin/users/nobody/roles", data={"roles": ["analyst"], "csrf_token": csrf}, headers=HTML
        ).status_code
        == 404
    )


def test_admin_sets_a_password_and_generates_a_one_time_one(people, db):
    csrf = _as(people, "root")
    r = people.post(
        "/admin/users/ga.analyst/password",
        data={"mode": "set", "password": "brand-new-secret", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert "ga.analyst 的密码已重设" in _banner(people, r)
    r = people.post(
        "/admin/users/ga.analyst/password", data={"mode": "generate", "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    clear = re.search(r'id="one-time-password">([^<]+)<', r.text).group(1)
    assert clear not in people.get("/admin/users", headers=HTML).text  # shown once only
    with db.transaction() as s:
        assert orgs.authenticate(s, "ga.analyst", clear) is not None
        assert orgs.authenticate(s, "ga.analyst", "brand-new-secret") is None
    resets = [e["detail"]["generated"] for e in _events(db, "user.password_reset")]
    assert resets == [False, True]
    r = people.post(
        "/admin/users/ga.analyst/password",
        data={"mode": "set", "password": "short", "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-where="password"' in r.text
    assert len(_events(db, "user.password_reset")) == 2


def test_steward_sees_only_their_department_users_read_only(people, db):
    _as(people, "ga.steward")
    page = people.get("/admin/users", headers=HTML).text
    assert 'id="user-ga.analyst"' in page and 'id="user-ga.steward"' in page
    assert 'id="user-mz.steward"' not in page and 'id="user-root"' not in page
    assert 'id="user-form"' not in page and "/roles" not in page and 'id="steward-note"' in page
    assert people.get("/admin/users?department=MZ", headers=HTML).status_code == 403
    assert people.get("/admin/users?department=GA", headers=HTML).status_code == 200


# -- one's own API tokens -------------------------------------------------------------------------------------


def test_a_token_is_shown_once_works_and_is_revoked(people, db):
    csrf = _as(people, "ga.analyst")
    r = people.post("/me/tokens", data={"name": "报表脚本", "days": "30", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    clear = re.search(r'id="token-value">([^<]+)<', r.text).group(1)
    assert clear.startswith(orgs.TOKEN_PREFIX)
    me = people.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"})
    assert me.status_code == 200 and me.json()["username"] == "ga.analyst"
    listed = people.get("/me/tokens", headers=HTML).text
    assert "报表脚本" in listed and clear not in listed and clear[:12] in listed
    [created] = _events(db, "token.created")
    assert created["detail"]["owner"] == "ga.analyst" and clear not in json.dumps(created)
    with db.session() as s:
        token_id = s.scalar(select(ApiToken.id).where(ApiToken.name == "报表脚本"))
    r = people.post(f"/me/tokens/{token_id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert "报表脚本 已撤销" in _banner(people, r)
    assert people.get("/api/v1/me", headers={"Authorization": f"Bearer {clear}"}).status_code == 401
    assert len(_events(db, "token.revoked")) == 1


def test_another_users_token_is_neither_listed_nor_revocable(people, db):
    with db.transaction() as s:
        token, _ = orgs.create_token(s, orgs.get_user(s, "mz.steward"), name="民政的令牌")
        other_id = token.id
    for user in ("ga.analyst", "root"):  # not even an admin, on this page of one's own
        csrf = _as(people, user)
        assert "民政的令牌" not in people.get("/me/tokens", headers=HTML).text
        r = people.post(f"/me/tokens/{other_id}/revoke", data={"csrf_token": csrf}, headers=HTML)
        assert r.status_code == 404
        assert (
            people.post("/me/tokens/999999/revoke", data={"csrf_token": csrf}, headers=HTML).status_code
            == 404
        )
    with db.session() as s:
        assert s.get(ApiToken, other_id).revoked_at is None
    assert _events(db, "token.revoked") == []


def test_a_refused_token_keeps_the_input(people, db):
    csrf = _as(people, "ga.analyst")
    r = people.post("/me/tokens", data={"name": "夜间任务", "days": "9999", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 422 and 'data-where="days"' in r.text and 'value="夜间任务"' in r.text
    r = people.post("/me/tokens", data={"name": " ", "days": "30", "csrf_token": csrf}, headers=HTML)
    assert r.status_code == 422 and 'data-where="name"' in r.text
    assert _count(db, ApiToken) == 0 and _events(db, "token.created") == []


# -- datasets: registration and upload ------------------------------------------------------------------------

DATASET = {
    "identifier": "ga-jdc",
    "title_zh": "机动车登记",
    "title_en": "Vehicle registrations",
    "department": "GA",
    "theme": "transport",
    "update_frequency": "monthly",
    "share_type": "conditional",
    "open_type": "none",
}


def _register(client, csrf, **over):
    return client.post(
        "/admin/datasets", data={**DATASET, **over, "csrf_token": csrf}, headers=HTML, follow_redirects=False
    )


def test_steward_registers_a_dataset_of_their_department(people, db):
    csrf = _as(people, "ga.steward")
    page = people.get("/admin/datasets", headers=HTML).text
    assert 'value="GA"' in page and 'value="MZ"' not in page  # only departments they manage
    r = _register(people, csrf)
    assert r.headers["location"] == "/admin/datasets/ga-jdc/upload"
    assert "ga-jdc 已登记" in _banner(people, r)
    with db.session() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "ga-jdc"))
        assert (ds.title_en, ds.theme, ds.update_frequency, ds.share_type) == (
            "Vehicle registrations",
            "transport",
            "monthly",
            "conditional",
        )
    [entry] = _events(db, "dataset.created")
    assert entry["detail"]["identifier"] == "ga-jdc"


def test_not_shared_needs_its_basis_beside_the_field(people, db):
    csrf = _as(people, "ga.steward")
    r = _register(people, csrf, share_type="none")
    assert r.status_code == 422 and re.search(r'name="share_basis"[^>]*aria-invalid="true"', r.text)
    basis = r.text.index('name="share_basis"')
    assert "不予共享须注明法律或政策依据" in r.text[basis : r.text.index('name="open_type"')]  # beside it
    assert 'value="机动车登记"' in r.text and re.search(r'value="none" selected', r.text)
    r = _register(people, csrf, identifier="bad id!")
    assert r.status_code == 422 and re.search(r'name="identifier"[^>]*aria-invalid="true"', r.text)
    r = _register(people, csrf, share_type="none", share_basis="《公安机关办理行政案件程序规定》")
    assert r.status_code == 303
    assert _count(db, Dataset) == 1


def test_a_steward_cannot_register_for_another_department(people, db):
    csrf = _as(people, "mz.steward")
    before = _ledger_size(db)
    r = _register(people, csrf)
    assert (
        r.status_code == 403
        and "只有数据提供部门的数据管理员" in r.text
        and "owner department" not in r.text
        and 'value="机动车登记"' in r.text
    )
    assert _count(db, Dataset) == 0 and _ledger_size(db) == before


@pytest.fixture
def registered(people, db, make_user):
    csrf = _as(people, "ga.steward")
    assert _register(people, csrf).status_code == 303
    return csrf


CSV = "hphm,cllx,zcrq\n浙A12345,小型轿车,2021-03-04\n浙B54321,货车,2020-07-21\n浙C00001,小型轿车,2019-01-15\n".encode()


def _held(app) -> list:
    """Uploads held on disk, waiting for (or left by) their job."""
    folder = app.state.settings.data_dir / "uploads"
    return list(folder.iterdir()) if folder.exists() else []


def _upload(client, csrf, content=CSV, name="机动车.csv", ref="ga-jdc"):
    return client.post(
        f"/admin/datasets/{ref}/upload",
        data={"csrf_token": csrf},
        files={"file": (name, content, "text/csv")},
        headers=HTML,
        follow_redirects=False,
    )


def test_upload_runs_as_a_job_and_reports_its_progress(app, registered, people, db):
    assert 'id="upload-version"' in people.get("/datasets/ga-jdc", headers=HTML).text
    assert 'enctype="multipart/form-data"' in people.get("/admin/datasets/ga-jdc/upload", headers=HTML).text
    r = _upload(people, registered)
    assert r.status_code == 303 and (m := re.fullmatch(r"/admin/uploads/(\d+)", r.headers["location"]))
    job_id = int(m.group(1))
    assert app.state.jobs.wait_idle()
    status = people.get(f"/admin/uploads/{job_id}/status").json()
    assert status | {"progress": 1.0} == {
        "id": job_id,
        "state": "done",
        "progress": 1.0,
        "dataset": "ga-jdc",
        "file": "机动车.csv",
        "version": "1",
        "same_as": None,
        "rows": "3",
        "error": None,
    }
    page = people.get(f"/admin/uploads/{job_id}", headers=HTML).text
    assert "已保存为版本 1，共 3 行" in page
    with db.session() as s:
        [version] = s.scalars(select(DatasetVersion))
        assert version.row_count == 3 and version.created_by_id == orgs.get_user(s, "ga.steward").id
    [entry] = _events(db, "version.ingested")
    assert entry["detail"]["rows"] == 3 and entry["user_id"] is not None
    assert not _held(app)  # the held file is gone
    # The same file again: reported as unchanged, not stored twice.
    r = _upload(people, registered)
    assert app.state.jobs.wait_idle()
    again = people.get(r.headers["location"] + "/status").json()
    assert again["state"] == "done" and again["same_as"] == "1"
    assert _count(db, DatasetVersion) == 1


@pytest.mark.parametrize(
    ("content", "name", "where", "status"),
    [
        (b"", "empty.csv", "empty.csv", 422),
        (b"\x00\x01\x02\x03binary", "blob.bin", "blob.bin", 422),
    ],
)
def test_a_bad_file_is_refused_beside_the_form_and_changes_nothing(
    app, registered, people, db, content, name, where, status
):
    before = _ledger_size(db)
    r = _upload(people, registered, content=content, name=name)
    assert r.status_code == status and 'id="upload-error"' in r.text
    assert re.search(r'id="upload-error">[^<]+', r.text)
    assert _count(db, DatasetVersion) == 0 and _ledger_size(db) == before
    from shuzhi.jobs.models import JobRun

    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(JobRun).where(JobRun.name == "ingest.load_upload")) == 0
        )
    assert not _held(app)


def test_a_file_that_fails_to_load_says_so_in_words(app, registered, people, db):
    r = _upload(people, registered, content=b"hphm,cllx\n", name="header-only.csv")
    assert r.status_code == 303
    assert app.state.jobs.wait_idle()
    status = people.get(r.headers["location"] + "/status").json()
    assert status["state"] == "failed" and "没有数据行" in status["error"]
    assert "失败，未做任何更改" in people.get(r.headers["location"], headers=HTML).text
    assert _count(db, DatasetVersion) == 0


def test_uploads_of_another_department_are_refused(app, registered, people, db):
    r = _upload(people, registered)
    assert app.state.jobs.wait_idle()
    job = r.headers["location"]
    csrf = _as(people, "mz.steward")
    assert people.get("/admin/datasets/ga-jdc/upload", headers=HTML).status_code == 403
    assert 'id="upload-version"' not in people.get("/datasets/ga-jdc", headers=HTML).text
    r = _upload(people, csrf, content=CSV.replace(b"2019", b"2018"))
    assert r.status_code == 403
    assert people.get(job, headers=HTML).status_code == 404  # another's upload job does not exist for them
    assert people.get(job + "/status").status_code == 404
    csrf = _as(people, "ga.analyst")
    assert _upload(people, csrf, content=CSV.replace(b"2019", b"2017")).status_code == 403
    assert people.get(job + "/status").status_code == 404
    assert _count(db, DatasetVersion) == 1
    _as(people, "root")
    assert people.get(job + "/status").json()["state"] == "done"  # an admin sees every upload


# -- vocabularies ---------------------------------------------------------------------------------------------


def test_vocabularies_are_listed_read_only(people):
    _as(people, "ga.steward")
    page = people.get("/admin/vocabularies", headers=HTML).text
    assert 'id="vocab-share_type"' in page and "<code>unconditional</code>" in page and "无条件共享" in page
    assert "Unconditional sharing" in page and 'id="vocab-theme"' in page and 'id="read-only"' in page
    assert "<form" not in page.split("<main>")[1]
    en = people.get("/admin/vocabularies?lang=en", headers=HTML).text
    assert "Controlled vocabularies" in en and "Share type" in en


@pytest.mark.parametrize(
    ("lang", "role", "level", "theme"),
    [("zh", "部门数据管理员", "市级", "主题"), ("en", "Department steward", "City", "Theme")],
)
def test_roles_levels_and_vocabularies_are_named_in_the_readers_language(people, lang, role, level, theme):
    _as(people, "root")
    users = people.get(f"/admin/users?lang={lang}", headers=HTML).text
    assert f'<span class="tag">{role}</span>' in users
    assert f">{level}</option>" in people.get(f"/admin/departments?lang={lang}", headers=HTML).text
    assert (
        f"<h2>{theme} <code>theme</code></h2>"
        in people.get(f"/admin/vocabularies?lang={lang}", headers=HTML).text
    )


def test_an_upload_without_csrf_or_login_is_refused(app, registered, people, db):
    r = people.post("/admin/datasets/ga-jdc/upload", files={"file": ("x.csv", CSV, "text/csv")}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text
    people.cookies.clear()
    r = people.post(
        "/admin/datasets/ga-jdc/upload",
        data={"csrf_token": registered},
        files={"file": ("x.csv", CSV, "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert _count(db, DatasetVersion) == 0 and not _held(app)


def test_too_long_or_odd_values_are_said_beside_the_field(people, db):
    csrf = _as(people, "root")
    before = (_ledger_size(db), _count(db, Department), _count(db, User), _count(db, ApiToken))
    r = people.post(
        "/admin/departments", data={"code": "LONG", "name_zh": "长" * 300, "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 422 and 'data-where="name_zh"' in r.text and 'value="LONG"' in r.text
    r = people.post(
        "/admin/users",
        data={
            "username": "u" * 100,
            "department": "GA",
            "roles": ["analyst"] * 9,
            "password": "long-enough-1",
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert r.status_code == 422 and 'data-where="username"' in r.text
    r = people.post(
        "/me/tokens", data={"name": "批处理", "days": "9" * 5000, "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 422 and 'data-where="days"' in r.text
    r = people.post(
        "/admin/users/ga.analyst/active", data={"active": "maybe", "csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 422 and 'id="user-ga.analyst"' in r.text and "active 须为 1 或 0" in r.text
    assert (_ledger_size(db), _count(db, Department), _count(db, User), _count(db, ApiToken)) == before


def test_an_unknown_department_or_a_long_description_is_said_beside_the_field(people, db):
    csrf = _as(people, "root")
    r = _register(people, csrf, department="NOPE")
    assert r.status_code == 404 and re.search(r'name="department"[^>]*aria-invalid="true"', r.text)
    r = _register(people, csrf, description="很长的描述" * 5000)
    assert r.status_code == 422 and 'data-where="description"' in r.text
    assert "很长的描述" * 100 in r.text  # kept as entered, not cut
    assert _count(db, Dataset) == 0


def test_a_file_over_the_size_limit_is_refused_with_a_page(app, registered, people, db):
    app.state.settings.ingest.max_upload_bytes = 1000
    before = _ledger_size(db)
    r = _upload(people, registered, content=b"hphm,cllx\n" + b"A12345,car\n" * 2000)
    assert r.status_code == 413 and "text/html" in r.headers["content-type"]
    assert 'class="topbar"' in r.text and "1000" in r.text  # the site's page, saying the limit
    assert _count(db, DatasetVersion) == 0 and _ledger_size(db) == before


def test_an_uploader_is_told_the_files_problem_not_the_servers():
    from shuzhi.i18n import M_
    from shuzhi.web.pages.admin import LOAD_FAILED, _said_to_uploader

    assert _said_to_uploader("InvalidInput: 文件没有数据行 (no data rows)") == "文件没有数据行 (no data rows)"
    assert _said_to_uploader("OSError: [Errno 28] No space left: '/srv/shuzhi/data/x'") == LOAD_FAILED
    assert _said_to_uploader("IntegrityError: (psycopg.errors…) INSERT INTO …") == LOAD_FAILED
    # the runner's own words of a run it stopped, as a run's error stores them
    for said in (M_("cancelled"), M_("ran past its time limit of %(seconds)s s", seconds="30")):
        assert _said_to_uploader(str(said)) == str(said)
    assert _said_to_uploader("已取消 (cancelled)") == "已取消 (cancelled)"
