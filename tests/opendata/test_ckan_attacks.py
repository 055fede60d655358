"""Attacks on the public CKAN-compatible API: each must be refused cleanly, never a 500, never a leak."""

from __future__ import annotations

import base64
import json

import pytest
from tests.opendata.test_ckan_api import portal  # noqa: F401 - the published world

CLEAN = (200, 400, 403, 404, 409)


def _cursor(raw) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _no_leak(r, portal, asked: str = "") -> None:
    assert r.status_code in CLEAN, r.text
    assert r.json()["success"] is (r.status_code == 200)
    text = r.text
    assert "13800000000" not in text and "3301000000" not in text
    assert str(portal.world.settings.data_dir) not in text
    if "_sz_release" not in asked:  # the engine's own names stay inside
        assert "_sz_release" not in text


FORGED = [
    {"s": "", "k": [], "i": 10**30},
    {"s": "", "k": [], "i": -1},
    {"s": "", "k": [], "i": 1.5},
    {"s": "", "k": [], "i": True},
    {"s": "income desc", "k": [10**30], "i": 1},
    {"s": "income desc", "k": ["NaN"], "i": 10**30},
    {"s": "income desc", "k": [{"$gt": 1}], "i": 1},
    {"s": "income desc", "k": [None], "i": 2**63},
    {"s": "_id desc", "k": [10**30], "i": 1},
    {"s": "_id desc", "k": ["1; DROP"], "i": 1},
    [1, 2],
    "not json at all",
]


@pytest.mark.parametrize("raw", FORGED, ids=range(len(FORGED)))
def test_forged_cursors_are_refused_cleanly(portal, client, raw):  # noqa: F811
    sort = raw.get("s") if isinstance(raw, dict) else ""
    params = {"resource_id": portal.population, "cursor": _cursor(raw), "limit": 5}
    if sort:
        params["sort"] = sort
    _no_leak(client.get("/api/3/action/datastore_search", params=params), portal)


@pytest.mark.parametrize(
    "params",
    [
        {"offset": 10**30},
        {"offset": 10**30, "sort": "income desc"},
        {"limit": 10**30, "offset": 10**19},
        {"filters": json.dumps({"income": 10**30})},
        {"filters": json.dumps({"_id": 10**30})},
        {"q": json.dumps({"benefit": ["a"]})},
        {"sort": ",".join(["income desc"] * 500)},
        {"fields": ",".join(["benefit"] * 5000)},
        {"filters": json.dumps({"income": ["1"] * 20000})},
    ],
)
def test_absurd_datastore_input(portal, client, params):  # noqa: F811
    r = client.post("/api/3/action/datastore_search", json={"resource_id": portal.population, **params})
    _no_leak(r, portal)


@pytest.mark.parametrize(
    "params",
    [
        {"start": 10**30},
        {"facet.limit": 10**30, "facet.field": '["tags"]'},
        {"fq": "tags:x " * 3000},
        {"sort": ",".join(["name asc"] * 3000)},
    ],
)
def test_absurd_search_input(portal, client, params):  # noqa: F811
    _no_leak(client.get("/api/3/action/package_search", params=params), portal)


@pytest.mark.parametrize(
    "params",
    [{"page": 10**30}, {"limit": 10**30, "page": 10**30}, {"offset": 10**30}],
)
def test_absurd_listing_input(portal, client, params):  # noqa: F811
    _no_leak(client.get("/api/3/action/current_package_list_with_resources", params=params), portal)
    _no_leak(client.get("/api/3/action/organization_list", params=params), portal)


SQL = [
    "SELECT getenv('HOME') AS h",
    "SELECT current_setting('home_directory') AS h",
    "SELECT * FROM information_schema.tables",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM duckdb_views()",
    "PRAGMA database_list",
    "SET threads = 64",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT * FROM glob('/*')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM \"/etc/passwd\"",
    "SELECT version() AS v",
    "SELECT 1; SELECT 2",
    "SELECT 1 -- ; ATTACH 'x'",
    "/* x */ COPY (SELECT 1) TO 'x'",
    "SELECT * FROM _sz_release_1",
    "SELECT * FROM \"{rid_raw}\"",
    "WITH \"{rid}\" AS (SELECT 1 AS id_number) SELECT id_number FROM \"{rid}\"",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    "SELECT count(*) FROM \"{rid}\" a, \"{rid}\" b, \"{rid}\" c, \"{rid}\" d",
    "SELECT a.benefit FROM \"{rid}\" a, \"{rid}\" b, \"{rid}\" c",
    "SELECT income::INT AS x FROM \"{rid}\" WHERE benefit = 'nope' OR CAST(benefit AS INT) > 0",
    "SELECT * FROM \"{other}\"",
    "SELECT * FROM \"{RID}\"",
    "SELECT * FROM main.\"{rid}\"",
    "SELECT * FROM \"{rid}\" AS \"_sz_release_1\"",
    "SELECT name_x FROM \"{rid}\"",
    "SELECT phone FROM \"{rid}\"",
    "SELECT id_number FROM \"{rid}\"",
    "SELECT \"{rid}\".* FROM \"{rid}\"",
    "SELECT * EXCLUDE (benefit) FROM \"{rid}\"",
    "SELECT COLUMNS('.*') FROM \"{rid}\"",
    "SELECT * FROM (SELECT * FROM \"{rid}\") t",
    "SELECT to_json(t) AS j FROM \"{rid}\" t",
    "SELECT t FROM \"{rid}\" t",
    "FROM \"{rid}\"",
    "SELECT query_table('{rid}') AS x",
    "SELECT * FROM query_table('_sz_release_1')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM pragma_version()",
    "SELECT * FROM \"{rid}\" LIMIT 9223372036854775807 OFFSET 9223372036854775807",
]


@pytest.mark.parametrize("statement", SQL)
def test_sql_escapes(portal, client, statement):  # noqa: F811
    with portal.world.db.read() as s:
        from shuzhi.opendata.models import Release

        ids = [r.id for r in s.query(Release).all()]
    rid = portal.population
    statement = (
        statement.replace("{rid_raw}", f"_sz_release_{ids[0]}")
        .replace("{rid}", rid)
        .replace("{RID}", rid.upper())
        .replace("{other}", portal.withdrawn)
        .replace("_sz_release_1", f"_sz_release_{ids[0]}")
    )
    r = client.post("/api/3/action/datastore_search_sql", json={"sql": statement})
    _no_leak(r, portal, statement)
