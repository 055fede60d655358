"""The auditor's pages: filters, CSV link, an entry with its proof; others are turned away."""

from __future__ import annotations

import re

import pytest
from tests.conftest import login
from tests.ledger import events as ev

from shuzhi.ledger import append


@pytest.fixture
def pages(client, make_user, db):
    make_user("shen.ji", dept="SJ", roles=("auditor",))
    make_user("fen.xi", dept="GA", roles=("analyst",))
    with db.transaction() as s:
        for i in range(5):
            append(s, ev.Read(i=i), user_id=2, department_id=2, dataset_id=i)
        append(s, ev.Denied(), user_id=2, department_id=2, dataset_id=9, outcome="denied")
    return client


def test_needs_login(pages):
    r = pages.get("/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_analyst_is_refused(pages):
    login(pages, "fen.xi", next="/audit")
    assert pages.get("/audit").status_code == 403
    assert pages.get("/audit/entries/0").status_code == 403


def test_auditor_filters_and_exports(pages):
    login(pages, "shen.ji", next="/audit")
    html = pages.get("/audit").text
    assert 'id="audit-entries"' in html and "test.denied" in html and "fen.xi" in html
    html = pages.get("/audit", params={"user": "fen.xi", "outcome": "denied"}).text
    assert html.count("<code>test.") == 1 and "test.denied" in html
    assert "user_id=2" in html and "outcome=denied" in html  # the CSV link keeps the filter
    html = pages.get("/audit", params={"dept": "GA", "event": "test."}).text
    assert html.count("<code>test.") == 6
    assert pages.get("/audit", params={"user": "nobody"}).status_code == 422
    csv = pages.get("/api/v1/audit/entries.csv", params={"user_id": 2, "outcome": "denied"})
    assert csv.status_code == 200
    rows = csv.text.strip().splitlines()[1:]
    assert len(rows) == 1 and ",test.denied,denied," in rows[0]


def test_entry_page_shows_a_proof_that_verifies(pages):
    login(pages, "shen.ji", next="/audit")
    html = pages.get("/audit/entries/3").text
    assert "Audit entry" in html or "审计条目" in html
    assert 'id="proof-bundle"' in html and 'id="verify-btn"' in html
    assert "✓" in html  # the server-side check of the same bundle


def test_event_filter_lists_the_declared_types_with_their_labels(pages):
    login(pages, "shen.ji", next="/audit")
    html = pages.get("/audit", params={"lang": "en"}).text
    options = dict(re.findall(r'<option value="([^"]*)"(?: selected)?>([^<]*)</option>', html))
    assert (
        options["data.read"] == "data read (data.read)"
        and options["grant.revoked"] == "grant revoked (grant.revoked)"
    )
    assert options["request."] == "request.*" and options["test.denied"] == "test denied (test.denied)"
    html = pages.get("/audit", params={"event": "test.denied", "lang": "en"}).text
    assert '<option value="test.denied" selected>' in html and "<code>test.denied</code> test denied" in html


def test_tree_heads_and_the_public_key_are_pages(pages, db, settings):
    from shuzhi.ledger import keys, sth

    login(pages, "shen.ji", next="/audit")
    with db.transaction() as s:
        head = sth.issue_tree_head(s, settings)
    html = pages.get("/audit/tree-head", params={"lang": "en"}).text
    assert 'id="latest-head"' in html and f'id="head-size">{head.tree_size:,}<' in html
    assert head.root_hash.hex() in html and "signature valid" in html
    assert "(UTC+8)" in html and 'href="/api/v1/ledger/sth"' in html
    key = pages.get("/audit/public-key").text
    public = keys.public_key(settings)
    assert keys.key_id(public) in key and keys.raw_public(public).hex() in key and "BEGIN PUBLIC KEY" in key
    audit = pages.get("/audit").text
    assert 'href="/audit/tree-head"' in audit and 'href="/audit/public-key"' in audit


def test_tree_head_pages_are_for_auditors(pages):
    login(pages, "fen.xi", next="/audit")
    assert pages.get("/audit/tree-head").status_code == 403
    assert pages.get("/audit/public-key").status_code == 403
