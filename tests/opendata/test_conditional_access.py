"""The data of a conditional (有条件开放) release is refused on every public path; its metadata is not."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.opendata.conftest import add_dataset, plan, population

from shuzhi.errors import Forbidden
from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import published, releases
from shuzhi.opendata.access import ANONYMOUS, Reader
from shuzhi.opendata.models import Release


def _publish(world, dataset: str, preparer, approver) -> int:
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, preparer, dataset, plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, approver, s.get(Release, rid))
    return rid


@pytest.fixture
def both(world) -> tuple[str, str]:
    """population (GA, conditional) and roads (SC, unconditional), each with one published release."""
    cond = _publish(world, "population", world.steward, world.steward2)
    add_dataset(world.db, world.settings, world.other_steward, "roads", "unconditional", population(60), "SC")
    free = _publish(world, "roads", world.other_steward, world.admin)
    return f"population-r{cond}", f"roads-r{free}"


def _file(resource: str) -> str:
    dataset = resource.rsplit("-r", 1)[0]
    return f"/dataset/{dataset}/resource/{resource}/download/{dataset}.parquet"


def test_anonymous_download_of_a_conditional_release_is_refused(both, client):
    cond, free = both
    assert client.get(_file(cond)).status_code == 403
    got = client.get(_file(free))
    assert got.status_code == 200 and got.content[:4] == b"PAR1"


@pytest.mark.parametrize("action", ["datastore_search", "datastore_info"])
def test_datastore_refuses_a_conditional_resource(both, client, action):
    cond, free = both
    r = client.get(f"/api/3/action/{action}", params={"resource_id": cond, "id": cond})
    assert r.status_code == 403
    body = r.json()
    assert body["success"] is False and body["error"]["__type"] == "Authorization Error"
    assert "records" not in r.text and "王" not in r.text
    ok = client.get(f"/api/3/action/{action}", params={"resource_id": free, "id": free})
    assert ok.status_code == 200 and ok.json()["success"] is True


@pytest.mark.parametrize(
    "sql",
    [
        'SELECT * FROM "{cond}"',
        'SELECT count(*) AS n FROM "{cond}"',
        'SELECT benefit FROM "{free}" UNION ALL SELECT benefit FROM "{cond}"',
        'SELECT * FROM "{free}" WHERE benefit IN (SELECT benefit FROM "{cond}")',
    ],
)
def test_sql_cannot_read_a_conditional_release(both, client, sql):
    cond, free = both
    r = client.post("/api/3/action/datastore_search_sql", json={"sql": sql.format(cond=cond, free=free)})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["__type"] == "Authorization Error"


def test_sql_still_reads_an_unconditional_release(world, both, client):
    _, free = both
    r = client.post("/api/3/action/datastore_search_sql", json={"sql": f'SELECT count(*) AS n FROM "{free}"'})
    with world.db.read() as s:
        rows = s.get(Release, int(free.rsplit("-r", 1)[1])).row_count
    assert r.status_code == 200 and r.json()["result"]["records"] == [{"n": rows}]


def test_metadata_of_a_conditional_dataset_stays_public(both, client):
    cond, _ = both
    shown = client.get("/api/3/action/package_show", params={"id": "population"}).json()["result"]
    assert shown["isopen"] is False and [r["id"] for r in shown["resources"]] == [cond]
    found = client.get("/api/3/action/package_search", params={"q": "population"}).json()["result"]
    assert "population" in [p["name"] for p in found["results"]]
    assert client.get("/api/3/action/resource_show", params={"id": cond}).status_code == 200


def test_staff_api_gives_conditional_data_to_its_department_and_admins_only(world, both, client, token_for):
    cond, free = both
    cond_id, free_id = int(cond.rsplit("-r", 1)[1]), int(free.rsplit("-r", 1)[1])
    other = client.get(f"/api/v1/opendata/published/{cond_id}/table", headers=token_for("sc_steward"))
    assert other.status_code == 403
    for user in ("ga_analyst", "admin1"):
        got = client.get(f"/api/v1/opendata/published/{cond_id}/table", headers=token_for(user))
        assert got.status_code == 200 and got.content[:4] == b"PAR1"
    assert (
        client.get(f"/api/v1/opendata/published/{free_id}/table", headers=token_for("sc_steward")).status_code
        == 200
    )
    with world.db.read() as s:
        reads = s.scalars(select(LedgerEntry).where(LedgerEntry.event == "opendata.data_read")).all()
    details = [json.loads(e.entry)["detail"] for e in reads]
    assert [(d["release_id"], d["basis"], d["face"]) for d in details] == [
        (cond_id, "department", "api"),
        (cond_id, "admin", "api"),
    ]


def test_the_domain_refuses_an_anonymous_or_unapproved_reader(world, both):
    cond, free = both
    cond_id, free_id = int(cond.rsplit("-r", 1)[1]), int(free.rsplit("-r", 1)[1])
    with world.db.transaction() as s:
        for reader in (ANONYMOUS, Reader(staff=world.other_steward), Reader(portal_user_id=1)):
            with pytest.raises(Forbidden):
                published.release_table_path(s, world.settings, cond_id, reader=reader)
        path = published.release_table_path(s, world.settings, free_id)
        assert pq.read_metadata(path).num_rows == s.get(Release, free_id).row_count
        assert not published.data_is_open(s, cond_id) and published.data_is_open(s, free_id)
