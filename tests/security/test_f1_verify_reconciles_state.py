"""Finding 1, second half: `audit verify` reconciles the security state with the ledger.

In the attack a trigger on `api_tokens` gave a steward the admin role; the ledger recorded no role
change and `shuzhi audit verify` said "intact". Users, roles, departments, tokens, sessions, grants and
grades as the tables hold them must equal what the entries imply: a change made around the append path
is reported as a `state` problem naming the table, the row and the columns that differ."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text
from tests.conftest import PASSWORD
from typer.testing import CliRunner

from shuzhi.catalog.schemas import DatasetIn, FieldIn
from shuzhi.catalog.service import create_dataset, get_dataset
from shuzhi.classify.models import ColumnDecision
from shuzhi.cli import app
from shuzhi.exchange import share_requests
from shuzhi.ingest import service as ingest
from shuzhi.ledger import keys, reconcile
from shuzhi.ledger.snapshot import read_snapshot
from shuzhi.ledger.verify import verify_ledger
from shuzhi.orgs import service as orgs
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽"]
PHONES = [
    "13812345678",
    "13987654321",
    "15011112222",
    "18622223333",
    "13700001111",
    "15900002222",
    "18133334444",
    "13655556666",
]


@dataclass
class City:
    db: object
    settings: object
    steward: orgs.Principal
    analyst: orgs.Principal
    admin: orgs.Principal
    dataset_id: int
    grant_id: int
    token_id: int

    def sql(self, statement: str, **params) -> None:
        with self.db.engine.begin() as c:
            c.execute(text(statement), params)

    def scalar(self, statement: str, **params):
        with self.db.engine.connect() as c:
            return c.execute(text(statement), params).scalar()

    def verify(self):
        with read_snapshot(self.db) as s:
            return verify_ledger(s, keys.public_key(self.settings))


@pytest.fixture
def city(db, settings, make_user, tmp_path) -> City:
    """Users of three departments, a graded dataset, an approved grant and a token: all through the
    services, so every row has its entry."""
    admin = make_user("root", dept="BDB", roles=("admin",))
    steward = make_user("ga.steward", dept="GA", roles=("steward",))
    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    csv = tmp_path / "contacts.csv"
    csv.write_text(
        "xm,sjhm,xb\n"
        + "".join(
            f"{n},{p},{'女' if i % 2 else '男'}\n"
            for i, (n, p) in enumerate(zip(NAMES * 4, PHONES * 4, strict=True))
        ),
        "utf-8",
    )
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier="ga-contacts",
                title_zh="联系人",
                department="GA",
                theme="safety",
                share_type="conditional",
                fields=[FieldIn(name=n, type="VARCHAR") for n in ("xm", "sjhm", "xb")],
            ),
        )
        ingest.ingest_source(s, settings, ds, csv, user_id=steward.user_id)
        dataset_id = ds.id
    with db.transaction() as s:
        req = share_requests.create_request(
            s,
            settings,
            analyst,
            share_requests.RequestIn(
                dataset="ga-contacts", fields=["xm", "sjhm", "xb"], purpose="核对联系人"
            ),
            submit=True,
        )
        grant = share_requests.approve_request(
            s,
            settings,
            steward,
            req,
            share_requests.Approval(row_filter="xb = '女'", masks={"sjhm": "keep_last:4"}),
        )
        grant_id = grant.id
        token, _ = orgs.create_token(s, orgs.get_user(s, "ga.steward"))
        token_id = token.id
    return City(db, settings, steward, analyst, admin, dataset_id, grant_id, token_id)


def state_problems(report) -> list[dict]:
    return [p.state | {"message": p.message} for p in report.problems if p.kind == "state"]


def test_a_clean_store_reconciles(city):
    report = city.verify()
    assert report.ok, report.problems
    with city.db.session() as s:
        tables = reconcile.actual_state(s, reconcile.registered_sources())
    # every part of the state was there to compare, not an empty pass
    for name in (
        "users",
        "user_roles",
        "api_tokens",
        "exchange_grants",
        "classify_dataset_grades",
        "classify_column_decisions",
    ):
        assert tables[name], name
    assert report.state_rows == reconcile.rows_compared(tables)


def test_admin_role_inserted_by_hand_is_reported(city):
    city.sql("INSERT INTO user_roles (user_id, role) VALUES (:u, 'admin')", u=city.steward.user_id)
    report = city.verify()
    assert not report.ok and not report.tampered and report.first_bad_seq is None
    (problem,) = state_problems(report)
    assert problem["table"] == "user_roles"
    assert problem["key"] == {"username": "ga.steward", "role": "admin"}
    assert problem["where"] == "table"
    assert "ga.steward" in problem["message"] and "admin" in problem["message"]


def _dept_id(city, code: str) -> int:
    return city.scalar("SELECT id FROM departments WHERE code = :c", c=code)


def _move_department(city):
    city.sql("UPDATE users SET department_id = :d WHERE username = 'rs.analyst'", d=_dept_id(city, "GA"))
    return (
        "users",
        {"username": "rs.analyst"},
        {"department_id": (_dept_id(city, "RS"), _dept_id(city, "GA"))},
    )


def _deactivate(city):
    city.sql("UPDATE users SET active = :a WHERE username = 'rs.analyst'", a=False)
    return "users", {"username": "rs.analyst"}, {"active": (True, False)}


def _reactivate(city):
    with city.db.transaction() as s:
        orgs.set_active(s, orgs.get_user(s, "rs.analyst"), False, actor=city.admin)
    city.sql("UPDATE users SET active = :a WHERE username = 'rs.analyst'", a=True)
    return "users", {"username": "rs.analyst"}, {"active": (False, True)}


def _password_replaced(city):
    forged = PasswordHasher().hash("attacker-knows-this")
    city.sql("UPDATE users SET password_hash = :h WHERE username = 'root'", h=forged)
    return "users", {"username": "root"}, {"password": (reconcile.UNKNOWN, reconcile.digest(forged))}


def _insert_token(city):
    city.sql(
        "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at)"
        " VALUES (:u, 'x', 'szt_forged', :h, :now, :exp)",
        u=city.steward.user_id,
        h="f" * 64,
        now=utcnow(),
        exp=utcnow() + timedelta(days=30),
    )
    forged = city.scalar("SELECT id FROM api_tokens WHERE prefix = 'szt_forged'")
    return "api_tokens", {"id": forged}, None


def _token_to_admin(city):
    city.sql("UPDATE api_tokens SET user_id = :u WHERE id = :t", u=city.admin.user_id, t=city.token_id)
    return "api_tokens", {"id": city.token_id}, {"owner": ("ga.steward", "root")}


def _token_hash_swapped(city):
    city.sql("UPDATE api_tokens SET token_hash = :h WHERE id = :t", h="0" * 64, t=city.token_id)
    return "api_tokens", {"id": city.token_id}, {"hash": (reconcile.UNKNOWN, reconcile.digest("0" * 64))}


def _row_filter_dropped(city):
    city.sql("UPDATE exchange_grants SET row_filter = NULL WHERE id = :g", g=city.grant_id)
    return "exchange_grants", {"id": city.grant_id}, {"row_filter": ("xb = '女'", None)}


def _revocation_undone(city):
    with city.db.transaction() as s:
        share_requests.revoke_grant(s, city.steward, share_requests.get_grant(s, city.grant_id), "用途结束")
    city.sql("UPDATE exchange_grants SET revoked_at = NULL WHERE id = :g", g=city.grant_id)
    return "exchange_grants", {"id": city.grant_id}, {"revoked": (True, False)}


def _grade_lowered(city):
    with city.db.session() as s:
        level = s.scalar(
            select(ColumnDecision.level).where(
                ColumnDecision.dataset_id == city.dataset_id, ColumnDecision.field_name == "sjhm"
            )
        )
    assert level not in (None, "L1"), level  # a phone number column is graded above public
    city.sql("UPDATE classify_column_decisions SET level = 'L1' WHERE field_name = 'sjhm'")
    return (
        "classify_column_decisions",
        {"dataset_id": city.dataset_id, "version": 1, "field": "sjhm"},
        {"level": (level, "L1")},
    )


def _share_type_opened(city):
    # Unconditional sharing lets every analyst read without a grant.
    city.sql("UPDATE datasets SET share_type = 'unconditional' WHERE id = :d", d=city.dataset_id)
    return "datasets", {"id": city.dataset_id}, {"share_type": ("conditional", "unconditional")}


def _dataset_taken_over(city):
    # The owner department manages the dataset and reads it in clear.
    rs = _dept_id(city, "RS")
    city.sql("UPDATE datasets SET department_id = :r WHERE id = :d", r=rs, d=city.dataset_id)
    return "datasets", {"id": city.dataset_id}, {"department_id": (_dept_id(city, "GA"), rs)}


def _version_hash_replaced(city):
    # With the file swapped too, integrity checks would vouch for the new bytes.
    city.sql("UPDATE dataset_versions SET sha256 = :h WHERE dataset_id = :d", h="f" * 64, d=city.dataset_id)
    return (
        "dataset_versions",
        {"dataset_id": city.dataset_id, "number": 1},
        {"sha256": (reconcile.UNKNOWN, "f" * 64)},
    )


def _override_planted(city):
    # Not a grade yet: the next grading would follow it and file the phone column as not sensitive.
    city.sql(
        "INSERT INTO classify_overrides (dataset_id, field_name, field_type, action, category, reason, active, "
        "version_number, created_at) VALUES (:d, 'sjhm', 'VARCHAR', 'override', 'none', 'x', :t, 1, :now)",
        d=city.dataset_id,
        t=True,
        now=datetime.now(UTC),
    )
    return "classify_overrides", {"dataset_id": city.dataset_id, "field": "sjhm"}, None


HAND_EDITS = {
    "review override planted": _override_planted,
    "dataset share type opened": _share_type_opened,
    "dataset moved to another department": _dataset_taken_over,
    "version hash replaced": _version_hash_replaced,
    "department moved": _move_department,
    "user deactivated": _deactivate,
    "user reactivated": _reactivate,
    "admin password replaced": _password_replaced,
    "token inserted": _insert_token,
    "token given to another user": _token_to_admin,
    "token hash swapped": _token_hash_swapped,
    "grant row filter dropped": _row_filter_dropped,
    "grant revocation undone": _revocation_undone,
    "column grade lowered": _grade_lowered,
}


@pytest.mark.parametrize("edit", sorted(HAND_EDITS))
def test_a_hand_edit_is_reported_with_the_row_that_differs(city, edit):
    assert city.verify().ok
    table, key, columns = HAND_EDITS[edit](city)
    report = city.verify()
    assert not report.tampered, report.problems  # the log itself is whole: the tables moved
    (problem,) = state_problems(report)
    assert (problem["table"], problem["key"]) == (table, key), problem
    if columns is None:
        assert problem["where"] == "table" and problem["columns"] == {}
    else:
        assert problem["where"] == "both"
        assert set(problem["columns"]) == set(columns)
        for name, (ledger, actual) in columns.items():
            if ledger is not reconcile.UNKNOWN:
                assert problem["columns"][name]["ledger"] == ledger
            assert problem["columns"][name]["table"] == actual


def test_a_share_type_changed_through_the_service_reconciles(city):
    from shuzhi.catalog.schemas import DatasetPatch
    from shuzhi.catalog.service import get_dataset, update_dataset

    with city.db.transaction() as s:
        update_dataset(
            s, city.steward, get_dataset(s, "ga-contacts"), DatasetPatch(share_type="unconditional")
        )
    assert city.verify().ok
    city.sql("UPDATE datasets SET share_type = 'conditional' WHERE id = :d", d=city.dataset_id)
    (problem,) = state_problems(city.verify())
    assert problem["columns"]["share_type"] == {"ledger": "unconditional", "table": "conditional"}


def test_a_rehashed_password_is_recorded(city):
    """Login rehashes a password stored with weaker parameters: that change has its entry too."""
    weak = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    city.sql("UPDATE users SET password_hash = :h WHERE username = 'rs.analyst'", h=weak)
    (problem,) = state_problems(city.verify())
    assert problem["key"] == {"username": "rs.analyst"} and set(problem["columns"]) == {"password"}
    with city.db.transaction() as s:
        assert orgs.authenticate(s, "rs.analyst", PASSWORD) is not None
    with city.db.session() as s:
        assert orgs.get_user(s, "rs.analyst").password_hash != weak  # rehashed
    assert city.verify().ok


def test_the_trigger_of_the_attack_is_reported(city, backend):
    """The exact escalation: a trigger on api_tokens grants admin to whoever gets a token."""
    if backend == "sqlite":
        city.sql(
            "CREATE TRIGGER esc AFTER INSERT ON api_tokens BEGIN INSERT OR IGNORE INTO user_roles(user_id, role)"
            " VALUES (NEW.user_id, 'admin'); END"
        )
    else:
        city.sql(
            "CREATE FUNCTION esc() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " INSERT INTO user_roles(user_id, role) VALUES (NEW.user_id, 'admin') ON CONFLICT DO NOTHING;"
            " RETURN NEW; END $$"
        )
        city.sql("CREATE TRIGGER esc AFTER INSERT ON api_tokens FOR EACH ROW EXECUTE FUNCTION esc()")
    with city.db.transaction() as s:
        orgs.create_token(s, orgs.get_user(s, "ga.steward"))
    with city.db.session() as s:
        assert orgs.get_user(s, "ga.steward").roles == {"steward", "admin"}  # the escalation happened
    report = city.verify()
    assert not report.tampered
    (problem,) = state_problems(report)
    assert problem["table"] == "user_roles" and problem["key"] == {"username": "ga.steward", "role": "admin"}


def test_cli_verify_prints_the_row_and_fails(city, cli_env):
    runner = CliRunner()
    clean = runner.invoke(app, ["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    assert "ledger intact" in clean.output
    city.sql("INSERT INTO user_roles (user_id, role) VALUES (:u, 'admin')", u=city.steward.user_id)
    result = runner.invoke(app, ["audit", "verify"])
    assert result.exit_code == 1, result.output
    assert "security state differs from the ledger" in result.output
    assert "ledger tampered" not in result.output
    line = next(ln for ln in result.output.splitlines() if "[state]" in ln)
    assert "user_roles" in line and 'username="ga.steward"' in line and 'role="admin"' in line
    as_json = runner.invoke(app, ["audit", "verify", "--json"])
    assert as_json.exit_code == 1
    doc = json.loads(as_json.output)
    assert doc["ok"] is False and doc["first_bad_seq"] is None
    (problem,) = doc["problems"]
    assert problem["kind"] == "state" and problem["state"]["key"] == {
        "username": "ga.steward",
        "role": "admin",
    }


def test_entries_carry_what_the_state_is_rebuilt_from_and_no_secret(city):
    """Replay is a pure function of the entries: the state rebuilt from them alone equals the tables,
    and no entry holds a token, a token hash or a password hash."""
    with city.db.session() as s:
        sources = reconcile.registered_sources()
        docs = [json.loads(e) for e in s.scalars(text("SELECT entry FROM ledger_entries ORDER BY seq"))]
        secrets = [h for (h,) in s.execute(text("SELECT token_hash FROM api_tokens"))]
        secrets += [h for (h,) in s.execute(text("SELECT password_hash FROM users"))]
        actual = reconcile.actual_state(s, sources)
    expected = reconcile.expected_state(sources, docs)
    assert list(reconcile.compare(expected, actual)) == []
    assert expected["user_roles"].rows.keys() == actual["user_roles"].keys()
    everything = "\n".join(json.dumps(d, ensure_ascii=False) for d in docs)
    assert not [h for h in secrets if h in everything]
    with city.db.session() as s:
        dataset = get_dataset(s, "ga-contacts")
        assert dataset.id == city.dataset_id
        # the standalone reconciliation (index scan of the security events) agrees
        rows, differences = reconcile.reconcile(s)
    assert rows == reconcile.rows_compared(actual) and differences == []


def test_auditors_reconcile_through_the_api(city, client, make_user, token_for):
    make_user("audit.li", dept="BDB", roles=("auditor",))
    auditor = token_for("audit.li")
    clean = client.get("/api/v1/audit/state", headers=auditor)
    assert clean.status_code == 200 and clean.json()["ok"] is True and clean.json()["rows"] > 0, clean.text
    assert client.get("/api/v1/audit/state", headers=token_for("rs.analyst")).status_code == 403
    assert client.get("/api/v1/audit/state").status_code == 401
    city.sql("INSERT INTO user_roles (user_id, role) VALUES (:u, 'admin')", u=city.steward.user_id)
    body = client.get("/api/v1/audit/state", headers=auditor).json()
    assert body["ok"] is False and body["differences"] == 1
    (problem,) = body["problems"]
    assert problem["state"]["table"] == "user_roles"
    assert problem["state"]["key"] == {"username": "ga.steward", "role": "admin"}


def test_init_records_the_bootstrap_admin(cli_env):
    runner = CliRunner()
    r = runner.invoke(app, ["init", "--admin-password", "change-me-now-please"])
    assert r.exit_code == 0, r.output
    ok = runner.invoke(app, ["audit", "verify", "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["state_rows"] >= 2  # the admin and their role, both reconciled
    db = Database(cli_env.db_url)
    try:
        with db.session() as s:
            (entry,) = [
                json.loads(e)
                for e in s.scalars(text("SELECT entry FROM ledger_entries WHERE event = 'user.created'"))
            ]
    finally:
        db.dispose()
    assert entry["detail"]["username"] == "admin" and entry["detail"]["roles"] == ["admin"]


def test_replay_is_pure_and_reads_older_entries_without_false_alarms():
    """Entries written before they carried the state (no column levels, no hash digests, no user id)
    leave those values uncompared; a denied entry changes nothing; the rest still counts."""
    sources = reconcile.registered_sources()
    docs = [
        {
            "event": "user.created",
            "outcome": "ok",
            "department_id": 3,
            "detail": {"username": "li.na", "roles": ["analyst"]},
        },
        {"event": "user.updated", "outcome": "denied", "detail": {"username": "li.na", "roles": ["admin"]}},
        {
            "event": "token.created",
            "outcome": "ok",
            "detail": {"token_id": 4, "owner": "li.na", "expires_at": "2030-01-01T00:00:00+00:00"},
        },
        {
            "event": "grade.assigned",
            "outcome": "ok",
            "dataset_id": 1,
            "detail": {"version": 1, "level": "L3", "data_class": "一般"},
        },
        {"event": "auth.login", "outcome": "ok", "user_id": 1},  # malformed: ignored, not fatal
    ]
    actual = {
        "users": {("li.na",): {"id": 9, "department_id": 3, "active": True, "password": "ab"}},
        "user_roles": {("li.na", "analyst"): {}},
        "api_tokens": {
            (4,): {
                "owner": "li.na",
                "expires_at": "2030-01-01T00:00:00.000000Z",
                "revoked": False,
                "hash": "cd",
            }
        },
        "classify_dataset_grades": {(1, 1): {"level": "L3", "data_class": "一般"}},
        "classify_column_decisions": {(1, 1, "xm"): {"level": "L2"}},
    }
    assert reconcile.expected_state(sources, docs) == reconcile.expected_state(sources, docs)
    assert list(reconcile.compare(reconcile.expected_state(sources, docs), actual)) == []
    actual["user_roles"][("li.na", "admin")] = {}
    actual["classify_dataset_grades"][(1, 1)]["level"] = "L1"
    found = {(d.table, d.where) for d in reconcile.compare(reconcile.expected_state(sources, docs), actual)}
    assert found == {("user_roles", "table"), ("classify_dataset_grades", "both")}


@pytest.mark.slow
def test_the_demo_city_verifies_clean(settings, db, tmp_path):
    """The demo builder goes through the same services: its users and grades all reconcile."""
    from shuzhi.demo import generate
    from shuzhi.demo.build import build

    build(settings, db, generate(tmp_path / "city", seed=3, scale=0.01))
    with read_snapshot(db) as s:
        report = verify_ledger(s, keys.public_key(settings))
    assert report.ok, report.problems
    assert report.state_rows > 100
