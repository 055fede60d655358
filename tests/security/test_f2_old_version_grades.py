"""Finding 2: an old version is read with its own grades, never with a newer, cleaner-looking version's.

The attack as seen: the owner loads a cleaned v2 of the enterprise register (法定代表人证件号码
emptied, regraded L1); an analyst of another department then reads v1's ID numbers in clear with
`…/rows?version=1&fields=企业名称,法定代表人,法定代表人证件号码`. Here every channel that can name a
version (rows, export) must mask v1's ID numbers as v1's grade says (L4: hashed), whether the
analyst reads unconditionally or under a grant approved while v2 was L1; and a version without
grading is refused to everyone but its owner, on every channel (governed SQL reads the latest
version), with a `data.denied` ledger entry.
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import delete, select
from stdnum.cn import ric
from tests.classify.conftest import reviewed

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset, get_dataset, get_version
from shuzhi.classify.models import ColumnDecision, DatasetGrade
from shuzhi.classify.readmodel import column_grades
from shuzhi.classify.review import review_column
from shuzhi.errors import Forbidden
from shuzhi.exchange import service, share_requests
from shuzhi.exchange.channels import RowsQuery
from shuzhi.ingest.service import ingest_source
from shuzhi.ledger.models import LedgerEntry

DATASET = "hz-samr-enterprise"
ID_COLUMN = "法定代表人证件号码"
FIELDS = f"企业名称,法定代表人,{ID_COLUMN}"
PEOPLE = ["王建国", "李秀英", "张伟", "刘芳", "陈明", "杨丽", "赵强", "黄敏", "周杰", "吴静"]


def _ids(n: int) -> list[str]:
    out = []
    for i in range(n):
        body = f"3301061978{1 + i % 12:02d}{10 + i % 18:02d}{100 + i:03d}"
        out.append(body + ric.calc_check_digit(body + "0"))
    return out


IDS = _ids(60)


def _csv(tmp_path, name: str, ids: list[str] | None, status: str = "存续") -> object:
    lines = [f"企业名称,法定代表人,{ID_COLUMN},登记状态"]
    for i in range(60):
        lines.append(f"杭州测试{i}有限公司,{PEOPLE[i % 10]},{ids[i] if ids else ''},{status}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["unconditional", "conditional"])
def register(request, db, settings, make_user, tmp_path):
    """v1 with real ID numbers (graded L4), v2 with the column emptied and reviewed down to L1."""
    share_type = request.param
    steward = make_user("samr.steward", dept="SAMR", roles=("steward",))
    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    approver = make_user("bdb.admin", dept="BDB", roles=("admin",))  # lowering needs a second person
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=DATASET,
                title_zh="市场主体登记信息",
                department="SAMR",
                theme="market",
                share_type=share_type,
            ),
        )
        ingest_source(s, settings, ds, _csv(tmp_path, "v1.csv", IDS), user_id=steward.user_id)
    with db.transaction() as s:
        ds = get_dataset(s, DATASET)
        ingest_source(s, settings, ds, _csv(tmp_path, "v2.csv", None), user_id=steward.user_id)
    with db.transaction() as s:
        ds = get_dataset(s, DATASET)
        asked = review_column(
            s,
            settings,
            steward,
            ds,
            ID_COLUMN,
            action="override",
            reason="v2 已清空证件号码",
            category="none",
        )
        reviewed(s, settings, asked, approver)
    with db.session() as s:
        ds = get_dataset(s, DATASET)
        v1, v2 = get_version(s, ds, 1), get_version(s, ds, 2)
        assert _level(s, v1) == "L4"
        assert _level(s, v2) == "L1"  # the newest version looks clean
    grant_id = None
    if share_type == "conditional":
        # Approved while the latest version grades the column L1, masks left to the grading default.
        with db.transaction() as s:
            req = share_requests.create_request(
                s,
                settings,
                analyst,
                share_requests.RequestIn(dataset=DATASET, fields=FIELDS.split(","), purpose="企业法人核验"),
                submit=True,
            )
            grant_id = share_requests.approve_request(s, settings, steward, req, share_requests.Approval()).id
    return steward, analyst, grant_id


def _level(s, version) -> str:
    return s.scalar(
        select(ColumnDecision.level).where(
            ColumnDecision.version_id == version.id, ColumnDecision.field_name == ID_COLUMN
        )
    )


def _rows(read) -> list[dict]:
    return pa.Table.from_batches(list(read.batches()), schema=read.schema).to_pylist()


def _hashed(values) -> bool:
    return all(isinstance(v, str) and len(v) == 64 and v not in IDS for v in values)


def test_rows_of_v1_are_masked_by_v1s_grade(register, app, client, token_for):
    steward, analyst, grant_id = register
    url = f"/api/v1/exchange/datasets/{DATASET}/rows?version=1&fields={FIELDS}&limit=100"
    r = client.get(url, headers=token_for("rs.analyst"))
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert len(rows) == 60 and rows[0]["企业名称"].startswith("杭州测试")
    assert _hashed(r[ID_COLUMN] for r in rows)
    assert not set(r.text.split('"')) & set(IDS)
    # The same through every format of the rows endpoint.
    r = client.get(url + "&format=csv", headers=token_for("rs.analyst"))
    assert r.status_code == 200 and not any(x in r.text for x in IDS)
    # The owner still reads v1 in clear; the clean v2 reads as it is.
    own = client.get(url, headers=token_for("samr.steward")).json()["rows"]
    assert {x[ID_COLUMN] for x in own} == set(IDS)
    v2 = client.get(url.replace("version=1", "version=2"), headers=token_for("rs.analyst")).json()["rows"]
    assert {x[ID_COLUMN] for x in v2} == {None}


def test_export_of_v1_is_masked_by_v1s_grade(register, db, settings, client, token_for, tmp_path):
    steward, analyst, grant_id = register
    out = tmp_path / "v1.parquet"
    done = service.export_to_file(
        db, settings, analyst, DATASET, out, "parquet", version=1, grant_id=grant_id
    )
    assert done.rows == 60
    assert _hashed(pq.read_table(out).column(ID_COLUMN).to_pylist())
    r = client.get(f"/api/v1/exchange/datasets/{DATASET}/export?version=1", headers=token_for("rs.analyst"))
    assert r.status_code == 200
    assert _hashed(pq.read_table(io.BytesIO(r.content)).column(ID_COLUMN).to_pylist())


def test_ungraded_version_is_refused_to_others_on_every_channel(
    register, db, settings, client, token_for, tmp_path
):
    steward, analyst, grant_id = register
    with db.transaction() as s:
        ds = get_dataset(s, DATASET)
        report = ingest_source(
            s, settings, ds, _csv(tmp_path, "v3.csv", IDS, "注销"), user_id=steward.user_id
        )
        assert report.version == 3
        v3 = get_version(s, ds, 3).id
    # A version whose grading is gone (a restored backup, a hand edit): nothing says how to mask it.
    with db.transaction() as s:
        s.execute(delete(ColumnDecision).where(ColumnDecision.version_id == v3))
        s.execute(delete(DatasetGrade).where(DatasetGrade.version_id == v3))
    headers = token_for("rs.analyst")
    base = f"/api/v1/exchange/datasets/{DATASET}"
    for url in (f"{base}/rows?version=3&fields={FIELDS}", f"{base}/rows?fields={FIELDS}", f"{base}/export"):
        r = client.get(url, headers=headers)
        assert r.status_code == 403, (url, r.text)
        assert "has not been graded" in r.text and not any(x in r.text for x in IDS)
    sql = f'SELECT "{ID_COLUMN}" FROM "{DATASET}"'  # governed SQL reads the latest version: v3
    r = client.post("/api/v1/exchange/sql", json={"sql": sql}, headers=headers)
    assert r.status_code == 403 and "has not been graded" in r.text
    with pytest.raises(Forbidden, match="has not been graded"):
        service.run_sql(db, settings, analyst, sql)
    # Each refusal is in the ledger as a denial, naming the dataset.
    with db.session() as s:
        denied = list(s.scalars(select(LedgerEntry).where(LedgerEntry.event == "data.denied")))
    reasons = [json.loads(e.entry)["detail"] for e in denied]
    assert len(reasons) == 5 and all("has not been graded" in d["reason"] for d in reasons)
    assert all(e.outcome == "denied" and e.user_id == analyst.user_id for e in denied)
    assert {d["channel"] for d in reasons} == {"rows", "export", "sql"}
    # Older, graded versions stay readable (masked); the owner reads the ungraded one.
    r = client.get(f"{base}/rows?version=1&fields={FIELDS}", headers=headers)
    assert r.status_code == 200 and _hashed(x[ID_COLUMN] for x in r.json()["rows"])
    own = client.get(f"{base}/rows?version=3&fields={FIELDS}", headers=token_for("samr.steward"))
    assert own.status_code == 200 and {x[ID_COLUMN] for x in own.json()["rows"]} == set(IDS)


def test_dataset_view_of_grades_keeps_the_highest(register, db, settings):
    with db.session() as s:
        ds = get_dataset(s, DATASET)
        assert column_grades(s, settings, ds)[ID_COLUMN] == "L4"


def test_the_approver_sees_the_highest_grade_of_any_version(register, db, settings, client, make_user):
    from tests.conftest import login

    steward, analyst, grant_id = register
    if grant_id is None:
        pytest.skip("requests are for conditional sharing")
    other = make_user("hr.analyst", dept="HR", roles=("analyst",))
    with db.transaction() as s:
        share_requests.create_request(
            s,
            settings,
            other,
            share_requests.RequestIn(dataset=DATASET, fields=[ID_COLUMN], purpose="核验"),
            submit=True,
        )
    login(client, "samr.steward", next="/exchange/inbox")
    html = client.get("/exchange/inbox").text
    assert f"<code>{ID_COLUMN}</code></td><td>L4</td>" in html  # v1's grade, though v2 says L1


def test_an_old_version_takes_a_grade_raised_later(db, settings, make_user, tmp_path):
    """The other direction: v1 graded low (a steward's override), then v2 reviewed up to resident ID.
    v1 keeps the same ID numbers and must be read under the raised grade."""
    steward = make_user("samr.steward", dept="SAMR", roles=("steward",))
    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    approver = make_user("bdb.admin", dept="BDB", roles=("admin",))  # lowering needs a second person
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=DATASET,
                title_zh="市场主体登记信息",
                department="SAMR",
                theme="market",
                share_type="unconditional",
            ),
        )
        ingest_source(s, settings, ds, _csv(tmp_path, "v1.csv", IDS), user_id=steward.user_id)
    with db.transaction() as s:
        asked = review_column(
            s,
            settings,
            steward,
            get_dataset(s, DATASET),
            ID_COLUMN,
            action="override",
            reason="误判",
            category="none",
        )
        reviewed(s, settings, asked, approver)
    with db.transaction() as s:
        ingest_source(
            s,
            settings,
            get_dataset(s, DATASET),
            _csv(tmp_path, "v2.csv", IDS, status="注销"),
            user_id=steward.user_id,
        )
    with db.transaction() as s:
        asked = review_column(
            s,
            settings,
            steward,
            get_dataset(s, DATASET),
            ID_COLUMN,
            action="override",
            reason="确为身份证",
            category="resident_id",
        )
        reviewed(s, settings, asked, approver)
    with db.session() as s:
        ds = get_dataset(s, DATASET)
        assert (_level(s, get_version(s, ds, 1)), _level(s, get_version(s, ds, 2))) == ("L1", "L4")
    for version in (1, 2):
        read = service.read_rows(
            db, settings, analyst, RowsQuery(dataset=DATASET, fields=[ID_COLUMN], limit=100), version=version
        )
        with read:
            values = [r[ID_COLUMN] for r in _rows(read)]
        assert len(values) == 60 and _hashed(values), version
