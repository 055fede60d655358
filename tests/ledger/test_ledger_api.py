"""The auditor's API and the public endpoints: filters, CSV, proofs a client can check, role checks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from tests.ledger import events as ev

from shuzhi.ledger import append, merkle, proofs, sth


@pytest.fixture
def seeded(db, make_user, token_for):
    auditor = make_user("shen.ji", dept="SJ", roles=("auditor",))
    make_user("fen.xi", dept="GA", roles=("analyst",))
    with db.transaction() as s:
        for i in range(12):
            append(
                s,
                (ev.Read if i % 3 else ev.Approved)(i=i, 列="身份证号"),
                user_id=100 + i % 2,
                department_id=7,
                dataset_id=i % 4,
                outcome="ok" if i % 5 else "denied",
            )
    return {"auditor": token_for("shen.ji"), "analyst": token_for("fen.xi"), "auditor_id": auditor.user_id}


def test_public_key_and_sth_need_no_login(seeded, app, client):
    assert app.state.jobs.wait_idle()  # the start-up head is signed by a job on the runner's pool
    key = client.get("/api/v1/ledger/public-key").json()
    assert key["algorithm"] == "Ed25519" and len(bytes.fromhex(key["public_key"])) == 32
    head = client.get("/api/v1/ledger/sth").json()
    assert head["tree_size"] >= 1
    signed = sth.SignedHead(
        head["tree_size"],
        bytes.fromhex(head["root_hash"]),
        head["timestamp"],
        bytes.fromhex(head["signature"]),
        head["key_id"],
    )
    assert signed.valid_under(load_pem_public_key(key["public_key_pem"].encode()))


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/audit/entries"),
        ("get", "/api/v1/audit/entries.csv"),
        ("get", "/api/v1/audit/entries/0"),
        ("get", "/api/v1/audit/entries/0/proof"),
        ("post", "/api/v1/audit/sth"),
    ],
)
def test_only_auditors_and_admins(client, seeded, method, path):
    assert getattr(client, method)(path).status_code == 401
    assert getattr(client, method)(path, headers=seeded["analyst"]).status_code == 403
    assert getattr(client, method)(path, headers=seeded["auditor"]).status_code in (200, 201)


def _seqs(client, headers, **params) -> list[int]:
    resp = client.get("/api/v1/audit/entries", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return [e["seq"] for e in resp.json()["entries"]]


def test_filters(client, seeded):
    h = seeded["auditor"]
    everything = _seqs(client, h, limit=1000)
    assert everything == sorted(everything, reverse=True)
    by_user = _seqs(client, h, user_id=101)
    assert len(by_user) == 6
    assert len(_seqs(client, h, department_id=7)) == 12
    assert len(_seqs(client, h, dataset_id=3)) == 3
    assert len(_seqs(client, h, event="test_request.")) == 4
    assert len(_seqs(client, h, event="test.read")) == 8
    assert len(_seqs(client, h, outcome="denied")) == 3
    assert len(_seqs(client, h, user_id=101, dataset_id=1)) == 3
    now = datetime.now(UTC)
    assert len(_seqs(client, h, since=(now - timedelta(hours=1)).isoformat(), limit=1000)) == len(everything)
    assert _seqs(client, h, until=(now - timedelta(hours=1)).isoformat()) == []
    page = client.get("/api/v1/audit/entries", params={"limit": 5}, headers=h).json()
    nxt = client.get(
        "/api/v1/audit/entries", params={"limit": 5, "before_seq": page["next_before_seq"]}, headers=h
    ).json()
    assert [e["seq"] for e in page["entries"] + nxt["entries"]] == everything[:10]


def test_csv_export(client, seeded):
    resp = client.get("/api/v1/audit/entries.csv", params={"event": "test.read"}, headers=seeded["auditor"])
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig"))))
    assert len(rows) == 8 and {r["event"] for r in rows} == {"test.read"}
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    assert "身份证号" in rows[0]["entry"]


def test_inclusion_proof_verifies_client_side(client, seeded):
    key_pem = client.get("/api/v1/ledger/public-key").json()["public_key_pem"]
    key = load_pem_public_key(key_pem.encode())
    seqs = _seqs(client, seeded["auditor"], limit=1000)
    for seq in seqs:
        bundle = client.get(f"/api/v1/audit/entries/{seq}/proof", headers=seeded["auditor"]).json()
        assert proofs.check_inclusion_bundle(bundle, key) == []
        # the documented procedure, step by step, with nothing but the pure functions
        leaf = merkle.leaf_hash(bundle["entry"].encode("utf-8"))
        path = [bytes.fromhex(p) for p in bundle["inclusion_path"]]
        root = bytes.fromhex(bundle["sth"]["root_hash"])
        assert merkle.verify_inclusion(bundle["leaf_index"], bundle["sth"]["tree_size"], leaf, path, root)
        forged = dict(bundle, entry=bundle["entry"].replace('"ok"', '"denied"'))
        assert proofs.check_inclusion_bundle(forged, key) != [] or '"ok"' not in bundle["entry"]


def test_consistency_between_tree_heads(client, seeded, db):
    h = seeded["auditor"]
    first = client.post("/api/v1/audit/sth", headers=h).json()
    with db.transaction() as s:
        append(s, ev.Login(), user_id=1)
    second = client.post("/api/v1/audit/sth", headers=h).json()
    assert second["tree_size"] == first["tree_size"] + 1
    proof = client.get(
        "/api/v1/ledger/consistency", params={"first": first["tree_size"], "second": second["tree_size"]}
    ).json()
    assert merkle.verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(p) for p in proof["consistency_path"]],
    )


def test_errors(client, seeded):
    h = seeded["auditor"]
    assert client.get("/api/v1/audit/entries/99999", headers=h).status_code == 404
    # No signed head of that size, no proof from a larger tree to a smaller: nothing to find.
    assert client.get("/api/v1/audit/entries/0/proof", params={"tree_size": 3}, headers=h).status_code == 404
    assert client.get("/api/v1/ledger/consistency", params={"first": 5, "second": 2}).status_code == 404


def test_the_entry_page_reads_as_fields_in_local_time(client, seeded, db):
    from sqlalchemy import func, select
    from tests.conftest import login

    from shuzhi.ledger.models import LedgerEntry

    with db.read() as s:
        last = s.scalar(select(func.max(LedgerEntry.seq)).where(LedgerEntry.event == ev.Read.TYPE.name))
    login(client, "shen.ji")
    page = client.get(f"/audit/entries/{last}")
    assert page.status_code == 200, page.text
    assert "(UTC+8)" in page.text  # Asia/Shanghai by default; the UTC time stays beside it
    assert '<dt class="field">列</dt><dd class="field"><code>身份证号</code>' in page.text
    assert '<pre class="wrap" id="entry-text">' in page.text
