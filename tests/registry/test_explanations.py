"""Why an entry's records are one entry: the last build's model scores each member against the first,
for those who may decide on the entry only, in the ledger; API and page, both languages."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from tests.conftest import login
from tests.quality.conftest import world  # noqa: F401 (the fixture)
from tests.registry.test_service import build, load, members, partition, register, tables

from shuzhi.errors import Conflict, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.registry import explanations, prepared, service
from shuzhi.registry.models import RegistryRun


@pytest.fixture
def built(world):  # noqa: F811
    rows, _ = tables()
    load(world, rows)
    register(world)
    build(world)
    groups = sorted(partition(members(world)), key=lambda g: (-len(g), sorted(g)))
    m = members(world)
    big = m[sorted(groups[0])[0]]
    single = next(m[next(iter(g))] for g in groups if len(g) == 1) if len(groups[-1]) == 1 else None
    return world, big, sorted(groups[0]), single


def _explain(w, principal, entry):
    with w.db.write() as s:
        return explanations.explain_entry(s, w.settings, principal, "people", entry)


def test_each_member_is_explained_against_the_first_and_the_terms_sum_to_the_weight(built):
    w, entry, keys, _ = built
    out = _explain(w, w.admin, entry)
    assert out["entry"] == entry and out["members"] == len(keys) and not out["truncated"]
    assert [(p["record_key_l"], p["record_key_r"]) for p in out["pairs"]] == [(keys[0], k) for k in keys[1:]]
    for pair in out["pairs"]:
        terms = pair["terms"]
        assert terms[0]["comparison"] == "prior" and len(terms) == 1 + 6  # prior and six comparisons
        assert sum(t["match_weight"] for t in terms) == pytest.approx(pair["match_weight"], abs=1e-6)
        assert pair["decision"] in ("link", "review", None) and pair["matched_by"] in (
            "identifier",
            "probabilistic",
            None,
        )
        assert all(set(t) >= {"level", "m_probability", "u_probability", "bayes_factor"} for t in terms)
    # the entry holds its records because each is linked to some other: most pairs with the first are
    assert sum(p["decision"] == "link" for p in out["pairs"]) >= len(keys) // 2
    with w.db.read() as s:
        entry_row = s.scalars(
            select(LedgerEntry).where(LedgerEntry.event == "registry.entry_explained")
        ).one()
    assert f'"entry":"{entry}"' in entry_row.entry.replace(" ", "")


def test_without_the_kept_records_the_same_explanation_comes_from_the_sources(built):
    w, entry, _, _ = built
    first = _explain(w, w.admin, entry)
    with w.db.read() as s:
        reg = service.get_registry(s, "people")
        kept = prepared.cache_file(w.settings.data_dir, reg.id, service.settings_digest(reg.settings))
    assert kept.exists()
    kept.unlink()
    again = _explain(w, w.admin, entry)
    assert again["pairs"] == first["pairs"]


def test_only_those_who_may_decide_read_it_and_others_are_told_it_does_not_exist(built):
    w, entry, keys, _ = built
    datasets = {k.split("#")[0] for k in keys}
    deciders = [w.admin] + ([w.steward] if datasets & {"psb", "health"} else [])
    deciders += [w.other_steward] if "hrss" in datasets else []
    for who in deciders:
        assert _explain(w, who, entry)["pairs"]
    refused = [w.analyst, w.outsider] + ([] if "hrss" in datasets else [w.other_steward])
    messages = set()
    for who in refused:
        with pytest.raises(NotFound) as e:
            _explain(w, who, entry)
        messages.add(str(e.value).replace(entry, "X"))
    with pytest.raises(NotFound) as e:
        _explain(w, w.admin, "P-99999999")
    assert messages == {str(e.value).replace("P-99999999", "X")}
    with w.db.read() as s:
        assert s.scalar(select(LedgerEntry).where(LedgerEntry.event == "registry.entry_explained").limit(1))


def test_a_registry_whose_last_run_kept_no_model_says_to_build_again(built):
    w, entry, _, single = built
    with w.db.write() as s:
        s.execute(update(RegistryRun).values(model=None))
    with pytest.raises(Conflict, match="build it again"):
        _explain(w, w.admin, entry)


def test_a_single_record_entry_has_nothing_to_explain(built):
    w, _, _, single = built
    if single is None:
        pytest.skip("every entry of this population has several records")
    assert _explain(w, w.admin, single)["pairs"] == []


def test_the_api_explains_for_an_admin_and_answers_404_to_an_analyst(client, built):
    w, entry, keys, _ = built
    login(client, "admin1")
    r = client.get(f"/api/v1/registry/people/entries/{entry}/explanation")
    assert r.status_code == 200, r.text
    assert len(r.json()["pairs"]) == len(keys) - 1
    login(client, "sc_analyst")
    assert client.get(f"/api/v1/registry/people/entries/{entry}/explanation").status_code == 404


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_shows_each_pair_as_a_table_of_levels_and_weights(client, built, lang):
    w, entry, keys, _ = built
    login(client, "admin1")
    r = client.get(f"/registry/people/entries/{entry}/explanation?lang={lang}")
    assert r.status_code == 200, r.text
    pairs = re.findall(r'<section class="card pair" data-left="([^"]+)" data-right="([^"]+)">', r.text)
    assert pairs == [(keys[0], k) for k in keys[1:]]
    words = {
        "zh": ("为何归为同一条目", "相同", "出生日期"),
        "en": ("Why these records are one entry", "the same", "Date of birth"),
    }
    assert all(w_ in r.text for w_ in words[lang])
    assert "Exact match" not in r.text and "hanzi differ" not in r.text  # Splink's labels in words
    login(client, "sc_analyst")
    assert client.get(f"/registry/people/entries/{entry}/explanation").status_code == 404


SPECS = [
    {"kind": "exact"},
    {"kind": "levenshtein", "thresholds": [1]},
    {"kind": "damerau_levenshtein", "thresholds": [1]},
    {"kind": "jaro_winkler", "thresholds": [0.9]},
    {"kind": "jaro", "thresholds": [0.9]},
    {"kind": "date_difference", "thresholds": [31, 366], "typo_distance": 1},
    {"kind": "percentage_difference", "thresholds": [0.1]},
    {"kind": "pinyin_hanzi", "pinyin_column": "b", "thresholds": [0.9]},
    {"kind": "prefix", "lengths": [6, 4]},
]


@pytest.mark.parametrize("spec", SPECS, ids=[s["kind"] for s in SPECS])
def test_every_level_of_every_comparison_kind_reads_in_words(spec):
    from shuzhi.registry.linkage import splink_comparison
    from shuzhi.registry.settings import COMPARISON_KINDS, Comparison
    from shuzhi.web.pages.registry import level_words

    assert {s["kind"] for s in SPECS} == set(COMPARISON_KINDS)
    levels = splink_comparison(Comparison(column="a", **spec)).get_comparison("duckdb").as_dict()
    for level in levels["comparison_levels"]:
        words = level_words(level["label_for_charts"])
        assert words is not None, level["label_for_charts"]
        assert all(not v.endswith(".0") for v in words[1].values() if v)


def test_a_build_published_the_golden_table_and_the_index_links_to_it(client, built):
    w, entry, keys, _ = built
    assert {k.split("#")[0] for k in keys} & {"psb", "health"}  # records of GA's datasets: GA reads it
    login(client, "ga_analyst")
    index = client.get("/registry?lang=en").text
    assert 'href="/datasets/registry-people"' in index
    profile = client.get(f"/registry/persons/{entry}")
    assert profile.status_code == 200 and "explanation" not in profile.text  # not theirs to decide on
    login(client, "ga_steward")
    profile = client.get(f"/registry/persons/{entry}").text
    assert f'href="/registry/people/entries/{entry}/explanation"' in profile
