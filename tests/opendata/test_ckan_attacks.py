"""Attacks on the public CKAN-compatible API: each must be refused cleanly, never a 500, never a leak."""

from __future__ import annotations

import base64
import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.opendata.conftest import add_version, plan, population
from tests.opendata.test_ckan_api import portal  # noqa: F401 - the published world

from shuzhi.opendata import releases
from shuzhi.opendata.models import Release
from shuzhi.web.app import create_app
from shuzhi.web.ckan.ratelimit import RateLimiter

CLEAN = (200, 400, 403, 404, 409)


def _cursor(raw) -> str:
    text = raw if isinstance(raw, str) else json.dumps(raw)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _no_leak(r, world_portal, asked: str = "") -> None:
    assert r.status_code in CLEAN, r.text
    assert r.json()["success"] is (r.status_code == 200)
    text = r.text
    assert "13800000000" not in text and "3301000000" not in text
    assert str(world_portal.world.settings.data_dir) not in text
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


def test_forged_cursors_are_refused_cleanly(portal, client):  # noqa: F811
    for raw in FORGED:
        sort = raw.get("s") if isinstance(raw, dict) else ""
        params = {"resource_id": portal.population, "cursor": _cursor(raw), "limit": 5}
        if sort:
            params["sort"] = sort
        _no_leak(client.get("/api/3/action/datastore_search", params=params), portal)


DATASTORE = [
    {"offset": 10**30},
    {"offset": 10**30, "sort": "income desc"},
    {"limit": 10**30, "offset": 10**19},
    {"filters": {"income": 10**30}},
    {"filters": {"_id": 10**30}},
    {"q": {"benefit": ["a"]}},
    {"sort": ",".join(["income desc"] * 500)},
    {"fields": ",".join(["benefit"] * 5000)},
    {"filters": {"income": ["1"] * 20000}},
]
SEARCH = [
    {"start": 10**30},
    {"facet.limit": 10**30, "facet.field": ["tags"]},
    {"fq": "tags:x " * 3000},
    {"sort": ",".join(["name asc"] * 3000)},
]
LISTING = [{"page": 10**30}, {"limit": 10**30, "page": 10**30}, {"offset": 10**30}]


def test_absurd_input_is_refused_or_cut(portal, client):  # noqa: F811
    def post(action, data):
        _no_leak(client.post(f"/api/3/action/{action}", json=data), portal)

    for data in DATASTORE:
        post("datastore_search", {"resource_id": portal.population, **data})
    for data in SEARCH:
        post("package_search", data)
    for data in LISTING:
        post("current_package_list_with_resources", data)
        post("organization_list", data)


SQL = [
    'SELECT income + 1 AS x FROM "{rid}"',
    'SELECT benefit FROM "{rid}" WHERE income > 5',
    'SELECT sum(benefit) AS s FROM "{rid}"',
    'SELECT benefit FROM "{rid}" GROUP BY 1 HAVING income > 1',
    'SELECT benefit FROM "{rid}" ORDER BY nope',
    'SELECT * FROM "{rid}" a JOIN "{rid}" b USING (nope)',
    'SELECT CAST(name AS DATE) AS d FROM "{rid}"',
    "SELECT regexp_matches(benefit, '(') AS r FROM \"{rid}\"",
    'SELECT "{rid}".phone FROM "{rid}"',
    'SELECT x.id_number FROM "{rid}" x',
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
    'SELECT * FROM "/etc/passwd"',
    "SELECT version() AS v",
    "SELECT 1; SELECT 2",
    "SELECT 1 -- ; ATTACH 'x'",
    "/* x */ COPY (SELECT 1) TO 'x'",
    "SELECT * FROM _sz_release_1",
    'SELECT * FROM "{rid_raw}"',
    'WITH "{rid}" AS (SELECT 1 AS id_number) SELECT id_number FROM "{rid}"',
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    'SELECT count(*) FROM "{rid}" a, "{rid}" b, "{rid}" c, "{rid}" d',
    'SELECT a.benefit FROM "{rid}" a, "{rid}" b, "{rid}" c',
    "SELECT income::INT AS x FROM \"{rid}\" WHERE benefit = 'nope' OR CAST(benefit AS INT) > 0",
    'SELECT * FROM "{other}"',
    'SELECT * FROM "{RID}"',
    'SELECT * FROM main."{rid}"',
    'SELECT * FROM "{rid}" AS "_sz_release_1"',
    'SELECT name_x FROM "{rid}"',
    'SELECT phone FROM "{rid}"',
    'SELECT id_number FROM "{rid}"',
    'SELECT "{rid}".* FROM "{rid}"',
    'SELECT * EXCLUDE (benefit) FROM "{rid}"',
    "SELECT COLUMNS('.*') FROM \"{rid}\"",
    'SELECT * FROM (SELECT * FROM "{rid}") t',
    'SELECT to_json(t) AS j FROM "{rid}" t',
    'SELECT t FROM "{rid}" t',
    'FROM "{rid}"',
    "SELECT query_table('{rid}') AS x",
    "SELECT * FROM query_table('_sz_release_1')",
    "SELECT * FROM query('SELECT 1')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM pragma_version()",
    'SELECT * FROM "{rid}" LIMIT 9223372036854775807 OFFSET 9223372036854775807',
]


def test_sql_escapes_are_refused_and_say_nothing_of_the_server(portal, client):  # noqa: F811
    with portal.world.db.read() as s:
        raw = f"_sz_release_{s.scalar(select(Release.id))}"
    rid = portal.population
    for statement in SQL:
        statement = (
            statement.replace("{rid_raw}", raw)
            .replace("{rid}", rid)
            .replace("{RID}", rid.upper())
            .replace("{other}", portal.withdrawn)
            .replace("_sz_release_1", raw)
        )
        r = client.post("/api/3/action/datastore_search_sql", json={"sql": statement})
        print(r.status_code, statement, r.text[-160:])
        _no_leak(r, portal, statement)


def test_rotating_addresses_within_one_ipv6_network_is_one_client(portal):  # noqa: F811
    """An IPv6 client holds a whole /64: a new address per call must not get a new bucket each."""
    s = portal.world.settings
    s.ckan.burst, s.ckan.requests_per_minute = 2, 1
    app = create_app(s, db=portal.world.db)
    codes = []
    for i in range(4):
        with TestClient(app, client=(f"2001:db8:1:2::{i + 1:x}", 1000)) as c:
            codes.append(c.get("/api/3/action/site_read").status_code)
    assert codes == [200, 200, 429, 429]
    with TestClient(app, client=("2001:db8:1:3::1", 1000)) as other:  # another network
        assert other.get("/api/3/action/site_read").status_code == 200
    with (
        TestClient(app, client=("::ffff:10.0.0.9", 1000)) as mapped,
        TestClient(app, client=("10.0.0.9", 1)) as v4,
    ):
        assert [mapped.get("/api/3/action/site_read").status_code for _ in range(2)] == [200, 200]
        assert v4.get("/api/3/action/site_read").status_code == 429  # the same IPv4 client


def test_download_route_serves_only_the_named_packages_published_file(portal, client):  # noqa: F811
    rid, other = portal.population, portal.enterprises
    for path in (
        f"/dataset/population/resource/{other}/download/x.parquet",
        f"/dataset/enterprises/resource/{rid}/download/x.parquet",
        f"/dataset/gone/resource/{portal.withdrawn}/download/x.parquet",
        "/dataset/secret_registry/resource/secret_registry-r1/download/x.parquet",
        f"/dataset/population/resource/{rid}/download/..%2F..%2Fetc%2Fpasswd",
        f"/dataset/population/resource/..%2F{rid}/download/x.parquet",
        f"/dataset/population/resource/population-r{10**30}/download/x.parquet",
    ):
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert str(portal.world.settings.data_dir) not in r.text
    odd = client.get(f'/dataset/population/resource/{rid}/download/a"%0d%0aSet-Cookie: x=1.parquet')
    assert odd.status_code == 200 and "set-cookie" not in odd.headers


def test_deeply_nested_json_is_a_bad_request(portal, client):  # noqa: F811
    deep = "[" * 5000 + "]" * 5000
    r = client.post(
        "/api/3/action/package_list",
        content='{"limit": ' + deep + "}",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 409) and r.json()["success"] is False
    for name in ("filters", "fields", "q", "facet.field"):
        action = "package_search" if name == "facet.field" else "datastore_search"
        r = client.get(f"/api/3/action/{action}", params={"resource_id": portal.population, name: deep})
        assert r.status_code in (400, 409), (name, r.text)
        assert r.json()["success"] is False


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
PARAMS = ["filters", "q", "sort", "fields", "limit", "offset", "cursor", "records_format", "include_total"]


@hsettings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.dictionaries(
        st.sampled_from(PARAMS),
        json_values | st.sampled_from(["income", "benefit", "_id", "income desc", "name"]),
        max_size=4,
    )
)
def test_any_json_in_a_datastore_body_is_never_a_server_error(portal, client, data):  # noqa: F811
    client.app.state.ckan_limiter = RateLimiter(10**6, 10**6)  # many calls here, none to be refused
    for action in ("datastore_search", "datastore_info", "package_search", "datastore_search_sql"):
        r = client.post(f"/api/3/action/{action}", json={"resource_id": portal.population, **data})
        _no_leak(r, portal)


def test_a_client_with_slow_calls_running_cannot_start_more(portal, client):  # noqa: F811
    """Within its rate, a client holding `calls_at_once` slow calls (long SQL, big sorts) is refused a
    further one, so it cannot take every server thread; others are served; ended calls free a place."""
    limiter = client.app.state.ckan_limiter = RateLimiter(10**6, 10**6, at_once=2)
    for _ in range(2):  # two calls of this client still running
        assert limiter.start("testclient")
    refused = client.get("/api/3/action/site_read")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    with TestClient(client.app, client=("10.0.0.7", 1)) as other:
        assert other.get("/api/3/action/site_read").status_code == 200
    limiter.finish("testclient")
    assert client.get("/api/3/action/site_read").status_code == 200
    assert client.get("/api/3/action/package_show", params={"id": "nope"}).status_code == 404
    assert limiter.start("testclient") is True  # failed calls gave their place back
    assert limiter.start("testclient") is False


def test_pending_and_rejected_releases_are_nowhere(portal, client):  # noqa: F811
    world = portal.world
    dropped = plan(fields={"phone": {"action": "drop"}})
    add_version(world.db, world.settings, "enterprises", population(seed=8))
    with world.db.transaction() as s:
        pending = releases.prepare_release(s, world.settings, world.steward, "population", plan=dropped).id
    with world.db.transaction() as s:
        rejected = releases.prepare_release(
            s, world.settings, world.other_steward, "enterprises", plan=plan()
        ).id
    with world.db.transaction() as s:
        releases.reject_release(s, world.steward2, s.get(Release, pending), "否")
        pending_again = releases.prepare_release(
            s, world.settings, world.steward, "population", plan=dropped
        ).id
    hidden = [f"population-r{pending}", f"population-r{pending_again}", f"enterprises-r{rejected}"]
    for rid in hidden:
        package = rid.split("-r")[0]
        assert client.get(f"/dataset/{package}/resource/{rid}/download/x.parquet").status_code == 404
        for action, data in [
            ("resource_show", {"id": rid}),
            ("datastore_search", {"resource_id": rid}),
            ("datastore_info", {"id": rid}),
            ("datastore_search_sql", {"sql": f'SELECT benefit FROM "{rid}"'}),
        ]:
            r = client.post(f"/api/3/action/{action}", json=data)
            assert r.status_code in (403, 404), (action, rid, r.text)
    shown = client.get("/api/3/action/package_show", params={"id": "population"}).json()["result"]
    assert [r["id"] for r in shown["resources"]] == [portal.population]
    assert all(rid not in client.get("/data.json").text for rid in hidden)


def test_a_forged_host_is_never_cached_for_others(portal, client, settings):  # noqa: F811
    """Without dcat.site_url the exports' addresses follow the Host sent: the answers say they vary by
    it, so no shared cache hands one client's Host to the next; with it set, the Host is ignored."""
    evil = {"host": "evil.example"}
    for path in ("/data.json", "/catalog.ttl", "/api/3/action/package_list"):
        r = client.get(path, headers=evil)
        assert r.status_code == 200 and r.headers.get("vary") == "Host", path
    settings.dcat.site_url = "https://data.example.gov.cn"
    try:
        for path in ("/data.json", "/api/3/action/package_list"):
            r = client.get(path, headers=evil)
            assert "evil.example" not in r.text and "vary" not in r.headers, path
    finally:
        settings.dcat.site_url = None
