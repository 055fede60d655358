"""End to end: a file is ingested, graded by the real detectors, and its L4 column arrives masked."""

import pyarrow as pa
from stdnum.cn import ric

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset, get_dataset
from shuzhi.exchange import service
from shuzhi.ingest.service import ingest_source


def _valid_ids(n: int) -> list[str]:
    out = []
    for i in range(n):
        body = f"1101011995{1 + i % 9:02d}{10 + i % 18:02d}{100 + i:03d}"
        out.append(body + ric.calc_check_digit(body + "0"))  # stdnum computes over number[:-1]
    return out


def test_graded_l4_column_is_masked_for_other_departments(db, settings, make_user, tmp_path):
    steward = make_user("ga.steward", dept="GA", roles=("steward",))
    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    ids = _valid_ids(60)
    assert all(ric.is_valid(x) for x in ids)
    csv = tmp_path / "residents.csv"
    csv.write_text("身份证号,区县\n" + "".join(f"{x},西湖区\n" for x in ids), encoding="utf-8")
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier="residents",
                title_zh="居民名单",
                department="GA",
                theme="population",
                share_type="unconditional",
            ),
        )
        ingest_source(s, settings, ds, csv, user_id=steward.user_id)
    with db.session() as s:
        ds = get_dataset(s, "residents")
        assert ds.security_grade == "L4"
    read = service.run_sql(db, settings, analyst, 'SELECT "身份证号", "区县" FROM residents')
    rows = pa.Table.from_batches(list(read.batches()), schema=read.schema).to_pylist()
    assert len(rows) == 60 and rows[0]["区县"] == "西湖区"
    assert not {r["身份证号"] for r in rows} & set(ids)
    owner = service.run_sql(db, settings, steward, 'SELECT "身份证号" FROM residents')
    assert {
        r["身份证号"] for r in pa.Table.from_batches(list(owner.batches()), schema=owner.schema).to_pylist()
    } == set(ids)
