"""The embedded SQLite store under concurrent requests: no freeze, no 'database is locked', every answer right."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.conftest import PASSWORD

pytestmark = pytest.mark.slow

REF = "SCJG-QY-001"
TITLE = "企业登记信息"
PER_KIND = 16
DROPPED = (
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)  # a connection closed under a request
BATCH_BOUND_S = 30.0  # generous: the point is that nothing waits on a lock for a minute


@pytest.fixture
def server(sqlite_db, sqlite_settings, live_server, tmp_path):
    """Two departments, a steward, an analyst, an auditor and an admin; one graded dataset with a version."""
    from shuzhi.catalog.schemas import DatasetIn
    from shuzhi.catalog.service import create_dataset, get_dataset
    from shuzhi.ingest import ingest_source
    from shuzhi.orgs import service as orgs

    # Sixteen governed reads by one analyst at once: the fair queue would refuse most (2 per user
    # by default; tests/security/test_f5_worker_starvation.py); here the store's locking is tested.
    sqlite_settings.exchange.queries_per_user = 16
    sqlite_settings.exchange.queries_per_department = 16
    tokens: dict[str, str] = {}
    with sqlite_db.write() as s:
        orgs.create_department(s, code="SCJG", name_zh="市场监管局")
        orgs.create_department(s, code="SJJ", name_zh="审计局")
        users = {
            "steward": orgs.create_user(
                s, username="scjg.steward", password=PASSWORD, department_code="SCJG", roles=["steward"]
            ),
            "analyst": orgs.create_user(
                s, username="scjg.analyst", password=PASSWORD, department_code="SCJG", roles=["analyst"]
            ),
            "auditor": orgs.create_user(
                s, username="sjj.auditor", password=PASSWORD, department_code="SJJ", roles=["auditor"]
            ),
            "admin": orgs.create_user(
                s, username="root", password=PASSWORD, department_code="SJJ", roles=["admin"]
            ),
        }
        create_dataset(
            s,
            orgs.Principal.of(users["steward"]),
            DatasetIn(identifier=REF, title_zh=TITLE, department="SCJG", theme="market"),
        )
        for role, user in users.items():
            tokens[role] = orgs.create_token(s, user)[1]
        _, tokens["cookie"] = orgs.start_login_session(s, users["analyst"])
    source = tmp_path / "qy.csv"
    source.write_text(
        "uscc,ent_name,capital\n"
        + "".join(f"91330100MA{i:08d},杭州企业{i}有限公司,{1000 * i}\n" for i in range(200)),
        encoding="utf-8",
    )
    with sqlite_db.write() as s:
        ingest_source(s, sqlite_settings, get_dataset(s, REF), source, user_id=None)
    return live_server, tokens


def _bearer(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def _kinds(tokens) -> dict[str, tuple[str, dict, Callable[[httpx.Response], bool]]]:
    """name -> (path, headers, check of the answer)."""
    analyst, auditor, admin = (_bearer(tokens, r) for r in ("analyst", "auditor", "admin"))
    cookie = {"Cookie": f"shuzhi_session={tokens['cookie']}"}
    return {
        "me": ("/api/v1/me", analyst, lambda r: r.json()["username"] == "scjg.analyst"),
        "search": (
            "/api/v1/datasets?q=企业",
            analyst,
            lambda r: [d["identifier"] for d in r.json()["results"]] == [REF],
        ),
        "dataset page": (
            f"/datasets/{REF}",
            cookie,
            lambda r: TITLE in r.text and "/login" not in str(r.url),
        ),
        "audit": ("/api/v1/audit/entries?limit=5", auditor, lambda r: len(r.json()["entries"]) == 5),
        "classification": (
            f"/api/v1/datasets/{REF}/classification",
            analyst,
            lambda r: {c["field"] for c in r.json()["columns"]} >= {"uscc", "ent_name"},
        ),
        "departments": (
            "/api/v1/departments",
            analyst,
            lambda r: {d["code"] for d in r.json()} == {"SCJG", "SJJ"},
        ),
        "users": ("/api/v1/users", admin, lambda r: len(r.json()) == 4),
        # A governed read: decided in a read transaction, audited in a write one.
        "governed rows": (
            f"/api/v1/exchange/datasets/{REF}/rows?limit=7",
            analyst,
            lambda r: len(r.json()["rows"]) == 7,
        ),
    }


def _get_status(client: httpx.Client, path: str, dropped: list[str]) -> int | str:
    """GET `path` as a browser would: once more on a new connection when a kept-alive one was
    dropped before answering (a server may close an idle connection as the next request is sent).
    The status, or the error: a timeout is never retried."""
    for attempt in range(2):
        try:
            return client.get(path).status_code
        except httpx.HTTPError as e:
            if attempt or not isinstance(e, DROPPED):
                return f"{type(e).__name__}: {e}"
            dropped.append(f"{path}: {type(e).__name__}: {e}")
    raise AssertionError("unreachable")


def test_sixteen_of_each_kind_at_once(server):
    base, tokens = server
    kinds = _kinds(tokens)
    jobs = [(name, *spec) for name, spec in kinds.items() for _ in range(PER_KIND)]
    failures: list[str] = []
    gate = threading.Barrier(len(jobs))
    done = threading.Event()
    side: list[tuple[str, int | str, float]] = []
    dropped: list[str] = []

    with httpx.Client(base_url=base, timeout=BATCH_BOUND_S, limits=httpx.Limits(max_connections=300)) as http:
        # Warm-up: the first governed read starts the query workers; that start is not what is measured.
        for name, (path, headers, _check) in kinds.items():
            r = http.get(path, headers=headers)
            assert r.status_code == 200, (name, r.status_code, r.text[:300])

        def fire(job):
            name, path, headers, check = job
            gate.wait()
            try:
                r = http.get(path, headers=headers)
            except httpx.HTTPError as e:
                failures.append(f"{name}: {type(e).__name__}")
                return
            if r.status_code != 200 or not check(r):
                failures.append(f"{name}: {r.status_code} {r.text[:200]}")

        def meanwhile():
            # A page and the public key keep answering while the batch runs.
            with httpx.Client(base_url=base, timeout=BATCH_BOUND_S) as other:
                while not done.is_set():
                    for path in ("/login", "/api/v1/ledger/public-key"):
                        t0 = time.monotonic()
                        side.append((path, _get_status(other, path, dropped), time.monotonic() - t0))

        watcher = threading.Thread(target=meanwhile)
        started = time.monotonic()
        watcher.start()
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            list(pool.map(fire, jobs))
        elapsed = time.monotonic() - started
        done.set()
        watcher.join()

    print(f"{len(jobs)} concurrent requests answered in {elapsed:.2f} s; side requests: {len(side)}")
    print(f"side requests retried after a dropped connection: {dropped}")
    assert failures == []
    assert elapsed < BATCH_BOUND_S, f"{len(jobs)} requests took {elapsed:.1f} s"
    assert {p for p, _, _ in side} == {"/login", "/api/v1/ledger/public-key"}
    assert [s for s in side if s[1] != 200] == []
    assert max(t for _, _, t in side) < BATCH_BOUND_S
