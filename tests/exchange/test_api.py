"""The REST face of the exchange: request → approve → read in every format; refusals as 403s."""

import io

import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest


@pytest.fixture
def api(world, client, token_for):
    return client, {name: token_for(name) for name in ("rs_analyst", "ga_steward", "rs_auditor")}


def test_request_approve_read(api):
    client, h = api
    r = client.post(
        "/api/v1/exchange/requests",
        headers=h["rs_analyst"],
        json={"dataset": "population", "fields": ["name", "gender", "region_code"], "purpose": "核查"},
    )
    assert r.status_code == 201 and r.json()["state"] == "submitted" and r.json()["deadline"]
    rid = r.json()["id"]
    inbox = client.get("/api/v1/exchange/requests?box=inbox", headers=h["ga_steward"]).json()["requests"]
    assert [x["id"] for x in inbox] == [rid]
    r = client.post(f"/api/v1/exchange/requests/{rid}/approve", headers=h["rs_analyst"], json={})
    assert r.status_code == 403
    r = client.post(
        f"/api/v1/exchange/requests/{rid}/approve",
        headers=h["ga_steward"],
        json={
            "fields": ["name", "region_code"],
            "row_filter": "region_code LIKE '3301%'",
            "masks": {"name": "keep_first:1"},
        },
    )
    assert r.status_code == 200 and r.json()["grant"]["fields"] == ["name", "region_code"]
    shown = client.get(f"/api/v1/exchange/requests/{rid}", headers=h["rs_analyst"]).json()
    assert [e["to"] for e in shown["events"]] == ["draft", "submitted", "approved"]

    r = client.get(
        "/api/v1/exchange/datasets/population/rows?limit=5&sort=region_code", headers=h["rs_analyst"]
    )
    body = r.json()
    assert r.status_code == 200 and len(body["rows"]) == 5
    assert set(body["rows"][0]) == {"name", "region_code"} and body["rows"][0]["name"].endswith("*")

    r = client.get("/api/v1/exchange/datasets/population/rows?format=csv&limit=0", headers=h["rs_analyst"])
    assert r.text.splitlines()[0] == '"name","region_code"'

    r = client.get(
        "/api/v1/exchange/datasets/population/rows?format=arrow&limit=1000", headers=h["rs_analyst"]
    )
    table = ipc.open_stream(io.BytesIO(r.content)).read_all()
    assert table.num_rows > 0 and all(v.startswith("3301") for v in table.column("region_code").to_pylist())

    r = client.get("/api/v1/exchange/datasets/population/export?format=parquet", headers=h["rs_analyst"])
    assert "attachment" in r.headers["content-disposition"]
    assert pq.read_table(io.BytesIO(r.content)).column_names == ["name", "region_code"]

    r = client.post(
        "/api/v1/exchange/sql",
        headers=h["rs_analyst"],
        json={"sql": "SELECT region_code, COUNT(*) AS n FROM population GROUP BY 1 ORDER BY 1"},
    )
    assert r.status_code == 200 and r.json()["datasets"] == {"population": ["region_code"]}

    grants = client.get("/api/v1/exchange/grants", headers=h["rs_analyst"]).json()["grants"]
    gid = grants[0]["grant_id"]
    assert (
        client.post(
            f"/api/v1/exchange/grants/{gid}/revoke", headers=h["ga_steward"], json={"reason": "到期前收回"}
        ).status_code
        == 200
    )
    r = client.get("/api/v1/exchange/datasets/population/rows", headers=h["rs_analyst"])
    assert r.status_code == 403


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT religion FROM population",
        "SELECT * FROM enterprise",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT 1; SELECT 2",
        "ATTACH ':memory:' AS x",
        "COPY (SELECT 1) TO 'x.csv'",
    ],
)
def test_sql_refusals(api, sql):
    client, h = api
    r = client.post("/api/v1/exchange/sql", headers=h["rs_analyst"], json={"sql": sql})
    assert r.status_code in (403, 422), r.text


def test_rows_refused_without_grant_and_for_auditor(api):
    client, h = api
    assert client.get("/api/v1/exchange/datasets/population/rows", headers=h["rs_analyst"]).status_code == 403
    assert client.get("/api/v1/exchange/datasets/enterprise/rows", headers=h["rs_auditor"]).status_code == 403
    assert client.get("/api/v1/exchange/datasets/enterprise/rows").status_code == 401
    r = client.get("/api/v1/exchange/datasets/population/rows?fields=name,religion", headers=h["rs_analyst"])
    assert r.status_code == 403


def test_unconditional_rows_at_once(api):
    client, h = api
    r = client.get(
        "/api/v1/exchange/datasets/enterprise/rows?limit=3&filter=capital:ge:20000", headers=h["rs_analyst"]
    )
    assert r.status_code == 200 and len(r.json()["rows"]) == 3


def test_a_capped_read_says_so(api, world, granted):
    from shuzhi.exchange import share_requests

    client, h = api
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 3
    r = client.get("/api/v1/exchange/datasets/population/rows?fields=name", headers=h["rs_analyst"])
    assert r.status_code == 200, r.text
    assert r.headers["X-Row-Cap"] == "3"
    body = r.json()
    assert len(body["rows"]) == 3 and body["truncated"] is True
    r = client.get("/api/v1/exchange/datasets/population/rows?fields=name", headers=h["rs_analyst"])
    assert r.status_code == 413  # the day's rows are spent


def test_an_uncapped_read_is_not_truncated(api, granted):
    client, h = api
    r = client.get("/api/v1/exchange/datasets/population/rows?fields=name&limit=2", headers=h["rs_analyst"])
    body = r.json()
    assert len(body["rows"]) == 2 and body["truncated"] is False


def test_unknown_request_box_is_refused(api):
    client, h = api
    r = client.get("/api/v1/exchange/requests?box=inbx", headers=h["ga_steward"])
    assert r.status_code == 422
    (field,) = [f for f in r.json()["fields"] if f["field"].endswith("box")]
    assert "inbox" in field["message"] and "mine" in field["message"]  # says what a box may be
