"""The CKAN datastore's keyset paging over a Parquet file: every order, nulls and ties, walks each row once."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shuzhi.web.ckan.datastore import DatastoreInvalid, Query, Table, decode_cursor, encode_cursor, last_key

rows = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 4)), st.one_of(st.none(), st.sampled_from(["甲", "乙", "b", "a"]))
    ),
    min_size=0,
    max_size=60,
)
orders = st.lists(
    st.tuples(st.sampled_from(["n", "s", "_id"]), st.booleans()), max_size=3, unique_by=lambda o: o[0]
)


def _walk(table: Table, sort, limit, filters=None) -> list[int]:
    ids, cursor = [], None
    while True:
        q = Query(sort=sort, limit=limit, cursor=cursor, include_total=False, filters=filters)
        page, _ = table.search(q)
        if page.num_rows == 0:
            return ids
        ids += page["_id"].to_pylist()
        values, row_id = last_key(page, sort)
        cursor = decode_cursor(encode_cursor(sort, values, row_id), sort)


def _expected(data, sort, keep=lambda r: True) -> list[int]:
    numbered = [(i + 1, r) for i, r in enumerate(data) if keep(r)]
    for name, descending in reversed([*sort, ("_id", False)]):

        def key(item, name=name):
            i, (n, s) = item
            return {"n": n, "s": s, "_id": i}[name]

        present = [x for x in numbered if key(x) is not None]
        absent = [x for x in numbered if key(x) is None]
        numbered = sorted(present, key=key, reverse=descending) + absent  # nulls last, stable
    return [i for i, _ in numbered]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, sort=orders, limit=st.integers(1, 7), group=st.integers(1, 9))
def test_cursor_walk_is_the_full_order(tmp_path, data, sort, limit, group):
    path = tmp_path / "t.parquet"
    pq.write_table(
        pa.table(
            {
                "n": pa.array([r[0] for r in data], pa.int64()),
                "s": pa.array([r[1] for r in data], pa.string()),
            }
        ),
        path,
        row_group_size=group,
    )
    table = Table(path)
    assert _walk(table, sort, limit) == _expected(data, sort)
    assert _walk(table, sort, limit, {"n": [1, 2]}) == _expected(data, sort, lambda r: r[0] in (1, 2))


FLOATS = st.one_of(st.none(), st.sampled_from([float("nan"), float("inf"), float("-inf"), 0.0, -1.5, 2.0]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(FLOATS, max_size=30), descending=st.booleans(), limit=st.integers(1, 5))
def test_a_cursor_walk_over_nan_and_infinities_meets_every_row_once(tmp_path, values, descending, limit):
    # NaN and the infinities went into the cursor as JSON's null: the walk lost or repeated rows
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"x": pa.array(values, pa.float64())}), path, row_group_size=4)
    sort = [("x", descending)]
    got = _walk(Table(path), sort, limit)
    assert sorted(got) == list(range(1, len(values) + 1))

    def rank(i):  # Arrow's order: numbers, then NaN, then null
        x = values[i - 1]
        if x is None or x != x:
            return (1 if x is None else 0.5, 0.0, i)
        return (0, -x if descending else x, i)

    assert got == sorted(got, key=rank)


def test_a_cursor_from_another_order_is_refused(tmp_path):
    pq.write_table(pa.table({"n": [1, 2, 3]}), tmp_path / "t.parquet")
    cursor = encode_cursor([("n", True)], [3], 3)
    with pytest.raises(DatastoreInvalid):
        decode_cursor(cursor, [("n", False)])
    with pytest.raises(DatastoreInvalid):
        decode_cursor("e30", [])  # {} : no position
