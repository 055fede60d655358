"""Catalog search forgives what people type: traditional script, pinyin, homophone typos; it sorts,
keeps the filters removable when nothing matches, and corrects a page past the end."""

from __future__ import annotations

import pytest
from tests.conftest import login


@pytest.fixture
def catalog(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    for ident, title, theme in [
        ("SCJG-YYZZ", "企业营业执照登记信息", "market"),
        ("RS-SB", "社保缴费记录", "employment"),
        ("WJ-YL", "医疗机构执业登记", "health"),
    ]:
        r = client.post(
            "/api/v1/datasets",
            json={"identifier": ident, "title_zh": title, "department": "GA", "theme": theme},
            headers=h,
        )
        assert r.status_code == 201, r.text
    return h


def _found(client, h, q, **params):
    body = client.get("/api/v1/datasets", params={"q": q, **params}, headers=h).json()
    return [d["identifier"] for d in body["results"]], body["by_reading"]


@pytest.mark.parametrize(
    ("query", "expected", "by_reading"),
    [
        ("营业执照", ["SCJG-YYZZ"], False),
        ("醫療", ["WJ-YL"], False),  # traditional script
        ("企業", ["SCJG-YYZZ"], False),
        ("shebao", ["RS-SB"], False),  # pinyin, indexed beside the words
        ("yingye zhizhao", ["SCJG-YYZZ"], False),
        ("营业只照", ["SCJG-YYZZ"], True),  # an input method's homophone
        ("社保交费", ["RS-SB"], True),
        ("不存在的东西", [], False),
    ],
)
def test_queries_find_what_was_meant(client, catalog, query, expected, by_reading):
    assert _found(client, catalog, query) == (expected, by_reading)


def test_a_reading_never_widens_a_search_that_found_something(client, catalog):
    assert _found(client, catalog, "登记", sort="identifier") == (["SCJG-YYZZ", "WJ-YL"], False)


def test_sort_orders(client, catalog, backend):
    if backend == "sqlite":  # code point order; a PostgreSQL collation may order hanzi otherwise
        assert _found(client, catalog, "", sort="title")[0] == ["SCJG-YYZZ", "WJ-YL", "RS-SB"]
    newest = _found(client, catalog, "", sort="newest")[0]
    assert newest == ["WJ-YL", "RS-SB", "SCJG-YYZZ"]
    assert _found(client, catalog, "")[0] == ["RS-SB", "SCJG-YYZZ", "WJ-YL"]
    bad = client.get("/api/v1/datasets", params={"sort": "random"}, headers=catalog)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_input"


def test_the_page_keeps_filters_removable_and_corrects_its_page(client, catalog):
    login(client, "root")
    page = client.get("/catalog", params={"q": "不存在的东西", "theme": "health"})
    assert page.status_code == 200 and 'id="active-filters"' in page.text
    assert (
        "/catalog?q=%E4%B8%8D%E5%AD%98%E5%9C%A8%E7%9A%84%E4%B8%9C%E8%A5%BF&amp;sort=relevance" in page.text
    )  # the theme removed (with words, the order is relevance unless another is chosen)
    typo = client.get("/catalog", params={"q": "营业只照"})
    assert 'id="by-reading"' in typo.text and "SCJG-YYZZ" in typo.text
    past = client.get("/catalog", params={"page": 99}, follow_redirects=False)
    assert past.status_code == 303 and past.headers["location"].endswith("page=1")


def test_reindex_rebuilds_search_text_written_by_an_older_release(client, catalog, db):
    from sqlalchemy import update

    from shuzhi.catalog.models import DatasetSearchDoc
    from shuzhi.catalog.search import reindex_all

    with db.write() as s:  # as an older release indexed it: words only, no readings
        s.execute(update(DatasetSearchDoc).values(tokens="社保 缴费 记录"))
    assert _found(client, catalog, "shebao")[0] == []
    with db.write() as s:
        assert reindex_all(s) == 3
    assert _found(client, catalog, "shebao")[0] == ["RS-SB"]


def test_the_server_loads_the_search_dictionaries_at_start(db, settings):
    """A start-up job of every serving process loads the segmenter, script folding and readings, so
    no user's first search waits about a second for them."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from shuzhi.catalog import search
    from shuzhi.jobs.models import JobRun
    from shuzhi.web.app import create_app

    search._jieba.cache_clear()
    search._to_simplified.cache_clear()
    app = create_app(settings, db=db)
    with TestClient(app):
        assert app.state.jobs.wait_idle()
    assert search._jieba.cache_info().currsize == 1 and search._to_simplified.cache_info().currsize == 1
    with db.read() as s:
        runs = s.scalars(select(JobRun).where(JobRun.name == "catalog.warm_search")).all()
    assert [(r.state, r.note) for r in runs] == [("done", "warm")]


def test_with_words_the_best_match_comes_first(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    for ident, title, description in [
        ("AAA-MENTION", "人员基本信息", "其中一列记录社保状态"),
        ("ZZZ-SHEBAO", "社保缴费记录", "社保缴费、社保基数与社保账户"),
    ]:
        body = {
            "identifier": ident,
            "title_zh": title,
            "description": description,
            "department": "GA",
            "theme": "employment",
        }
        assert client.post("/api/v1/datasets", json=body, headers=h).status_code == 201

    def order(**params):
        return [
            d["identifier"]
            for d in client.get("/api/v1/datasets", params=params, headers=h).json()["results"]
        ]

    assert order(q="社保") == ["ZZZ-SHEBAO", "AAA-MENTION"]  # relevance is the default with words
    assert order(q="社保", sort="identifier") == ["AAA-MENTION", "ZZZ-SHEBAO"]
    assert order(q="shebao") == ["ZZZ-SHEBAO", "AAA-MENTION"]  # by reading too
    assert order(sort="relevance")[:2] == ["AAA-MENTION", "ZZZ-SHEBAO"]  # no words: by identifier
    login(client, "root", next="/catalog")
    page = client.get("/catalog", params={"q": "社保"}).text
    assert '<option value="relevance" selected>' in page
    assert page.index("社保缴费记录") < page.index("人员基本信息")


# A homophone typed by an input method is found by its reading (above); what is left is a slip of
# the keys in pinyin or Latin text.
@pytest.mark.parametrize(("typed", "meant"), [("shebo", "shebao"), ("yingyezhizhoa", "yingyezhizhao")])
def test_a_typo_gets_a_did_you_mean_that_finds_something(client, catalog, typed, meant):
    body = client.get("/api/v1/datasets", params={"q": typed}, headers=catalog).json()
    assert body["total"] == 0 and body["did_you_mean"] is not None
    again = client.get("/api/v1/datasets", params={"q": body["did_you_mean"]}, headers=catalog).json()
    assert again["total"] >= 1
    assert set(meant.split()) <= set(body["did_you_mean"].split())


def test_no_suggestion_when_nothing_is_alike_or_something_was_found(client, catalog):
    assert (
        client.get("/api/v1/datasets", params={"q": "量子隧穿"}, headers=catalog).json()["did_you_mean"]
        is None
    )
    assert (
        client.get("/api/v1/datasets", params={"q": "社保"}, headers=catalog).json()["did_you_mean"] is None
    )


def test_the_page_offers_the_suggestion(client, catalog):
    login(client, "root")
    page = client.get("/catalog", params={"q": "shebo"}).text
    assert 'id="did-you-mean"' in page and "/catalog?q=shebao" in page
