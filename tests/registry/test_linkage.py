"""Linking a registry's records: identifiers only when valid, the model for the rest, every record clustered."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest

from shuzhi.errors import InvalidInput, NotFound
from shuzhi.registry.explain import explain
from shuzhi.registry.linkage import link
from shuzhi.registry.settings import Source
from shuzhi.registry.sources import table_records as source_records

PLANTED = 10_000


def keys_of(population, person: int) -> list[str]:
    return sorted(k for k, p in population.person_of.items() if p == person)


def cluster_map(linkage) -> dict[str, str]:
    return dict(
        zip(
            linkage.clusters["record_key"].to_pylist(),
            linkage.clusters["cluster_id"].to_pylist(),
            strict=True,
        )
    )


def linked_pairs(linkage) -> list[dict]:
    return [p for p in linkage.pairs.to_pylist() if p["decision"] == "link"]


def test_every_record_is_in_exactly_one_cluster(population, person_linkage):
    keys = person_linkage.clusters["record_key"].to_pylist()
    assert sorted(keys) == sorted(population.person_of)
    assert len(keys) == len(set(keys))


def test_clusters_are_the_connected_components_of_the_linked_pairs(person_linkage):
    clusters = cluster_map(person_linkage)
    for pair in linked_pairs(person_linkage):
        assert clusters[pair["record_key_l"]] == clusters[pair["record_key_r"]]
        assert pair["record_key_l"] < pair["record_key_r"]


def test_a_valid_identifier_links_whatever_else_differs(population, person_linkage):
    a, b = keys_of(population, PLANTED + 6)
    pair = next(
        p for p in person_linkage.pairs.to_pylist() if {p["record_key_l"], p["record_key_r"]} == {a, b}
    )
    assert pair["matched_by"] == "identifier" and pair["decision"] == "link"
    assert cluster_map(person_linkage)[a] == cluster_map(person_linkage)[b]


def test_an_invalid_identifier_is_no_key(population, person_linkage):
    (a,), (b,) = keys_of(population, PLANTED + 4), keys_of(population, PLANTED + 5)
    clusters = cluster_map(person_linkage)
    assert clusters[a] != clusters[b]
    assert not any(
        {p["record_key_l"], p["record_key_r"]} == {a, b} and p["matched_by"] == "identifier"
        for p in person_linkage.pairs.to_pylist()
    )


def test_homophone_and_traditional_spellings_of_one_person_are_linked(population, person_linkage):
    keys = keys_of(population, PLANTED + 3)
    assert len(keys) == 3
    assert len({cluster_map(person_linkage)[k] for k in keys}) == 1


def test_namesakes_born_on_different_days_stay_apart(population, person_linkage):
    clusters = cluster_map(person_linkage)
    first = {clusters[k] for k in keys_of(population, PLANTED + 1)}
    second = {clusters[k] for k in keys_of(population, PLANTED + 2)}
    assert len(first) == 1 and len(second) == 1 and first != second


def test_the_population_is_linked_accurately(population, person_linkage):
    clusters = cluster_map(person_linkage)
    truth = population.true_pairs()
    keys = sorted(clusters)
    by_cluster: dict[str, list[str]] = {}
    for k in keys:
        by_cluster.setdefault(clusters[k], []).append(k)
    found = {(a, b) for ks in by_cluster.values() for a in ks for b in ks if a < b}
    precision = len(found & truth) / len(found)
    recall = len(found & truth) / len(truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall)


def test_probabilistic_pairs_carry_weight_and_band(person_linkage, person_settings):
    link_weight = math.log2(person_settings.thresholds.link / (1 - person_settings.thresholds.link))
    for p in person_linkage.pairs.to_pylist():
        if p["matched_by"] == "probabilistic":
            assert (p["decision"] == "link") == (p["match_weight"] >= link_weight)


def test_explanation_terms_sum_to_the_match_weight(population, person_linkage, person_settings):
    probabilistic = [p for p in person_linkage.pairs.to_pylist() if p["matched_by"] == "probabilistic"]
    strangers = keys_of(population, PLANTED + 1)[0], keys_of(population, PLANTED + 2)[0]
    for key_l, key_r in [(probabilistic[0]["record_key_l"], probabilistic[0]["record_key_r"]), strangers]:
        why = explain(person_linkage, key_l, key_r)
        assert math.isclose(sum(t.match_weight for t in why.terms), why.match_weight, abs_tol=1e-6)
        assert why.terms[0].comparison == "prior"
        assert [t.comparison for t in why.terms[1:]] == [c.column for c in person_settings.comparisons]
        assert all(t.level for t in why.terms)
    scored = explain(person_linkage, probabilistic[0]["record_key_l"], probabilistic[0]["record_key_r"])
    assert math.isclose(scored.match_weight, probabilistic[0]["match_weight"], abs_tol=1e-6)
    assert scored.matched_by == "probabilistic" and scored.decision == probabilistic[0]["decision"]
    apart = explain(person_linkage, *strangers)
    assert apart.match_weight < 0 and apart.decision is None
    assert explain(person_linkage, *keys_of(population, PLANTED + 6)).matched_by == "identifier"


def test_explaining_an_unknown_record_is_not_found(population, person_linkage):
    with pytest.raises(NotFound):
        explain(person_linkage, "nope#1", keys_of(population, PLANTED + 1)[0])


def test_records_without_a_column_the_settings_need_are_refused(population, person_settings):
    with pytest.raises(InvalidInput, match="phone_norm"):
        link(person_settings, population.table().drop_columns(["phone_norm"]))


def test_records_with_repeated_keys_or_too_few_are_refused(population, person_settings):
    table = population.table()
    with pytest.raises(InvalidInput, match="repeated"):
        link(person_settings, pa.concat_tables([table.slice(0, 5), table.slice(0, 1)]))
    with pytest.raises(InvalidInput, match="fewer than two"):
        link(person_settings, table.slice(0, 1))


def test_source_rows_become_records_keyed_by_dataset_and_row():
    source = Source(dataset="psb", key="编号", mapping={"name": "姓名"})
    table = pa.table({"编号": [7, 8], "姓名": ["张三", None]})
    records = source_records(source, table, version=3)
    assert records["record_key"].to_pylist() == ["psb#7", "psb#8"]
    assert records["name"].to_pylist() == ["张三", None]
    assert records["source_version"].to_pylist() == [3, 3]
    keyless = source_records(Source(dataset="x", mapping={"name": "姓名"}), table)
    first, second = keyless["source_row"].to_pylist()
    assert first != second and source_records(Source(dataset="x", mapping={"name": "姓名"}), table)[
        "source_row"
    ].to_pylist() == [first, second]


def test_settings_a_model_cannot_be_trained_on_are_refused_with_the_reason():
    """An EM rule that selects no pair (here: no two records share the column) is a settings problem
    for these records: said as InvalidInput naming the registry, the records and Splink's reason."""
    import copy

    from tests.registry.conftest import PERSON_SETTINGS, make_population

    from shuzhi.registry.settings import parse_settings

    raw = copy.deepcopy(PERSON_SETTINGS)
    raw["training"]["em_blocking"] = [{"columns": ["ric18"]}]
    table = make_population(30, seed=2).table()
    unique = pa.array([f"x{i}" for i in range(table.num_rows)])
    table = table.set_column(table.column_names.index("ric18"), "ric18", unique)
    with pytest.raises(InvalidInput) as e:
        link(parse_settings(raw), table)
    assert e.value.where == "training" and "people" in str(e.value) and "no record pairs" in str(e.value)
