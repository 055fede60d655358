"""The CKAN-compatible Action API, driven by the real `ckanapi` client and by hand-made bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import ckanapi
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.conftest import serving
from tests.opendata.conftest import add_dataset, add_version, plan, population

from shuzhi.catalog.models import Dataset
from shuzhi.opendata import releases
from shuzhi.opendata.models import Release
from shuzhi.web.app import create_app


@dataclass
class Portal:
    world: object
    population: str
    enterprises: str
    withdrawn: str
    rows: int


def _publish(world, dataset: str, preparer, approver) -> int:
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, preparer, dataset, plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, approver, s.get(Release, rid))
    return rid


@pytest.fixture
def portal(world) -> Portal:
    """Three published releases: population (GA, with a newer unpublished version carrying a
    `phone` column), enterprises (SC), and one withdrawn since."""
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        ds.title_zh, ds.title_en = "城乡低保对象名册", "Subsistence allowance register"
        ds.keywords, ds.licence, ds.description = ["低保", "社会救助"], "CC-BY-4.0", "按区县统计的救助对象"
        # Open to all: its rows are what these tests read (a conditional dataset's are refused).
        ds.open_type = "unconditional"
    pop = _publish(world, "population", world.steward, world.steward2)
    add_version(world.db, world.settings, "population", population(extra={"phone": ["13800000000"] * 240}))
    add_dataset(
        world.db,
        world.settings,
        world.other_steward,
        "enterprises",
        "unconditional",
        population(seed=5),
        "SC",
    )
    ent = _publish(world, "enterprises", world.other_steward, world.admin)
    add_dataset(world.db, world.settings, world.steward, "gone", "conditional", population(seed=7))
    gone = _publish(world, "gone", world.steward, world.steward2)
    with world.db.transaction() as s:
        releases.withdraw_release(s, world.steward, s.get(Release, gone), "复核")
    with world.db.read() as s:
        rows = s.get(Release, pop).row_count
    return Portal(world, f"population-r{pop}", f"enterprises-r{ent}", f"gone-r{gone}", rows)


@pytest.fixture
def site(portal):
    with serving(create_app(portal.world.settings, db=portal.world.db)) as port:
        yield f"http://127.0.0.1:{port}"


def _released(portal: Portal):
    with portal.world.db.read() as s:
        path = portal.world.settings.data_dir / s.get(Release, int(portal.population.split("-r")[1])).path
    return pq.read_table(path)


@pytest.mark.parametrize("get_only", [False, True], ids=["post", "get"])
def test_ckanapi_reads_the_published_portal(portal, site, get_only):
    ckan = ckanapi.RemoteCKAN(site, get_only=get_only)
    act = ckan.action
    assert act.status_show()["ckan_version"].startswith("2.11")
    assert act.site_read() is True
    assert act.package_list() == ["enterprises", "population"]
    pkg = act.package_show(id="population")
    assert pkg["title"] == "城乡低保对象名册" and pkg["organization"]["name"] == "GA"
    assert [g["name"] for g in pkg["groups"]] == ["safety"] and pkg["license_id"] == "CC-BY-4.0"
    (res,) = pkg["resources"]
    assert res["id"] == portal.population and res["format"] == "Parquet" and res["datastore_active"]
    names = [f["id"] for f in res["fields"]]
    assert "phone" not in names and "id_number" not in names and "benefit" in names
    assert act.resource_show(id=portal.population)["package_id"] == "population"

    found = act.package_search(q="低保")
    assert [p["name"] for p in found["results"]] == ["population"]
    facets = act.package_search(**{"facet.field": json.dumps(["organization", "res_format"]), "rows": 0})
    assert facets["count"] == 2 and facets["results"] == []
    counts = {i["name"]: i["count"] for i in facets["search_facets"]["organization"]["items"]}
    assert counts == {"GA": 1, "SC": 1}
    assert [p["name"] for p in act.package_search(fq="organization:SC")["results"]] == ["enterprises"]
    assert act.package_search(fq='tags:"社会救助" +res_format:Parquet')["count"] == 1
    ordered = act.package_search(sort="name desc", rows=1, start=1)
    assert [p["name"] for p in ordered["results"]] == ["enterprises"]
    assert [o["name"] for o in act.organization_list(all_fields=True)] == ["GA", "SC"]
    assert act.group_show(id="safety", include_datasets=True)["package_count"] == 2
    assert "社会救助" in act.tag_list()
    assert len(act.current_package_list_with_resources()) == 2

    table = _released(portal)
    got = act.datastore_search(
        resource_id=portal.population, filters=json.dumps({"benefit": "低保"}), limit=5
    )
    assert got["total"] == table.column("benefit").to_pylist().count("低保")
    assert all(r["benefit"] == "低保" for r in got["records"]) and len(got["records"]) <= 5
    assert {f["id"] for f in got["fields"]} == {"_id", *table.column_names}

    with pytest.raises(ckanapi.NotFound):
        act.package_show(id="secret_registry")
    with pytest.raises(ckanapi.NotFound):
        act.datastore_search(resource_id=portal.withdrawn)
    with pytest.raises(ckanapi.ValidationError):
        act.datastore_search(resource_id=portal.population, filters="[1, 2]")
    with pytest.raises(ckanapi.SearchQueryError):
        act.package_search(fq="organization:(GA OR")


def test_a_newer_unpublished_version_shows_nothing_of_itself(portal, client):
    """Only the release's fields and rows are served, though the dataset has a newer version."""
    table = _released(portal)
    r = client.get("/api/3/action/datastore_search", params={"resource_id": portal.population, "limit": 1000})
    body = r.json()["result"]
    assert r.status_code == 200 and body["total"] == table.num_rows
    assert [f["id"] for f in body["fields"]] == ["_id", *table.column_names]
    assert all("phone" not in rec and "id_number" not in rec for rec in body["records"])
    assert "13800000000" not in r.text
    bad = client.get(
        "/api/3/action/datastore_search", params={"resource_id": portal.population, "fields": "phone"}
    )
    assert bad.status_code == 409 and bad.json()["error"]["__type"] == "Validation Error"
    sql = client.post(
        "/api/action/datastore_search_sql", json={"sql": f'SELECT phone FROM "{portal.population}"'}
    )
    assert sql.status_code == 409 and "13800000000" not in sql.text


@pytest.mark.parametrize("sort", [None, "income desc, benefit asc", "_id desc"])
def test_the_next_link_walks_every_row_once(portal, client, sort):
    params = {
        "resource_id": portal.population,
        "limit": 37,
        "records_format": "lists",
        "fields": "_id,income",
    }
    if sort:
        params["sort"] = sort
    first = client.get("/api/3/action/datastore_search", params=params).json()["result"]
    total, seen, url = first["total"], [], None
    page = first
    while page["records"]:
        seen += page["records"]
        url = page["_links"]["next"]
        assert "offset" not in url and "cursor=" in url
        page = client.get(url).json()["result"]
    ids = [row[0] for row in seen]
    assert len(ids) == len(set(ids)) == total == portal.rows
    if sort is None:
        assert ids == sorted(ids)
    elif sort == "_id desc":
        assert ids == sorted(ids, reverse=True)
    else:  # income descending, nulls last
        incomes = [row[1] for row in seen]
        present = [v for v in incomes if v is not None]
        assert present == sorted(present, reverse=True) and incomes[: len(present)] == present


def test_records_formats(portal, client):
    def search(fmt):
        params = {
            "resource_id": portal.population,
            "limit": 3,
            "fields": "_id,benefit",
            "records_format": fmt,
        }
        return client.get("/api/3/action/datastore_search", params=params).json()["result"]["records"]

    objects, lists, text = search("objects"), search("lists"), search("csv")
    assert [[o["_id"], o["benefit"]] for o in objects] == lists
    assert text.splitlines() == [f"{a},{b}" for a, b in lists]


def test_datastore_search_sql_runs_governed(portal, client):
    rid = portal.population
    table = _released(portal)

    def sql(statement):
        return client.post("/api/3/action/datastore_search_sql", json={"sql": statement})

    r = sql(f'SELECT benefit, count(*) AS n FROM "{rid}" GROUP BY benefit ORDER BY benefit')
    assert r.status_code == 200, r.text
    counts = {rec["benefit"]: rec["n"] for rec in r.json()["result"]["records"]}
    assert sum(counts.values()) == table.num_rows
    star = sql(f'SELECT * FROM "{rid}" LIMIT 2').json()["result"]
    assert [f["id"] for f in star["fields"]] == table.column_names
    both = sql(f'SELECT count(*) AS n FROM "{rid}" a JOIN "{portal.enterprises}" b ON a.benefit = b.benefit')
    assert both.status_code == 200
    for attack, status in [
        (f'SELECT benefit FROM "{rid}"; DROP TABLE opendata_releases', 409),
        ("SELECT * FROM read_parquet('/etc/passwd')", 409),
        ("SELECT username FROM users", 403),
        (f'SELECT benefit FROM "{portal.withdrawn}"', 403),
        ("SELECT * FROM duckdb_settings()", 409),
        (f'WITH t AS (SELECT benefit FROM "{rid}") SELECT * FROM t, opendata_releases', 403),
        (f'SELECT benefit FROM "{rid}" WHERE benefit IN (SELECT name FROM users)', 403),
        ("COPY (SELECT 1) TO '/tmp/x.csv'", 409),
        ("ATTACH 'x.db'", 409),
        ("", 409),
    ]:
        r = sql(attack)
        assert r.status_code == status, (attack, r.text)
        assert r.json()["success"] is False
    odd = sql("SELECT [DATE '2020-01-01'] AS d, INTERVAL 1 DAY AS i, 1.5::DECIMAL(4,2) AS x")
    assert odd.status_code == 200 and odd.json()["result"]["records"][0]["d"] == ["2020-01-01"]


def test_sql_rows_are_capped(portal):
    portal.world.settings.ckan.sql_max_rows = 10
    with TestClient(create_app(portal.world.settings, db=portal.world.db)) as c:
        r = c.get(
            "/api/3/action/datastore_search_sql", params={"sql": f'SELECT benefit FROM "{portal.population}"'}
        )
    result = r.json()["result"]
    assert len(result["records"]) == 10 and result["records_truncated"] is True


BAD = [
    ("package_show", {"id": "secret_registry"}, 404, "Not Found Error"),
    ("package_show", {"id": "gone"}, 404, "Not Found Error"),
    ("package_show", {}, 409, "Validation Error"),
    ("resource_show", {"id": "gone-r999"}, 404, "Not Found Error"),
    ("organization_show", {"id": "NOPE"}, 404, "Not Found Error"),
    ("group_show", {"id": "health"}, 404, "Not Found Error"),
    ("package_search", {"rows": "-1"}, 409, "Validation Error"),
    ("package_search", {"rows": "ten"}, 409, "Validation Error"),
    ("package_search", {"start": "-5"}, 409, "Validation Error"),
    ("package_search", {"fq": "owner:x"}, 400, "Search Query Error"),
    ("package_search", {"fq": "organization:GA) OR 1=1 --"}, 400, "Search Query Error"),
    ("package_search", {"sort": "name; DROP TABLE datasets"}, 400, "Search Query Error"),
    ("package_search", {"sort": "password asc"}, 400, "Search Query Error"),
    ("package_search", {"facet.field": '["owner"]'}, 400, "Search Query Error"),
    ("package_search", {"facet.field": "[not json"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "x"}, 404, "Not Found Error"),
    ("datastore_search", {"resource_id": "population-r99999"}, 404, "Not Found Error"),
    ("datastore_search", {"resource_id": "{rid}", "filters": '"text"'}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "filters": '{"nope": 1}'}, 409, "Validation Error"),
    (
        "datastore_search",
        {"resource_id": "{rid}", "filters": '{"benefit": {"$ne": 1}}'},
        409,
        "Validation Error",
    ),
    ("datastore_search", {"resource_id": "{rid}", "filters": '{"_id": "abc"}'}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "sort": "benefit; DROP TABLE x"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "sort": "id_number"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "limit": "-3"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "records_format": "xml"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "cursor": "garbage!!"}, 409, "Validation Error"),
    ("datastore_search", {"resource_id": "{rid}", "q": '{"id_number": "3301"}'}, 409, "Validation Error"),
    ("datastore_search_sql", {}, 409, "Validation Error"),
    ("no_such_action", {}, 400, "Bad request"),
]


def test_bad_input_gets_ckan_errors(portal, client):
    # One published world for every case (publishing is the slow part), each case by GET and POST.
    for name, data, status, kind in BAD:
        data = {k: v.replace("{rid}", portal.population) for k, v in data.items()}
        for r in (
            client.get(f"/api/3/action/{name}", params=data),
            client.post(f"/api/action/{name}", json=data),
        ):
            assert r.status_code == status, (name, data, r.text)
            body = r.json()
            assert body["success"] is False and body["error"]["__type"] == kind and "help" in body


def test_api_root_says_its_version(client):
    assert client.get("/api/3").json() == {"version": 3}


def test_absurd_limits_are_cut_to_the_maximum(portal, client):
    r = client.get("/api/3/action/package_search", params={"rows": 10**12})
    assert r.status_code == 200 and r.json()["result"]["count"] == 2
    r = client.get(
        "/api/3/action/datastore_search", params={"resource_id": portal.population, "limit": 10**9}
    )
    assert r.json()["result"]["limit"] == portal.world.settings.ckan.datastore_rows_max


def test_bodies_that_are_not_objects(portal, client):
    for raw in (b"[1,2]", b"not json", b'"text"'):
        r = client.post(
            "/api/3/action/package_list", content=raw, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"]["__type"] == "Bad request"


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    field=st.sampled_from(["fq", "sort", "q", "filters", "fields", "cursor", "facet.field", "sql"]),
    value=st.text(max_size=40),
)
def test_any_text_in_any_parameter_is_never_a_server_error(portal, client, field, value):
    action = "datastore_search" if field in ("filters", "fields", "cursor") else "package_search"
    action = "datastore_search_sql" if field == "sql" else action
    params = {field: value, **({"resource_id": portal.population} if action == "datastore_search" else {})}
    r = client.get(f"/api/3/action/{action}", params=params)
    if "\x00" in value:  # the site-wide NUL guard answers first, before any route
        assert r.status_code == 422
        return
    assert r.status_code in (200, 400, 403, 404, 409), r.text
    assert "13800000000" not in r.text and "3301000000" not in r.text


def test_one_client_past_its_rate_does_not_hold_up_another(portal):
    s = portal.world.settings
    s.ckan.burst, s.ckan.requests_per_minute = 3, 1
    app = create_app(s, db=portal.world.db)
    with (
        TestClient(app, client=("10.0.0.1", 1000)) as busy,
        TestClient(app, client=("10.0.0.2", 1000)) as other,
    ):
        answers = [busy.get("/api/3/action/site_read") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        refused = answers[-1]
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.json()["success"] is False
        assert other.get("/api/3/action/package_list").json()["result"] == ["enterprises", "population"]
        assert busy.post("/api/action/site_read", json={}).status_code == 429


def test_resource_download_is_the_released_file(portal, client):
    res = client.get("/api/3/action/resource_show", params={"id": portal.population}).json()["result"]
    got = client.get(res["url"].removeprefix("http://testserver"))
    assert got.status_code == 200 and got.content == _released_bytes(portal)
    assert (
        client.get(
            urljoin(res["url"], f"/dataset/gone/resource/{portal.withdrawn}/download/x.parquet")
        ).status_code
        == 404
    )


def _released_bytes(portal):
    with portal.world.db.read() as s:
        return (
            portal.world.settings.data_dir / s.get(Release, int(portal.population.split("-r")[1])).path
        ).read_bytes()


def test_ckanapi_dump_from_the_command_line(portal, site, tmp_path):
    out = tmp_path / "datasets.jsonl"
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "ckanapi"),
            "dump",
            "datasets",
            "--all",
            "-r",
            site,
            "-O",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        # ckanapi starts its workers as `ckanapi` from PATH
        env={**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    assert done.returncode == 0, done.stderr
    dumped = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(d["name"] for d in dumped) == ["enterprises", "population"]
    assert all("phone" not in json.dumps(d) for d in dumped)
