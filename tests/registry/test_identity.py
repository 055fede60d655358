"""Stable entry ids across runs: kept, merged, split, created, retired; steward decisions as constraints."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shuzhi.errors import InvalidInput
from shuzhi.registry.identity import Merge, Split, assign, no_members, number


def clusters(*groups: list[str]) -> pa.Table:
    keys = [k for g in groups for k in g]
    return pa.table({"record_key": keys, "cluster_id": [i for i, g in enumerate(groups) for _ in g]})


def entries(assignment) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in assignment.members.to_pylist():
        out.setdefault(row["entry_id"], set()).add(row["record_key"])
    return out


def entry_of(assignment) -> dict[str, str]:
    return {r["record_key"]: r["entry_id"] for r in assignment.members.to_pylist()}


def run(previous, *groups, issued=0, decisions=()):
    prev = previous.members if previous is not None else no_members()
    issued = previous.issued if previous is not None else issued
    return assign(prev, clusters(*groups), prefix="P", issued=issued, decisions=decisions)


def test_a_first_run_numbers_entries_in_order_of_their_smallest_record_key():
    a = run(None, ["b#2", "a#9"], ["c#1"], ["a#1"])
    assert entries(a) == {"P-00000001": {"a#1"}, "P-00000002": {"a#9", "b#2"}, "P-00000003": {"c#1"}}
    assert a.issued == 3
    assert a.report.counts["created"] == 3 and a.report.counts["records_joined"] == 4


def test_numbers_continue_after_the_last_issued_even_when_its_entry_is_gone():
    a = run(None, ["a#1"], issued=41)
    assert entries(a) == {"P-00000042": {"a#1"}}
    b = run(a, ["b#1"])  # a#1 left the sources: its entry is retired, the next id is new
    assert entries(b) == {"P-00000043": {"b#1"}}
    assert b.report.retired.to_pylist() == [{"entry_id": "P-00000042", "reason": "emptied"}]


def test_ids_outgrow_their_width_without_losing_digits():
    a = run(None, ["a#1"], ["a#2"], issued=99_999_999)
    assert set(entries(a)) == {"P-100000000", "P-100000001"}
    assert number("P-100000001") == 100_000_001


def test_a_merge_keeps_the_id_holding_most_records_and_reports_the_others():
    a = run(None, ["a#1", "a#2"], ["b#1", "b#2", "b#3"], ["c#1"])
    big, small = entry_of(a)["b#1"], entry_of(a)["a#1"]
    b = run(a, ["a#1", "a#2", "b#1", "b#2", "b#3", "n#1"], ["c#1"])
    assert entry_of(b)["a#1"] == big and entry_of(b)["n#1"] == big
    assert b.report.merged.to_pylist() == [{"from_entry": small, "into_entry": big, "records": 2}]
    assert b.report.retired.to_pylist() == [{"entry_id": small, "reason": "merged"}]
    assert b.report.counts["merged"] == 1 and b.report.counts["records_joined"] == 1


def test_a_tied_merge_keeps_the_oldest_id():
    a = run(None, ["b#1"], ["a#1"])  # a#1 gets the older id
    b = run(a, ["a#1", "b#1"])
    assert set(entries(b)) == {entry_of(a)["a#1"]}


def test_a_split_leaves_the_id_on_the_largest_part_and_numbers_the_others():
    a = run(None, ["a#1", "a#2", "a#3", "b#1"])
    (old,) = entries(a)
    b = run(a, ["a#1", "a#2", "a#3"], ["b#1"])
    assert entry_of(b)["a#1"] == old and entry_of(b)["b#1"] == "P-00000002"
    assert b.report.split.to_pylist() == [
        {"from_entry": old, "part": old, "records": 3},
        {"from_entry": old, "part": "P-00000002", "records": 1},
    ]


def test_a_merge_then_the_reverse_split_gives_the_surviving_id_back_to_the_larger_part():
    a = run(None, ["a#1", "a#2"], ["b#1"])
    first_a, first_b = entry_of(a)["a#1"], entry_of(a)["b#1"]
    merged = run(a, ["a#1", "a#2", "b#1"])
    back = run(merged, ["a#1", "a#2"], ["b#1"])
    assert entry_of(back)["a#1"] == first_a
    assert entry_of(back)["b#1"] not in (first_a, first_b)  # the merged-away id stays retired


def test_a_merge_decision_joins_entries_and_holds_on_rerun():
    a = run(None, ["a#1"], ["b#1"])
    decision = [Merge(("a#1", "b#1"))]
    b = run(a, ["a#1"], ["b#1"], decisions=decision)
    assert len(entries(b)) == 1 and b.report.counts["merged"] == 1
    c = run(b, ["a#1"], ["b#1"], ["c#1"], decisions=decision)
    assert entry_of(c)["a#1"] == entry_of(c)["b#1"] == entry_of(b)["a#1"]
    assert c.report.counts["merged"] == 0 and c.report.counts["kept"] == 1


def test_a_split_decision_keeps_records_apart_whatever_the_linkage_says():
    a = run(None, ["a#1", "a#2", "b#1"])
    decision = [Split(("b#1",), ("a#1",))]
    b = run(a, ["a#1", "a#2", "b#1"], decisions=decision)
    assert entry_of(b)["b#1"] != entry_of(b)["a#1"] == entry_of(a)["a#1"]
    c = run(b, ["a#1", "a#2", "b#1"], decisions=decision)
    assert entry_of(c) == entry_of(b) and c.report.counts["split"] == 0


def test_a_later_decision_overrides_an_earlier_one():
    a = run(None, ["a#1", "b#1"])
    split_then_merge = [Split(("b#1",), ("a#1",)), Merge(("a#1", "b#1"))]
    assert len(entries(run(a, ["a#1", "b#1"], decisions=split_then_merge))) == 1
    merge_then_split = [Merge(("a#1", "b#1")), Split(("b#1",), ("a#1",))]
    assert len(entries(run(a, ["a#1"], ["b#1"], decisions=merge_then_split))) == 2


def test_decisions_about_records_gone_from_the_sources_do_nothing():
    a = run(None, ["a#1"], ["b#1"])
    b = run(a, ["a#1"], ["b#1"], decisions=[Merge(("a#1", "gone#1")), Split(("gone#2",), ("b#1",))])
    assert entry_of(b) == entry_of(a)


def test_a_registry_whose_sources_are_all_gone_retires_every_entry():
    a = run(None, ["a#1"], ["b#1"])
    empty = pa.table({"record_key": pa.array([], pa.string()), "cluster_id": pa.array([], pa.int64())})
    b = assign(a.members, empty, prefix="P", issued=a.issued, decisions=[Merge(("a#1", "b#1"))])
    assert b.members.num_rows == 0 and b.issued == 2
    assert b.report.retired.to_pylist() == [
        {"entry_id": "P-00000001", "reason": "emptied"},
        {"entry_id": "P-00000002", "reason": "emptied"},
    ]


@pytest.mark.parametrize(
    "make",
    [lambda: Merge("a#1"), lambda: Merge(()), lambda: Split(("a#1",), ("",)), lambda: Split(["a#1"], 7)],
)
def test_a_decision_without_record_keys_is_refused(make):
    with pytest.raises(InvalidInput, match="record keys"):
        make()


@pytest.mark.parametrize(
    ("previous", "current", "word"),
    [
        (no_members(), pa.table({"record_key": ["dup#1", "dup#1"], "cluster_id": [1, 2]}), "dup#1"),
        (no_members(), pa.table({"record_key": ["a"]}), "cluster_id"),
        (pa.table({"entry_id": ["P-1", "P-2"], "record_key": ["x", "x"]}), clusters(["a"]), "x"),
        (no_members(), pa.table({"record_key": [None], "cluster_id": [1]}), "record_key"),
    ],
)
def test_bad_input_is_refused(previous, current, word):
    with pytest.raises(InvalidInput) as e:
        assign(previous, current, prefix="P")
    assert word in str(e.value)


# --- properties -------------------------------------------------------------------------------

KEYS = [f"d{d}#{i}" for d in range(2) for i in range(8)]
PARTITION = st.lists(
    st.tuples(st.sampled_from(KEYS), st.integers(0, 4)), unique_by=lambda t: t[0], min_size=1
)


def as_groups(pairs) -> list[list[str]]:
    groups: dict[int, list[str]] = {}
    for key, cluster in pairs:
        groups.setdefault(cluster, []).append(key)
    return list(groups.values())


@settings(max_examples=25, deadline=None)
@given(PARTITION, PARTITION)
def test_rerunning_with_the_same_clusters_changes_no_id(first, second):
    a = run(run(None, *as_groups(first)), *as_groups(second))
    again = run(a, *as_groups(second))
    assert entry_of(again) == entry_of(a)
    counts = again.report.counts
    assert (counts["created"], counts["merged"], counts["split"], counts["retired"]) == (0, 0, 0, 0)
    assert again.issued == a.issued


@settings(max_examples=25, deadline=None)
@given(PARTITION, st.integers(1, 5))
def test_new_singleton_records_never_change_existing_ids(pairs, extra):
    a = run(None, *as_groups(pairs))
    b = run(a, *as_groups(pairs), *([f"new#{i}"] for i in range(extra)))
    assert {k: v for k, v in entry_of(b).items() if not k.startswith("new#")} == entry_of(a)
    assert b.report.counts["created"] == extra


@settings(max_examples=25, deadline=None)
@given(st.lists(PARTITION, min_size=2, max_size=5))
def test_ids_are_never_reused(runs):
    previous, ever, retired = None, set(), set()
    for pairs in runs:
        previous = run(previous, *as_groups(pairs))
        now = set(entries(previous))
        assert not now & retired
        retired |= set(previous.report.retired["entry_id"].to_pylist())
        created = set(previous.report.created["entry_id"].to_pylist())
        assert not created & ever and created == now - ever
        assert all(number(i) <= previous.issued for i in now)
        ever |= now


@settings(max_examples=25, deadline=None)
@given(PARTITION, PARTITION)
def test_every_record_has_one_entry_and_entries_follow_the_clusters(first, second):
    a = run(run(None, *as_groups(first)), *as_groups(second))
    assert set(map(frozenset, entries(a).values())) == set(map(frozenset, as_groups(second)))


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_a_merge_then_its_reverse_split_restores_the_larger_part_and_never_the_retired_id(n_a, n_b, a_first):
    side_a, side_b = [f"a#{i}" for i in range(n_a)], [f"b#{i}" for i in range(n_b)]
    start = run(None, side_a, side_b) if a_first else run(None, side_b, side_a)
    merged = run(start, side_a + side_b)
    (survivor,) = entries(merged)
    back = run(merged, side_a, side_b)
    # the larger part; on a tie, the part holding the smallest record key ("a#0")
    larger = side_b if n_b > n_a else side_a
    assert entry_of(back)[larger[0]] == survivor
    retired = set(merged.report.retired["entry_id"].to_pylist())
    assert not set(entries(back)) & retired and len(entries(back)) == 2


def test_the_report_carries_the_golden_attributes_that_changed():
    from shuzhi.registry.golden import AttributeRule, Survivorship, build, changed_attributes

    keys = ["psb#1", "psb#2", "tax#1"]
    records = pa.table(
        {
            "record_key": keys,
            "source_dataset": ["psb", "psb", "tax"],
            "source_version": pa.array([1, 1, 2], pa.int64()),
            "source_row": ["1", "2", "1"],
            "phone": ["13800000001", "13800000002", "13900000003"],
        }
    )
    rules = Survivorship(attributes=(AttributeRule(attribute="phone", strategy="most_recent"),))
    a = run(None, ["psb#1", "psb#2"], ["tax#1"])
    b = run(a, keys)  # tax#1 joins the larger entry, whose phone now comes from tax (version 2)
    report = b.report.with_changes(
        changed_attributes(
            build(records, a.members, rules).attributes, build(records, b.members, rules).attributes
        )
    )
    kept = entry_of(b)["psb#1"]
    assert report.attributes_changed.to_pylist() == [
        {"entry_id": kept, "attribute": "phone", "before": "13800000001", "after": "13900000003"}
    ]
    assert report.counts["attributes_changed"] == 1 and report.counts["merged"] == 1
