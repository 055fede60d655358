"""Finding 11: unbounded text. A 5 MB purpose became a 5 MB ledger entry; every free-text input now has
a limit answered with a 422 naming the field and the limit, and the ledger never keeps unbounded text."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from tests.ledger import events as ev

from shuzhi import textlimits as limits
from shuzhi.ledger import LedgerEntry

FEW_KB = 4096


def _largest_entry(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.max(func.length(LedgerEntry.entry)))) or 0


def _entries(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(LedgerEntry))


@pytest.fixture
def world(client, make_user, token_for):
    make_user("root", dept="BDB", roles=("admin",))
    make_user("ga.steward", dept="GA", roles=("steward",))
    make_user("rs.analyst", dept="RS", roles=("analyst",))
    admin = token_for("root")
    body = {
        "identifier": "hz-psb-population",
        "title_zh": "人口",
        "department": "GA",
        "theme": "population",
        "share_type": "conditional",
        "fields": [{"name": "姓名", "type": "VARCHAR"}],
    }
    assert client.post("/api/v1/datasets", json=body, headers=admin).status_code == 201
    return {"root": admin, "ga.steward": token_for("ga.steward"), "rs.analyst": token_for("rs.analyst")}


def test_a_5mb_purpose_is_refused_and_never_reaches_the_ledger(client, db, world):
    before = _entries(db)
    r = client.post(
        "/api/v1/exchange/sql",
        json={"sql": 'SELECT 姓名 FROM "hz-psb-population"', "purpose": "x" * 5_000_000},
        headers=world["rs.analyst"],
    )
    # 413 when a request-body cap refuses it before parsing; otherwise the field limit answers
    assert r.status_code in (413, 422), r.text
    if r.status_code == 422:
        assert any(f["field"] == "purpose" for f in r.json()["fields"])
    assert _entries(db) == before
    assert _largest_entry(db) < FEW_KB


def test_a_purpose_just_over_the_limit_is_refused_naming_the_field_and_limit(client, db, world):
    before = _entries(db)
    sql = 'SELECT 姓名 FROM "hz-psb-population"'
    r = client.post(
        "/api/v1/exchange/sql",
        json={"sql": sql, "purpose": "x" * (limits.REASON + 1)},
        headers=world["rs.analyst"],
    )
    assert r.status_code == 422, r.text
    (err,) = r.json()["fields"]
    assert err["field"] == "purpose" and str(limits.REASON) in err["message"]
    assert _entries(db) == before
    # at the limit the read goes on and is refused for want of a grant: the denial is audited, bounded
    r = client.post(
        "/api/v1/exchange/sql", json={"sql": sql, "purpose": "y" * limits.REASON}, headers=world["rs.analyst"]
    )
    assert r.status_code == 403, r.text
    assert _entries(db) == before + 1 and _largest_entry(db) < FEW_KB


def test_the_ledger_cuts_any_long_text_it_is_given(db):
    """Defence in depth: whatever a caller forgets to bound, an entry keeps a prefix, the length and a hash."""
    import hashlib

    from shuzhi import ledger

    text = "泄" * 1_000_000
    with db.transaction() as s:
        ledger.append(s, ev.Denied(purpose=text, nested=[{"why": text}]), outcome="denied")
    assert _largest_entry(db) < FEW_KB
    with db.session() as s:
        entry = s.scalar(select(LedgerEntry.entry).order_by(LedgerEntry.seq.desc()))
    assert hashlib.sha256(text.encode()).hexdigest() in entry and "1000000 chars" in entry


def _too_long(limit: int) -> str:
    return "长" * (limit + 1)


DATASET = {"identifier": "ga-x", "title_zh": "x", "department": "GA", "theme": "population"}

# (id, method, path, body or params, who, field as the 422 names it, limit)
CASES = [
    (
        "dataset-title",
        "post",
        "/api/v1/datasets",
        {**DATASET, "title_zh": _too_long(limits.TITLE)},
        "root",
        "title_zh",
        limits.TITLE,
    ),
    (
        "dataset-description",
        "post",
        "/api/v1/datasets",
        {**DATASET, "description": _too_long(limits.DESCRIPTION)},
        "root",
        "description",
        limits.DESCRIPTION,
    ),
    (
        "dataset-basis",
        "post",
        "/api/v1/datasets",
        {**DATASET, "share_basis": _too_long(limits.REASON)},
        "root",
        "share_basis",
        limits.REASON,
    ),
    (
        "dataset-keyword",
        "post",
        "/api/v1/datasets",
        {**DATASET, "keywords": [_too_long(limits.LABEL)]},
        "root",
        "keywords.0",
        limits.LABEL,
    ),
    (
        "field-description",
        "post",
        "/api/v1/datasets",
        {**DATASET, "fields": [{"name": "a", "description": _too_long(limits.DESCRIPTION)}]},
        "root",
        "fields.0.description",
        limits.DESCRIPTION,
    ),
    (
        "dataset-patch",
        "patch",
        "/api/v1/datasets/hz-psb-population",
        {"contact_name": _too_long(limits.LABEL)},
        "root",
        "contact_name",
        limits.LABEL,
    ),
    (
        "department-name",
        "post",
        "/api/v1/departments",
        {"code": "X", "name_zh": _too_long(limits.NAME)},
        "root",
        "name_zh",
        limits.NAME,
    ),
    (
        "user-display-name",
        "post",
        "/api/v1/users",
        {
            "username": "u1",
            "password": "p" * 8,
            "department": "GA",
            "roles": ["analyst"],
            "display_name": _too_long(limits.LABEL),
        },
        "root",
        "display_name",
        limits.LABEL,
    ),
    (
        "user-password",
        "post",
        "/api/v1/users",
        {"username": "u1", "password": "p" * (limits.PASSWORD + 1), "department": "GA", "roles": ["analyst"]},
        "root",
        "password",
        limits.PASSWORD,
    ),
    (
        "token-name",
        "post",
        "/api/v1/tokens",
        {"username": "rs.analyst", "password": "whatever!", "name": _too_long(limits.LABEL)},
        None,
        "name",
        limits.LABEL,
    ),
    (
        "token-password",
        "post",
        "/api/v1/tokens",
        {"username": "rs.analyst", "password": "p" * (limits.PASSWORD + 1)},
        None,
        "password",
        limits.PASSWORD,
    ),
    (
        "request-purpose",
        "post",
        "/api/v1/exchange/requests",
        {"dataset": "hz-psb-population", "fields": ["姓名"], "purpose": _too_long(limits.REASON)},
        "rs.analyst",
        "purpose",
        limits.REASON,
    ),
    (
        "request-basis",
        "post",
        "/api/v1/exchange/requests",
        {
            "dataset": "hz-psb-population",
            "fields": ["姓名"],
            "purpose": "p",
            "basis": _too_long(limits.REASON),
        },
        "rs.analyst",
        "basis",
        limits.REASON,
    ),
    (
        "decision-reason",
        "post",
        "/api/v1/exchange/requests/1/reject",
        {"reason": _too_long(limits.REASON)},
        "ga.steward",
        "reason",
        limits.REASON,
    ),
    (
        "decision-row-filter",
        "post",
        "/api/v1/exchange/requests/1/approve",
        {"row_filter": _too_long(limits.ROW_FILTER)},
        "ga.steward",
        "row_filter",
        limits.ROW_FILTER,
    ),
    (
        "grant-revoke-reason",
        "post",
        "/api/v1/exchange/grants/1/revoke",
        {"reason": _too_long(limits.REASON)},
        "ga.steward",
        "reason",
        limits.REASON,
    ),
    (
        "sql-text",
        "post",
        "/api/v1/exchange/sql",
        {"sql": "S" * (limits.SQL + 1)},
        "rs.analyst",
        "sql",
        limits.SQL,
    ),
    (
        "rows-purpose",
        "get",
        "/api/v1/exchange/datasets/hz-psb-population/rows",
        {"purpose": _too_long(limits.REASON)},
        "rs.analyst",
        "purpose",
        limits.REASON,
    ),
    (
        "export-purpose",
        "get",
        "/api/v1/exchange/datasets/hz-psb-population/export",
        {"purpose": _too_long(limits.REASON)},
        "rs.analyst",
        "purpose",
        limits.REASON,
    ),
    (
        "catalog-search",
        "get",
        "/api/v1/datasets",
        {"q": _too_long(limits.SEARCH)},
        "rs.analyst",
        "q",
        limits.SEARCH,
    ),
    (
        "column-review-reason",
        "post",
        "/api/v1/datasets/hz-psb-population/classification/columns/姓名",
        {"action": "confirm", "reason": _too_long(limits.REASON)},
        "ga.steward",
        "reason",
        limits.REASON,
    ),
    (
        "grade-review-reason",
        "post",
        "/api/v1/datasets/hz-psb-population/classification/grade",
        {"action": "confirm", "reason": _too_long(limits.REASON)},
        "ga.steward",
        "reason",
        limits.REASON,
    ),
    (
        "alert-note",
        "post",
        "/api/v1/datasets/hz-psb-population/classification/alerts/1/resolve",
        {"note": _too_long(limits.REASON)},
        "ga.steward",
        "note",
        limits.REASON,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_each_free_text_field_has_a_limit(client, db, world, case):
    _id, method, path, payload, who, field, limit = case
    headers = world[who] if who else {}
    before = _entries(db)
    if method == "get":
        r = client.get(path, params=payload, headers=headers)
    else:
        r = client.request(method.upper(), path, json=payload, headers=headers)
    assert r.status_code == 422, r.text
    errors = r.json()["fields"]
    assert [e["field"] for e in errors] == [field], errors
    assert str(limit) in errors[0]["message"]
    assert _entries(db) == before  # refused before anything happened, so nothing to audit


def test_an_ingest_source_url_has_a_limit(client, db, world):
    r = client.post(
        "/api/v1/datasets/hz-psb-population/versions",
        json={"source": "https://example.org/" + "a" * limits.URL},
        headers=world["ga.steward"],
    )
    assert r.status_code == 422, r.text
    assert (
        r.json()["where"] == "body"
        and "source" in r.json()["message"]
        and str(limits.URL) in r.json()["message"]
    )


def test_login_form_fields_have_limits(client, world):
    import re

    token = re.search(r'name="login_csrf" value="([^"]+)"', client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": "rs.analyst", "password": "p" * (limits.PASSWORD + 1), "login_csrf": token},
        follow_redirects=False,
    )
    # a page answers a page: the field named in words, nothing signed in
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert "<code>password</code>" in r.text and "session" not in r.cookies


def test_services_check_limits_for_every_face(cli_env, db):
    """The CLI reaches the services without pydantic models in between: the services check too."""
    from typer.testing import CliRunner

    from shuzhi.cli import app as cli

    before = _entries(db)
    result = CliRunner().invoke(cli, ["dept", "add", "XX", _too_long(limits.NAME)])
    assert result.exit_code != 0 and "name_zh" in result.output and str(limits.NAME) in result.output
    assert _entries(db) == before


def test_exchange_services_check_limits(db, make_user, settings):
    from shuzhi.errors import InvalidInput
    from shuzhi.exchange import share_requests

    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    make_user("ga.steward", dept="GA", roles=("steward",))
    with db.transaction() as s:
        from shuzhi.catalog import service as catalog
        from shuzhi.catalog.schemas import DatasetIn
        from shuzhi.orgs.service import system_principal

        catalog.create_dataset(
            s, system_principal(), DatasetIn(**DATASET, fields=[{"name": "a", "type": "VARCHAR"}])
        )
    too_long = {"dataset": "ga-x", "fields": ["a"], "purpose": _too_long(limits.REASON)}
    with pytest.raises(InvalidInput) as e:  # the request model refuses it for every face
        share_requests.RequestIn.of(**too_long)
    assert e.value.where == "purpose"
    with db.transaction() as s, pytest.raises(InvalidInput) as e:  # and the service, given one unchecked
        share_requests.create_request(
            s, settings, analyst, share_requests.RequestIn.model_construct(**too_long)
        )
    assert e.value.where == "purpose" and e.value.detail["limit"] == limits.REASON
