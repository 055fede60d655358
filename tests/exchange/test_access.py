"""Reads through every channel: what is granted comes back masked and filtered; the rest is refused."""

import re
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from tests.exchange.conftest import population_table, set_grades

from shuzhi.errors import Forbidden, ShuzhiError, TooLarge
from shuzhi.exchange import service, share_requests
from shuzhi.exchange.channels import RowsQuery
from shuzhi.exchange.keys import mask_master_key
from shuzhi.exchange.masking import grant_key, hmac_hex
from shuzhi.ledger.models import LedgerEntry


def sql_rows(world, principal, sql, **kw):
    read = service.run_sql(world.db, world.settings, principal, sql, **kw)
    return pa.Table.from_batches(list(read.batches()), schema=read.schema).to_pylist()


def rows_rows(world, principal, **kw):
    read = service.read_rows(world.db, world.settings, principal, RowsQuery(**kw))
    return pa.Table.from_batches(list(read.batches()), schema=read.schema).to_pylist()


def ledger(world, event):
    with world.db.session() as s:
        return list(
            s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        )


def test_granted_read_is_masked_and_filtered(world, granted):
    rows = sql_rows(
        world, world.rs_analyst, "SELECT id_number, name, birth_date, region_code FROM population"
    )
    assert rows and all(r["region_code"].startswith("3301") for r in rows)
    key = grant_key(mask_master_key(world.settings), f"grant:{granted}")
    source = population_table().to_pylist()
    expected = {hmac_hex(key, r["id_number"]) for r in source if r["region_code"].startswith("3301")}
    assert {r["id_number"] for r in rows} == expected
    assert all(len(r["name"]) == 2 and r["name"].endswith("*") for r in rows)
    assert all(r["birth_date"].month == 1 and r["birth_date"].day == 1 for r in rows)


def test_or_1_eq_1_does_not_escape_row_filter(world, granted):
    rows = sql_rows(
        world, world.rs_analyst, "SELECT region_code FROM population WHERE region_code LIKE '3302%' OR 1=1"
    )
    assert rows and all(r["region_code"].startswith("3301") for r in rows)


def test_read_is_audited_with_everything(world, granted):
    sql = "SELECT gender, COUNT(*) AS n FROM population GROUP BY gender"
    rows = sql_rows(world, world.rs_analyst, sql)
    entry = ledger(world, "data.read")[-1]
    import hashlib
    import json

    detail = json.loads(entry.entry)["detail"]
    assert entry.user_id == world.rs_analyst.user_id and entry.department_id == world.rs_analyst.department_id
    assert detail["grant_id"] == granted and detail["dataset"] == "population" and detail["version"] == 1
    assert detail["fields"] == ["gender"] and detail["purpose"] == "低保资格核查"
    assert detail["query_sha256"] == hashlib.sha256(sql.encode()).hexdigest()
    assert detail["rows"] == len(rows) and detail["duration_ms"] >= 0 and entry.outcome == "ok"


def test_owner_reads_clear(world):
    rows = sql_rows(world, world.ga_analyst, "SELECT religion FROM population LIMIT 1")
    assert rows[0]["religion"].startswith("REL-SECRET")


def test_unconditional_read_at_once_masked_by_grade(world):
    set_grades(world, "enterprise", {"legal_id_number": "L4"})
    rows = sql_rows(
        world, world.rs_analyst, "SELECT uscc, legal_id_number FROM enterprise ORDER BY uscc LIMIT 2"
    )
    assert rows[0]["uscc"] == "91330100MA00000000"
    assert re.fullmatch("[0-9a-f]{64}", rows[0]["legal_id_number"])  # the hash mask's digest, not the ID


def test_l4_default_hashed_unless_grant_says_clear(world):
    set_grades(world, "population", {"id_number": "L4", "gender": "L4"})
    with world.db.transaction() as s:
        req = share_requests.create_request(
            s,
            world.settings,
            world.rs_analyst,
            share_requests.RequestIn(dataset="population", fields=["id_number", "gender"], purpose="p"),
            submit=True,
        )
        share_requests.approve_request(
            s, world.settings, world.ga_steward, req, share_requests.Approval(masks={"gender": "clear"})
        )
    row = sql_rows(world, world.rs_analyst, "SELECT id_number, gender FROM population LIMIT 1")[0]
    assert len(row["id_number"]) == 64 and row["gender"] in ("M", "F")


def test_hash_joinable_within_grant_only(world, granted):
    rows = sql_rows(
        world,
        world.rs_analyst,
        "SELECT COUNT(*) AS n FROM population a JOIN population b ON a.id_number = b.id_number",
    )
    assert rows[0]["n"] > 0
    own = sql_rows(world, world.ga_analyst, "SELECT id_number FROM population ORDER BY id_number LIMIT 1")
    theirs = sql_rows(world, world.rs_analyst, "SELECT id_number FROM population ORDER BY id_number")
    assert own[0]["id_number"] not in {r["id_number"] for r in theirs}


def test_rows_channel_filters_sorts_pages(world, granted):
    rows = rows_rows(
        world,
        world.rs_analyst,
        dataset="population",
        fields=["gender", "income"],
        filters=["gender:eq:F"],
        sort=["-income"],
        limit=5,
        offset=1,
    )
    assert len(rows) == 5 and all(r["gender"] == "F" for r in rows)
    assert [r["income"] for r in rows] == sorted((r["income"] for r in rows), reverse=True)


def test_export_channel(world, granted, tmp_path):
    out = tmp_path / "pop.parquet"
    heard: list[int] = []
    done = service.export_to_file(
        world.db, world.settings, world.rs_analyst, "population", out, progress=heard.append
    )
    table = pq.read_table(out)
    n = done.rows
    assert n == table.num_rows > 0 and done.bytes == out.stat().st_size and not done.truncated
    assert heard and heard[-1] == n and heard == sorted(heard)
    assert "religion" not in table.column_names
    assert all(r.startswith("3301") for r in table.column("region_code").to_pylist())


CHANNELS = ("sql", "rows", "export")


def read_via(channel, world, principal, dataset="population", fields=None, tmp_path=None):
    if channel == "sql":
        return sql_rows(world, principal, f"SELECT {', '.join(fields or ['name'])} FROM {dataset}")
    if channel == "rows":
        return rows_rows(world, principal, dataset=dataset, fields=fields or [])
    return service.export_to_file(world.db, world.settings, principal, dataset, tmp_path / "x.csv", "csv")


@pytest.mark.parametrize("channel", CHANNELS)
def test_denials_through_every_channel(world, channel, tmp_path):
    cases = [
        (world.rs_analyst, "population", None),  # conditional, no grant
        (world.rs_analyst, "secret_registry", None),  # not shared
        (world.rs_auditor, "enterprise", ["uscc"]),  # auditors do not read
        (world.admin, "enterprise", ["uscc"]),  # neither do admins by role alone
    ]
    for principal, dataset, fields in cases:
        before = len(ledger(world, "data.denied"))
        with pytest.raises(Forbidden):
            read_via(channel, world, principal, dataset, fields, tmp_path)
        assert len(ledger(world, "data.denied")) == before + 1


@pytest.mark.parametrize("channel", ("sql", "rows"))
def test_ungranted_field_refused_through_channels(world, granted, channel):
    with pytest.raises(Forbidden) as info:
        read_via(channel, world, world.rs_analyst, "population", ["name", "religion"])
    assert "religion" in info.value.message
    denied = ledger(world, "data.denied")[-1]
    assert denied.outcome == "denied" and denied.dataset_id is not None


@pytest.mark.parametrize("channel", CHANNELS)
def test_revoked_and_expired_take_effect_on_next_call(world, granted, channel, tmp_path):
    read_via(channel, world, world.rs_analyst, "population", ["name"], tmp_path)
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Forbidden, match="过期|expired"):
        read_via(channel, world, world.rs_analyst, "population", ["name"], tmp_path)
    with world.db.transaction() as s:
        g = share_requests.get_grant(s, granted)
        g.expires_at = datetime.now(UTC) + timedelta(days=1)
        share_requests.revoke_grant(s, world.ga_steward, g, "停止共享")
    with pytest.raises(Forbidden, match="撤销|revoked"):
        read_via(channel, world, world.rs_analyst, "population", ["name"], tmp_path)


def test_call_quota(world, granted):
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).calls_per_day = 2
    for _ in range(2):
        sql_rows(world, world.rs_analyst, "SELECT name FROM population LIMIT 1")
    with pytest.raises(TooLarge):
        sql_rows(world, world.rs_analyst, "SELECT name FROM population LIMIT 1")


def test_row_quota_caps_then_refuses(world, granted):
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 30
    assert len(sql_rows(world, world.rs_analyst, "SELECT name FROM population")) == 30
    with pytest.raises(TooLarge):
        sql_rows(world, world.rs_analyst, "SELECT name FROM population")


def test_sql_row_cap(world, granted):
    world.settings.exchange.query_max_rows = 7
    read = service.run_sql(world.db, world.settings, world.rs_analyst, "SELECT name FROM population")
    assert sum(b.num_rows for b in read.batches()) == 7 and read.stream.truncated


def test_failed_query_audited_as_failed(world, granted):
    with pytest.raises(ShuzhiError):
        sql_rows(world, world.rs_analyst, "SELECT CAST(name AS INTEGER) FROM population")
    assert ledger(world, "data.read")[-1].outcome == "failed"


def test_row_quota_is_reserved_then_settled(world, granted):
    from shuzhi.exchange.models import GrantUsage

    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 50
    read = service.run_sql(world.db, world.settings, world.rs_analyst, "SELECT name FROM population LIMIT 4")
    with world.db.session() as s:  # while it runs, the whole cap is held against the quota
        assert s.scalar(select(GrantUsage.rows).where(GrantUsage.grant_id == granted)) == 50
    with pytest.raises(TooLarge):  # so a call alongside it cannot spend the same remainder
        sql_rows(world, world.rs_analyst, "SELECT name FROM population LIMIT 1")
    assert sum(b.num_rows for b in read.batches()) == 4
    with world.db.session() as s:  # what it did not use is given back
        assert s.scalar(select(GrantUsage.rows).where(GrantUsage.grant_id == granted)) == 4
    assert len(sql_rows(world, world.rs_analyst, "SELECT name FROM population LIMIT 3")) == 3


def test_failed_call_gives_its_reservation_back(world, granted):
    from shuzhi.exchange.models import GrantUsage

    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 50
    with pytest.raises(ShuzhiError):
        sql_rows(world, world.rs_analyst, "SELECT CAST(name AS INTEGER) FROM population")
    with world.db.session() as s:
        assert s.scalar(select(GrantUsage.rows).where(GrantUsage.grant_id == granted)) == 0


PACKING = {
    "list": "SELECT list(name) AS names FROM population",
    "string_agg": "SELECT string_agg(name, ',') AS names FROM population",
    "group_concat": "SELECT gender, group_concat(name) AS n FROM population GROUP BY gender",
    "histogram": "SELECT histogram(name) AS h FROM population",
    "max_n_as_text": "SELECT CAST(max(id_number, 1000) AS VARCHAR) AS ids FROM population",
    "max_n_array_to_string": "SELECT array_to_string(max(name, 1000), ',') AS names FROM population",
    "arg_max_n_to_json": "SELECT to_json(arg_max(id_number, income, 1000)) AS ids FROM population",
    "top_k_as_text": "SELECT CAST(approx_top_k(id_number, 1000) AS VARCHAR) AS ids FROM population",
    "lead_window": (
        "SELECT id_number || ',' || lead(id_number, 1) OVER (ORDER BY id_number) AS ids FROM population"
    ),
    "self_join": (
        "SELECT a.name, b.name AS other FROM population a JOIN population b ON a.id_number < b.id_number"
    ),
    "scalar_subquery": "SELECT (SELECT string_agg(name, ',') FROM population) AS names FROM population",
    "cte": "WITH t AS (SELECT name FROM population) SELECT name FROM t",
    "union": "SELECT name FROM population UNION ALL SELECT name FROM population",
    "distinct": "SELECT DISTINCT name FROM population",
    "conditional_aggregation": "SELECT max(CASE WHEN gender = 'F' THEN name END) AS a FROM population",
}


@pytest.mark.parametrize("sql", PACKING.values(), ids=PACKING.keys())
def test_row_quota_cannot_be_dodged_by_packing_values(world, granted, sql):
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 5
    before = len(ledger(world, "data.denied"))
    # Functions off the allowlist (histogram, to_json, …) are refused before the quota is looked at.
    with pytest.raises(Forbidden, match="quota|额度|function not allowed"):
        sql_rows(world, world.rs_analyst, sql)
    assert len(ledger(world, "data.denied")) == before + 1


def test_row_quota_allows_record_reads(world, granted):
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 5
    rows = sql_rows(
        world,
        world.rs_analyst,
        "SELECT upper(name) AS n, [name, gender] AS pair FROM population WHERE gender = 'F' ORDER BY name LIMIT 3",
    )
    assert len(rows) == 3 and all(len(r["pair"]) == 2 for r in rows)


def test_packing_values_is_fine_without_a_row_quota(world, granted):
    rows = sql_rows(
        world, world.rs_analyst, "SELECT gender, list(name) AS names FROM population GROUP BY gender"
    )
    assert rows and all(isinstance(r["names"], list) for r in rows)


def test_calls_at_once_share_one_row_quota(world, granted):
    import threading

    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 12
    start = threading.Barrier(4)
    served: list[int] = []
    refused: list[Exception] = []

    def call():
        start.wait()
        try:
            served.append(len(sql_rows(world, world.rs_analyst, "SELECT name FROM population LIMIT 5")))
        except TooLarge as e:
            refused.append(e)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(served) <= 12 and len(served) + len(refused) == 4
    assert served and max(served) == 5


@pytest.fixture
def consumer_parses(monkeypatch):
    """How often the server parses a given consumer SQL text (sqlglot's parse entry points)."""
    import sqlglot

    seen: list[str] = []
    for name in ("parse", "parse_one"):
        real = getattr(sqlglot, name)

        def counting(sql, *args, _real=real, **kw):
            seen.append(sql)
            return _real(sql, *args, **kw)

        monkeypatch.setattr(sqlglot, name, counting)
    return lambda sql: seen.count(sql)


def test_a_governed_read_parses_the_consumer_sql_once(world, granted, consumer_parses):
    sql = "SELECT gender, COUNT(*) AS n FROM population GROUP BY gender"
    assert sql_rows(world, world.rs_analyst, sql)
    assert consumer_parses(sql) == 1


def test_a_read_refused_under_a_row_quota_parses_once_and_is_audited(world, granted, consumer_parses):
    with world.db.transaction() as s:
        share_requests.get_grant(s, granted).rows_per_day = 5
    before = len(ledger(world, "data.denied"))
    sql = "SELECT gender, COUNT(*) AS n FROM population GROUP BY gender"
    with pytest.raises(Forbidden, match="rows-per-day quota only record reads") as info:
        sql_rows(world, world.rs_analyst, sql)
    assert info.value.detail["grant_id"] == granted and info.value.detail["refused"] == ["GROUP BY"]
    assert consumer_parses(sql) == 1
    assert len(ledger(world, "data.denied")) == before + 1


def test_reads_are_audited_with_their_channel(world, granted):
    import json

    from shuzhi.exchange.channels import Channel

    sql_rows(world, world.rs_analyst, "SELECT gender FROM population LIMIT 1")
    rows_rows(world, world.rs_analyst, dataset="population", fields=["gender"], limit=1)
    with service.open_export(world.db, world.settings, world.rs_analyst, "population") as read:
        list(read.batches())
    channels = [json.loads(e.entry)["detail"]["channel"] for e in ledger(world, "data.read")[-3:]]
    assert (
        channels == [Channel.SQL.value, Channel.ROWS.value, Channel.EXPORT.value] == ["sql", "rows", "export"]
    )


def test_a_read_request_names_a_known_channel():
    from shuzhi.exchange.access import ReadRequest
    from shuzhi.exchange.channels import Channel

    assert ReadRequest(sql="SELECT 1", channel="sql").channel is Channel.SQL
    with pytest.raises(ValueError, match="bulk"):
        ReadRequest(sql="SELECT 1", channel="bulk")
