"""A grant's row filter on a number column holding NaN: the analyst gets the rows it keeps, and only those.

NaN lies above every number in DuckDB, so `income < 100000` keeps no NaN row. The file's Parquet
minimum and maximum leave NaN out, and DuckDB answered the filter from them: it kept every row,
the two NaN rows with their other fields included (`shuzhi.engine.parquet`)."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from tests.exchange.conftest import add_dataset, population_table

from shuzhi.exchange import service, share_requests

NAN = float("nan")


@pytest.fixture
def granted_nan(world):
    t = population_table(40)
    income = t.column("income").to_pylist()
    income[0] = income[1] = NAN
    table = t.set_column(t.schema.get_field_index("income"), "income", pa.array(income, pa.float64()))
    assert max(v for v in income if not math.isnan(v)) < 100000  # the footer's max: the filter "always true"
    add_dataset(world.db, world.settings, world.ga_steward, "popnan", table, "conditional", "GA")
    with world.db.transaction() as s:
        ask = share_requests.RequestIn(dataset="popnan", fields=["id_number", "income"], purpose="核查收入")
        req = share_requests.create_request(s, world.settings, world.rs_analyst, ask, submit=True)
        share_requests.approve_request(
            s,
            world.settings,
            world.ga_steward,
            req,
            share_requests.Approval(
                fields=["id_number", "income"],
                row_filter="income < 100000",
                masks={"id_number": "clear", "income": "clear"},
            ),
        )
    return world, table


def _rows(w, sql: str) -> list[dict]:
    read = service.run_sql(w.db, w.settings, w.rs_analyst, sql)
    return pa.Table.from_batches(list(read.batches()), schema=read.schema).to_pylist()


def test_a_row_filter_hands_out_no_nan_row(granted_nan):
    w, table = granted_nan
    got = _rows(w, "SELECT id_number, income FROM popnan")
    assert len(got) == table.num_rows - 2 and all(math.isfinite(r["income"]) for r in got)
    hidden = {table.column("id_number")[i].as_py() for i in (0, 1)}
    assert not hidden & {r["id_number"] for r in got}
    assert _rows(w, "SELECT count(*) AS n FROM popnan WHERE isnan(income)") == [{"n": 0}]
    assert _rows(w, "SELECT count(*) AS n FROM popnan WHERE NOT income < 100000") == [{"n": 0}]
