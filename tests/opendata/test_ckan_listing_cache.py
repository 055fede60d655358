"""The cached index of the published listing behind package_search: the same answers as a search over
the whole portal, and never stale — a withdrawn release or edited metadata shows in every process at once."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, text, update
from tests.opendata.test_ckan_api import Portal, portal  # noqa: F401 - the published portal fixture

from shuzhi.catalog import grams
from shuzhi.catalog.models import Dataset, DatasetField
from shuzhi.opendata import published, releases
from shuzhi.opendata.models import Release
from shuzhi.orgs.models import Department
from shuzhi.store.db import Database
from shuzhi.web.ckan import packages
from shuzhi.web.ckan.packages import FACETABLE, ListingCache

SITE = "http://portal.example"

QUERIES = [
    {},
    {"q": "低保"},
    {"q": "救助 对象"},
    {"q": "Subsistence"},
    {"q": "量子隧穿"},
    {"q": "保"},
    {"q": "对象"},
    {"q": "员 sub"},
    {"fq": "organization:SC"},
    {"fq": "-organization:SC"},
    {"fq": 'tags:"社会救助" +res_format:Parquet'},
    {"fq": "license_id:notspecified"},
    {"fq": "groups:safety AND capacity:public"},
    {"fq": "name:enterprises"},
    {"sort": "name desc", "rows": 1, "start": 1},
    {"sort": "title asc"},
    {"sort": "metadata_created asc, name asc"},
    {"q": "低保", "sort": "score desc, name asc", "rows": 0},
]


def _args(query: dict) -> tuple:
    return (
        query.get("q", ""),
        [query.get("fq", "")],
        query.get("sort", ""),
        query.get("rows", 10),
        query.get("start", 0),
        list(FACETABLE),
        50,
    )


def _names(db, cache: ListingCache, q: str = "", fq: str = "") -> list[str]:
    with db.read() as s:
        found = packages.search_published(s, SITE, q, [fq], "", 10, 0, ["organization"], 50, cache=cache)
    assert found["count"] == len(found["results"])
    return [p["name"] for p in found["results"]]


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_indexed_search_answers_as_the_search_over_the_whole_portal(portal: Portal, query):  # noqa: F811
    cache = ListingCache()
    with portal.world.db.read() as s:
        expected = packages.search(packages.load(s, SITE), *_args(query))
        got = packages.search_published(s, SITE, *_args(query), cache=cache)
        again = packages.search_published(s, SITE, *_args(query), cache=cache)  # warm: from the cache
    assert got == expected and again == expected
    assert cache.rebuilds == 1


def test_without_the_pair_index_every_text_is_scanned_with_the_same_answers(portal: Portal, monkeypatch):  # noqa: F811
    monkeypatch.setattr(grams, "MAX_TEXTS", 1)  # past the limit: no pair index is built
    cache = ListingCache()
    for query in QUERIES[1:5]:
        with portal.world.db.read() as s:
            expected = packages.search(packages.load(s, SITE), *_args(query))
            assert packages.search_published(s, SITE, *_args(query), cache=cache) == expected
    assert cache.index.pairs is None


def test_a_withdrawn_release_leaves_search_at_once_in_every_process(portal: Portal):  # noqa: F811
    world = portal.world
    other = Database(str(world.db.url))  # another process: its own engine and its own cache
    here, there = ListingCache(), ListingCache()
    try:
        assert _names(world.db, here) == _names(other, there) == ["enterprises", "population"]
        assert _names(world.db, here, fq="organization:SC") == ["enterprises"]
        with world.db.transaction() as s:
            rid = int(portal.enterprises.split("-r")[1])
            releases.withdraw_release(s, world.other_steward, s.get(Release, rid), "复核")
        assert _names(world.db, here) == _names(other, there) == ["population"]
        assert _names(other, there, fq="organization:SC") == []
        with other.read() as s:
            facets = packages.search_published(
                s, SITE, "", [""], "", 10, 0, ["organization"], 50, cache=there
            )
        assert facets["facets"] == {"organization": {"GA": 1}}
    finally:
        other.dispose()


def test_an_uncommitted_withdrawal_changes_nothing_and_a_rolled_back_one_neither(portal: Portal):  # noqa: F811
    world, cache = portal.world, ListingCache()
    assert _names(world.db, cache) == ["enterprises", "population"]
    with pytest.raises(RuntimeError), world.db.transaction() as s:
        rid = int(portal.enterprises.split("-r")[1])
        releases.withdraw_release(s, world.other_steward, s.get(Release, rid), "复核")
        raise RuntimeError("changed my mind")
    assert _names(world.db, cache) == ["enterprises", "population"]


def test_edited_public_metadata_shows_at_once(portal: Portal):  # noqa: F811
    world, cache = portal.world, ListingCache()
    assert _names(world.db, cache, q="特困") == []
    with world.db.transaction() as s:
        s.scalar(select(Dataset).where(Dataset.identifier == "population")).title_zh = "城乡特困人员名册"
    assert _names(world.db, cache, q="特困") == ["population"]
    with world.db.transaction() as s:
        s.scalar(select(Department).where(Department.code == "GA")).name_zh = "市公安局（新）"
    with world.db.read() as s:
        found = packages.search_published(s, SITE, "特困", [""], "", 10, 0, [], 50, cache=cache)
    assert found["results"][0]["organization"]["title"] == "市公安局（新）"


def test_a_dataset_no_longer_to_be_opened_leaves_search(portal: Portal):  # noqa: F811
    world, cache = portal.world, ListingCache()
    assert "population" in _names(world.db, cache)
    with world.db.transaction() as s:
        s.execute(update(Dataset).where(Dataset.identifier == "population").values(open_type="none"))
    assert _names(world.db, cache) == ["enterprises"]


def _version(db) -> tuple[str, int]:
    with db.read() as s:
        return published.listing_version(s)


def test_the_listing_version_moves_with_what_the_public_sees_and_only_then(portal: Portal):  # noqa: F811
    db = portal.world.db
    token, start = _version(db)
    assert token and start > 0  # the releases above moved it
    with db.transaction() as s:  # a column the listing does not show
        s.execute(update(Dataset).where(Dataset.identifier == "population").values(security_grade="L2"))
    assert _version(db) == (token, start)
    with db.read() as s:
        dataset_id = s.scalar(select(Dataset.id).where(Dataset.identifier == "population"))
    field = {
        "dataset_id": dataset_id,
        "position": 99,
        "name": "note",
        "type": "VARCHAR",
        "description": "类别",
    }
    steps = [
        update(Dataset).where(Dataset.identifier == "population").values(description="新的说明"),
        update(Dataset).where(Dataset.identifier == "population").values(keywords=["新词"]),
        insert(DatasetField).values(**field),
        update(DatasetField).where(DatasetField.name == "benefit").values(description="救助类别"),
        delete(DatasetField).where(DatasetField.name == "note"),
        update(Department).where(Department.code == "SC").values(name_en="Market regulation"),
        update(Release).values(state="withdrawn"),
    ]
    for statement in steps:
        with db.transaction() as s:
            s.execute(statement)
        token_now, version = _version(db)
        assert token_now == token and version > start, statement
        start = version


def test_a_store_made_anew_is_told_apart(portal: Portal):  # noqa: F811
    db = portal.world.db
    token, _ = _version(db)
    with db.transaction() as s:
        s.execute(text("UPDATE opendata_listing_version SET token = 'another-store'"))
    cache = ListingCache()
    _names(db, cache)
    assert cache.index.version[0] == "another-store" and token != "another-store"


def test_the_page_cache_is_bounded(portal: Portal):  # noqa: F811
    cache = ListingCache(page_cache=1)
    assert _names(portal.world.db, cache) == ["enterprises", "population"]
    assert len(cache.pages) == 1
    assert _names(portal.world.db, cache) == ["enterprises", "population"]


def test_a_rebuild_folds_and_segments_only_what_changed(portal: Portal, monkeypatch):  # noqa: F811
    folded: list[str] = []
    real = packages.fold
    monkeypatch.setattr(packages, "fold", lambda t: folded.append(t) or real(t))
    with portal.world.db.read() as s:
        listing = published.published_listing(s)
    first = packages.build_index(listing, ("t", 1))
    assert len(folded) == 2
    again = packages.build_index(listing, ("t", 2), first)
    assert (
        len(folded) == 2 and again.documents == first.documents and again.title_tokens == first.title_tokens
    )
    listing[0] = {**listing[0], "title_zh": "改过的标题"}
    changed = packages.build_index(listing, ("t", 3), again)
    assert len(folded) == 3 and "改过的标题" in changed.document(changed.position[listing[0]["dataset"]])
    kept = listing[1]["dataset"]
    assert changed.document(changed.position[kept]) == again.document(again.position[kept])
    assert changed.nbytes() > 0
