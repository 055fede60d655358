"""Golden records: survivorship per attribute, provenance, conflicts and steward resolutions."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shuzhi.errors import InvalidInput
from shuzhi.registry.golden import (
    PEOPLE,
    AttributeRule,
    Resolution,
    Survivorship,
    build,
    changed_attributes,
)

COLUMNS = (
    "record_key",
    "source_dataset",
    "source_version",
    "source_row",
    "name",
    "name_norm",
    "ric",
    "ric18",
    "ric_valid",
    "birth_date",
    "birth_date_norm",
    "sex",
    "sex_norm",
    "phone",
    "address",
    "updated",
)
TYPES = {"source_version": pa.int64(), "ric_valid": pa.bool_()}


def people(*rows: dict) -> pa.Table:
    """Records in the contract's shape; a row gives what it needs, the rest is null."""
    return pa.table({c: pa.array([r.get(c) for r in rows], TYPES.get(c, pa.string())) for c in COLUMNS})


def rec(key: str, dataset: str = "psb", version: int = 1, **values) -> dict:
    return {
        "record_key": f"{dataset}#{key}",
        "source_dataset": dataset,
        "source_version": version,
        "source_row": key,
        **values,
    }


def members(mapping: dict[str, str]) -> pa.Table:
    return pa.table({"record_key": list(mapping), "cluster_id": list(mapping.values())})


def rules(*attrs: AttributeRule) -> Survivorship:
    return Survivorship(attributes=attrs)


def golden_of(g, entry: str, attribute: str) -> dict:
    rows = [r for r in g.attributes.to_pylist() if r["entry_id"] == entry and r["attribute"] == attribute]
    assert len(rows) == 1, rows
    return rows[0]


def test_most_frequent_compares_normalised_values_and_keeps_the_written_one():
    records = people(
        rec("1", "psb", 3, name="張偉", name_norm="张伟"),
        rec("2", "hrss", 5, name="张 伟", name_norm="张伟"),
        rec("3", "tax", 9, name="张卫", name_norm="张卫"),
    )
    g = build(
        records,
        members(dict.fromkeys(records["record_key"].to_pylist(), "c1")),
        rules(AttributeRule(attribute="name")),
    )
    row = golden_of(g, "c1", "name")
    # 张伟 is held by two records; of those the higher version (hrss v5) supplies the written form
    assert (row["value"], row["value_norm"], row["record_key"]) == ("张 伟", "张伟", "hrss#2")
    assert (row["source_dataset"], row["source_version"], row["source_row"], row["rule"]) == (
        "hrss",
        5,
        "2",
        "most_frequent",
    )
    assert row["candidates"] == 3


def test_most_recent_takes_the_highest_version_or_the_latest_date():
    records = people(
        rec("1", "psb", 1, phone="13800000001", updated="2026-03-01"),
        rec("2", "psb", 2, phone="13800000002", updated="2025-01-01"),
        rec("3", "psb", 2, phone="13800000002", updated="not a date"),
    )
    one = members(dict.fromkeys(records["record_key"].to_pylist(), "e"))
    by_version = build(records, one, rules(AttributeRule(attribute="phone", strategy="most_recent")))
    assert golden_of(by_version, "e", "phone")["value"] == "13800000002"
    by_date = build(
        records, one, rules(AttributeRule(attribute="phone", strategy="most_recent", date_column="updated"))
    )
    assert golden_of(by_date, "e", "phone")["record_key"] == "psb#1"


def test_most_trusted_follows_the_declared_order_and_unlisted_datasets_come_last():
    records = people(
        rec("1", "health", 9, address="A路1号"),
        rec("2", "hrss", 1, address="B路2号"),
        rec("3", "psb", 1, address="C路3号"),
        rec("4", "psb", 2, address=""),  # blank is no value: psb's other row holds its address
    )
    one = members(dict.fromkeys(records["record_key"].to_pylist(), "e"))
    rule = AttributeRule(attribute="address", strategy="most_trusted", trusted=("psb", "hrss"))
    assert golden_of(build(records, one, rules(rule)), "e", "address")["value"] == "C路3号"
    rule = AttributeRule(attribute="address", strategy="most_trusted", trusted=("civil", "hrss"))
    assert golden_of(build(records, one, rules(rule)), "e", "address")["value"] == "B路2号"


def test_a_valid_identifier_beats_more_frequent_invalid_ones():
    valid = "11010519491231002X"
    records = people(
        rec("1", "psb", 1, ric="110105194912310021", ric18=None, ric_valid=False),
        rec("2", "tax", 1, ric="110105194912310021", ric18=None, ric_valid=False),
        rec("3", "hrss", 1, ric=valid.lower(), ric18=valid, ric_valid=True),
    )
    one = members(dict.fromkeys(records["record_key"].to_pylist(), "e"))
    rule = AttributeRule(attribute="ric", strategy="valid_identifier", compare="ric18")
    row = golden_of(build(records, one, rules(rule)), "e", "ric")
    assert (row["value"], row["value_norm"], row["record_key"]) == (valid.lower(), valid, "hrss#3")


def test_an_unreadable_value_survives_only_alone():
    rule = AttributeRule(attribute="birth_date")
    both = people(
        rec("1", "psb", 1, birth_date="八十年代", birth_date_norm=None),
        rec("2", "psb", 1, birth_date="八十年代", birth_date_norm=None),
        rec("3", "tax", 1, birth_date="1985/3/4", birth_date_norm="1985-03-04"),
    )
    g = build(both, members(dict.fromkeys(both["record_key"].to_pylist(), "e")), rules(rule))
    assert golden_of(g, "e", "birth_date")["value_norm"] == "1985-03-04"
    alone = people(rec("1", "psb", 1, birth_date="八十年代"))
    g = build(alone, members({"psb#1": "e"}), rules(rule))
    assert (golden_of(g, "e", "birth_date")["value"], golden_of(g, "e", "birth_date")["value_norm"]) == (
        "八十年代",
        None,
    )


def test_records_linked_to_nothing_are_single_source_entries():
    records = people(rec("1", name="李娜", name_norm="李娜"), rec("2", "tax", name="王芳", name_norm="王芳"))
    g = build(records, members({"psb#1": "c9"}), rules(AttributeRule(attribute="name")))
    assert g.entries.to_pylist() == [
        {"entry_id": "c9", "records": 1, "datasets": 1},
        {"entry_id": "tax#2", "records": 1, "datasets": 1},
    ]
    assert golden_of(g, "tax#2", "name")["value"] == "王芳"
    assert g.wide().to_pylist() == [{"entry_id": "c9", "name": "李娜"}, {"entry_id": "tax#2", "name": "王芳"}]


CONFLICTING = people(
    rec("1", "psb", 1, birth_date="1990-01-02", birth_date_norm="1990-01-02", sex="男", sex_norm="M"),
    rec("2", "hrss", 1, birth_date="1990年1月2日", birth_date_norm="1990-01-02", sex="男", sex_norm="M"),
    rec("3", "health", 1, birth_date="1990-02-01", birth_date_norm="1990-02-01", sex="M", sex_norm="M"),
)
CHECKED = rules(
    AttributeRule(attribute="birth_date", conflict=True), AttributeRule(attribute="sex", conflict=True)
)
ONE = members(dict.fromkeys(CONFLICTING["record_key"].to_pylist(), "e1"))


def test_different_normalised_values_of_a_checked_attribute_are_listed_with_provenance():
    g = build(CONFLICTING, ONE, CHECKED)
    conflicts = g.conflicts.to_pylist()
    assert {c["attribute"] for c in conflicts} == {"birth_date"}  # sex agrees once normalised
    assert sorted((c["record_key"], c["value_norm"], c["chosen"], c["state"]) for c in conflicts) == [
        ("health#3", "1990-02-01", False, "open"),
        ("hrss#2", "1990-01-02", True, "open"),  # tied with psb#1: the smaller record key
        ("psb#1", "1990-01-02", False, "open"),
    ]
    assert all(c["source_dataset"] and c["source_row"] and c["source_version"] == 1 for c in conflicts)


def test_a_resolution_overrides_survivorship_and_keeps_applying_while_its_value_is_a_candidate():
    choice = [Resolution("e1", "birth_date", "1990-02-01")]
    g = build(CONFLICTING, ONE, CHECKED, choice)
    row = golden_of(g, "e1", "birth_date")
    assert (row["value"], row["record_key"], row["rule"]) == ("1990-02-01", "health#3", "steward")
    assert {c["state"] for c in g.conflicts.to_pylist()} == {"resolved"}
    assert g.stale.num_rows == 0
    # a later run where health corrected its row: the choice no longer applies, the conflict is gone
    corrected = {"birth_date": "1990-01-02", "birth_date_norm": "1990-01-02"}
    fixed = people(
        *(r if r["record_key"] != "health#3" else {**r, **corrected} for r in CONFLICTING.to_pylist())
    )
    g = build(fixed, ONE, CHECKED, choice)
    assert golden_of(g, "e1", "birth_date")["rule"] == "most_frequent"
    assert g.stale.to_pylist() == [
        {"entry_id": "e1", "attribute": "birth_date", "value": "1990-02-01", "reason": "value_gone"}
    ]
    assert g.conflicts.num_rows == 0


def test_a_conflict_reopens_when_the_chosen_value_left_but_others_still_differ():
    third = rec("4", "civil", 1, birth_date="1990-03-03", birth_date_norm="1990-03-03")
    rows = [r for r in CONFLICTING.to_pylist() if r["record_key"] != "health#3"] + [third]
    records = people(*rows)
    g = build(
        records,
        members(dict.fromkeys(records["record_key"].to_pylist(), "e1")),
        CHECKED,
        [Resolution("e1", "birth_date", "1990-02-01")],
    )
    assert {c["state"] for c in g.conflicts.to_pylist()} == {"reopened"}
    assert g.stale["reason"].to_pylist() == ["value_gone"]


def test_resolutions_for_unknown_entries_or_attributes_are_reported_not_applied():
    g = build(
        CONFLICTING, ONE, CHECKED, [Resolution("gone", "sex", "F"), Resolution("e1", "shoe_size", "42")]
    )
    assert sorted(g.stale["reason"].to_pylist()) == ["attribute_unknown", "entry_gone"]


def test_changed_attributes_compare_entries_of_both_runs_on_normalised_values():
    before = build(CONFLICTING, ONE, CHECKED).attributes
    after = build(CONFLICTING, ONE, CHECKED, [Resolution("e1", "birth_date", "1990-02-01")]).attributes
    assert changed_attributes(before, after).to_pylist() == [
        {"entry_id": "e1", "attribute": "birth_date", "before": "1990年1月2日", "after": "1990-02-01"}
    ]
    assert changed_attributes(before, before).num_rows == 0


@pytest.mark.parametrize(
    ("records", "rule", "word"),
    [
        (people(rec("1")).drop_columns(["source_row"]), AttributeRule(attribute="name"), "source_row"),
        (people(rec("1")), AttributeRule(attribute="shoe_size"), "shoe_size"),
        (people(rec("1")), AttributeRule(attribute="name", strategy="valid_identifier"), "name_valid"),
        (people(rec("1"), rec("1")), AttributeRule(attribute="name"), "psb#1"),
    ],
)
def test_bad_input_is_refused_with_what_and_where(records, rule, word):
    with pytest.raises(InvalidInput) as e:
        build(records, members({}), rules(rule))
    assert word in str(e.value)


def test_rules_that_do_not_fit_their_strategy_are_refused():
    with pytest.raises(ValidationError, match="trusted"):
        AttributeRule(attribute="name", strategy="most_trusted")
    with pytest.raises(ValidationError, match="date column"):
        AttributeRule(attribute="name", date_column="updated")
    with pytest.raises(ValidationError, match="twice"):
        rules(AttributeRule(attribute="name"), AttributeRule(attribute="name", strategy="most_recent"))


def test_the_default_people_rules_read_the_contract_columns():
    records = people(
        rec("1", name="李娜", name_norm="李娜", ric="x", ric_valid=False, sex="女", sex_norm="F")
    )
    g = build(records, members({"psb#1": "e"}), PEOPLE)
    assert {r["attribute"]: r["value"] for r in g.attributes.to_pylist()} == {
        "name": "李娜",
        "ric": "x",
        "sex": "女",
    }


# --- properties -------------------------------------------------------------------------------

NORMS = st.sampled_from(["1990-01-02", "1990-02-01", "1991-05-05", None])
ROWS = st.lists(
    st.tuples(
        st.sampled_from(["psb", "hrss", "tax"]), st.integers(1, 3), NORMS, st.sampled_from(["a", "b", "c"])
    ),
    min_size=1,
    max_size=12,
)


def _random_records(rows) -> tuple[pa.Table, pa.Table]:
    records = people(
        *(
            rec(str(i), ds, v, birth_date=(norm or "?") + "/w", birth_date_norm=norm)
            for i, (ds, v, norm, _) in enumerate(rows)
        )
    )
    clusters = members({f"{ds}#{i}": entry for i, (ds, _v, _n, entry) in enumerate(rows)})
    return records, clusters


@settings(max_examples=25, deadline=None)
@given(ROWS, st.randoms(use_true_random=False), st.sampled_from(["most_frequent", "most_recent"]))
def test_the_golden_record_does_not_depend_on_row_order(rows, rnd, strategy):
    records, clusters = _random_records(rows)
    rule = rules(AttributeRule(attribute="birth_date", strategy=strategy, conflict=True))
    order = list(range(records.num_rows))
    rnd.shuffle(order)
    a, b = build(records, clusters, rule), build(records.take(order), clusters, rule)
    assert a.attributes.to_pylist() == b.attributes.to_pylist()
    assert sorted(a.conflicts.to_pylist(), key=str) == sorted(b.conflicts.to_pylist(), key=str)


@settings(max_examples=25, deadline=None)
@given(ROWS)
def test_most_frequent_chooses_a_value_held_by_the_most_records_and_says_which(rows):
    records, clusters = _random_records(rows)
    g = build(records, clusters, rules(AttributeRule(attribute="birth_date", conflict=True)))
    by_key = {r["record_key"]: r for r in records.to_pylist()}
    entry_of = dict(zip(clusters["record_key"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True))
    for row in g.attributes.to_pylist():
        source = by_key[row["record_key"]]
        assert (source["birth_date"], source["birth_date_norm"]) == (row["value"], row["value_norm"])
        assert entry_of[row["record_key"]] == row["entry_id"]
        norms = [r["birth_date_norm"] for k, r in by_key.items() if entry_of[k] == row["entry_id"]]
        readable = [n for n in norms if n is not None]
        if readable:
            assert readable.count(row["value_norm"]) == max(readable.count(n) for n in readable)
        disputed = len(set(readable)) >= 2
        assert disputed == any(c["entry_id"] == row["entry_id"] for c in g.conflicts.to_pylist())
