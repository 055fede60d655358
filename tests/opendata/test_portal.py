"""The public open-data portal: pages, searches, downloads (each audited and counted), JSON-LD, sitemap."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from urllib.parse import unquote

import openpyxl
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from tests.opendata.conftest import add_dataset, plan, population

from shuzhi.catalog.models import Dataset
from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import published, releases, stats, usage
from shuzhi.opendata.models import Release
from shuzhi.opendata.usage_models import PreviewWindow
from shuzhi.web.app import create_app
from shuzhi.web.ckan import packages
from shuzhi.web.portal import listing

DOWNLOADED, PREVIEWED = "opendata.release_downloaded", "opendata.release_previewed"


def _publish(world, dataset: str, preparer, approver) -> int:
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, preparer, dataset, plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, approver, s.get(Release, rid))
    return rid


@pytest.fixture
def open_world(world):
    """population (GA, 有条件开放) and enterprises (SC, 无条件开放) published; gone published then
    withdrawn; secret_registry (不予开放) never."""
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "population"))
        ds.title_zh, ds.title_en = "城乡低保对象名册", "Subsistence allowance register"
    _publish(world, "population", world.steward, world.steward2)
    add_dataset(
        world.db,
        world.settings,
        world.other_steward,
        "enterprises",
        "unconditional",
        population(seed=5),
        "SC",
    )
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "enterprises"))
        ds.title_zh, ds.title_en, ds.keywords = "企业登记名录", "Enterprise register", ["企业", "登记"]
        ds.update_frequency, ds.licence, ds.description = "monthly", "CC-BY-4.0", "全市企业登记的公开信息"
    ent = _publish(world, "enterprises", world.other_steward, world.admin)
    add_dataset(world.db, world.settings, world.steward, "gone", "unconditional", population(seed=7))
    gone = _publish(world, "gone", world.steward, world.steward2)
    with world.db.transaction() as s:
        releases.withdraw_release(s, world.steward, s.get(Release, gone), "复核")
    world.enterprises_release = ent
    return world


@pytest.fixture
def web(open_world):
    with TestClient(create_app(open_world.settings, db=open_world.db)) as c:
        yield c


def _entries(world, event: str) -> list[dict]:
    with world.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == event).order_by(LedgerEntry.seq))
        return [json.loads(r.entry) for r in rows]


def _released(world):
    with world.db.read() as s:
        return pq.read_table(world.settings.data_dir / s.get(Release, world.enterprises_release).path)


def _is_page(r) -> bool:
    return "text/html" in r.headers["content-type"] and 'class="topbar"' in r.text


# -- pages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_portal_page_answers_in_both_languages(web, lang):
    words = {"zh": "工作人员登录", "en": "Staff login"}[lang]
    for path in [
        "/open",
        "/open/search",
        "/open/search?q=企业",
        "/open/dataset/enterprises",
        "/open/dataset/population",
        "/open/organization/SC",
        "/open/theme/safety",
    ]:
        r = web.get(path, params={"lang": lang})
        assert r.status_code == 200 and _is_page(r), path
        assert words in r.text and 'id="staff-login"' in r.text, path
        assert 'href="/exchange"' not in r.text  # no staff navigation on the public face


def test_home_lists_themes_departments_latest_and_most_downloaded(web):
    web.get("/open/dataset/enterprises/download.csv")
    html = web.get("/open").text
    assert 'href="/open/theme/safety"' in html
    assert 'href="/open/organization/GA"' in html and 'href="/open/organization/SC"' in html
    popular = html[html.index('id="popular"') : html.index('id="departments"')]
    assert re.findall(r'data-name="([^"]+)"', popular) == ["enterprises"]  # nothing with no download
    assert "gone" not in re.findall(r'data-name="([^"]+)"', html)


def test_search_in_chinese_with_facets_and_sorts(web):
    found = web.get("/open/search", params={"q": "企业"}).text
    assert re.findall(r'data-name="([^"]+)"', found) == ["enterprises"]
    by_type = web.get("/open/search", params={"open_type": "conditional"}).text
    assert re.findall(r'data-name="([^"]+)"', by_type) == ["population"]
    by_format = web.get("/open/search", params={"format": "xlsx"}).text
    assert re.findall(r'data-name="([^"]+)"', by_format) == ["enterprises"]
    by_frequency = web.get("/open/search", params={"update_frequency": "monthly"}).text
    assert re.findall(r'data-name="([^"]+)"', by_frequency) == ["enterprises"]
    by_org = web.get("/open/search", params={"organization": "GA"}).text
    assert re.findall(r'data-name="([^"]+)"', by_org) == ["population"]
    every = web.get("/open/search").text
    for facet in listing.FACETS:
        assert f'data-facet="{facet}"' in every
    assert "/open/search?open_type=unconditional" in every  # a facet value links to its filter
    for _ in range(2):
        web.get("/open/dataset/enterprises/download.json")
    newest = re.findall(r'data-name="([^"]+)"', web.get("/open/search?sort=newest").text)
    most = re.findall(r'data-name="([^"]+)"', web.get("/open/search?sort=downloads").text)
    assert newest == ["enterprises", "population"] and most == ["enterprises", "population"]
    with web.app.state.db.transaction() as s:
        for _ in range(5):
            usage._bump(
                s, s.scalar(select(Dataset.id).where(Dataset.identifier == "population")), downloads=1
            )
    most = re.findall(r'data-name="([^"]+)"', web.get("/open/search?sort=downloads").text)
    assert most == ["population", "enterprises"]


def test_pages_read_only_the_datasets_they_show(web, monkeypatch):
    """The listing is searched through the index: a page builds the packages it shows, never the
    whole portal (which would cost seconds per page at hundreds of thousands of datasets)."""
    asked: list[list[str]] = []
    real = published.published_releases_of
    monkeypatch.setattr(
        published, "published_releases_of", lambda s, names: asked.append(names) or real(s, names)
    )
    monkeypatch.setattr(packages, "load", lambda *a, **k: pytest.fail("the whole portal was loaded"))
    monkeypatch.setattr(listing, "PER_PAGE", 1)
    packages.LISTING.__init__()  # nothing cached from earlier tests
    first = web.get("/open/search", params={"sort": "newest"}).text
    assert re.findall(r'data-name="([^"]+)"', first) == ["enterprises"] and asked == [["enterprises"]]
    assert "找到 2 个数据集" in first  # counted over both, built for one
    second = web.get("/open/search", params={"sort": "newest", "page": "2"}).text
    assert re.findall(r'data-name="([^"]+)"', second) == ["population"] and asked[-1] == ["population"]
    for path in ["/open", "/open/dataset/enterprises", "/open/organization/SC", "/sitemap.xml"]:
        assert web.get(path).status_code == 200, path
    assert all(len(names) <= 6 for names in asked)  # pages of results, the home page's few


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=99999999999999999999",
        "page=7",
        "sort=random",
        "theme=NO-SUCH",
        "organization=%22%5C",
        "open_type=x&update_frequency=y&format=z",
        "q=%FF%FE%C0",
        "q=" + "长" * 5000,
    ],
)
def test_bad_search_input_is_a_page(web, query):
    r = web.get(f"/open/search?{query}")
    assert r.status_code == 200 and _is_page(r)


@pytest.mark.parametrize(
    "path",
    [
        "/open/dataset/NO-SUCH",
        "/open/dataset/secret_registry",
        "/open/dataset/gone",
        "/open/dataset/enterprises/download.exe",
        "/open/dataset/NO-SUCH/download.csv",
        "/open/dataset/gone/download.parquet",
        "/open/organization/NO-SUCH",
        "/open/theme/NO-SUCH",
    ],
)
def test_unknown_things_are_a_404_page(web, path):
    r = web.get(path, headers={"Accept": "application/json"})
    assert r.status_code == 404 and _is_page(r)
    assert not r.text.lstrip().startswith("{")


def test_dataset_page_shows_everything_of_an_open_dataset(open_world, web):
    html = web.get("/open/dataset/enterprises").text
    table = _released(open_world)
    for part in ('id="preview-table"', 'id="fields"', 'id="metadata"', 'id="api-curl"', 'id="api-python"'):
        assert part in html
    for name in table.column_names:
        assert f"<th>{name}</th>" in html
    for fmt in ("csv", "xlsx", "json", "parquet"):
        assert f'href="/open/dataset/enterprises/download.{fmt}"' in html
    assert "http://testserver/open/dataset/enterprises/download.csv" in html  # the examples are filled in
    assert f"resource_id=enterprises-r{open_world.enterprises_release}" in html
    assert "CC-BY-4.0" in html and "每月" in html
    assert 'id="apply"' not in html


def test_conditional_dataset_shows_metadata_and_an_apply_link_not_data(open_world, web):
    html = web.get("/open/dataset/population").text
    assert 'href="/open/dataset/population/apply"' in html
    assert 'id="preview-table"' not in html and "download.csv" not in html
    r = web.get("/open/dataset/population/download.csv")
    assert r.status_code == 403 and _is_page(r)
    assert _entries(open_world, DOWNLOADED) == [] and _entries(open_world, PREVIEWED) == []


def test_statistics_are_shown_with_their_accuracy_and_none_once_closed(open_world, web):
    spec = {
        "epsilon": 0.5,
        "figures": [{"name": "people_by_gender", "kind": "count", "by": "gender", "groups": ["M", "F"]}],
    }
    with open_world.db.transaction() as s:
        stats.release_statistics(s, open_world.settings, open_world.other_steward, "enterprises", None, spec)
    html = web.get("/open/dataset/enterprises").text
    section = html.split('id="statistics"')[1].split("</section>")[0]
    assert "people_by_gender" in section and "ε = 0.5" in section and "95.0%" in section
    assert section.count("<tr>") == 4  # the header, M, F and the cell of rows in no declared group
    english = web.get("/open/dataset/enterprises", params={"lang": "en"}).text
    assert "differential privacy" in english.split('id="statistics"')[1]
    with open_world.db.transaction() as s:
        s.scalar(select(Dataset).where(Dataset.identifier == "enterprises")).open_type = "none"
    assert web.get("/open/dataset/enterprises").status_code == 404  # off the portal, figures and all
    assert 'id="statistics"' not in web.get("/open/dataset/population").text


# -- downloads ------------------------------------------------------------------------------------


def _filename(r) -> str:
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and 'filename="enterprises-v1.' in disposition
    return unquote(disposition.split("filename*=UTF-8''")[1])


def test_downloads_in_every_format_are_the_release(open_world, web):
    table = _released(open_world)
    expected = table.to_pylist()

    r = web.get("/open/dataset/enterprises/download.csv")
    assert r.headers["content-type"] == "text/csv; charset=utf-8" and _filename(r) == "企业登记名录-v1.csv"
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == table.num_rows and list(rows[0]) == table.column_names
    assert rows[0]["benefit"] == expected[0]["benefit"]

    r = web.get("/open/dataset/enterprises/download.json")
    assert r.headers["content-type"] == "application/json" and _filename(r) == "企业登记名录-v1.json"
    assert [row["benefit"] for row in json.loads(r.content)] == [row["benefit"] for row in expected]

    r = web.get("/open/dataset/enterprises/download.xlsx")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats") and _filename(r).endswith(
        ".xlsx"
    )
    sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True).active
    got = list(sheet.iter_rows(values_only=True))
    assert list(got[0]) == table.column_names and len(got) == table.num_rows + 1

    r = web.get("/open/dataset/enterprises/download.parquet")
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    assert pq.read_table(io.BytesIO(r.content)).equals(table)

    entries = _entries(open_world, DOWNLOADED)
    assert [e["detail"]["format"] for e in entries] == ["csv", "json", "xlsx", "parquet"]
    assert {e["detail"]["via"] for e in entries} == {"portal"}
    assert all(e["detail"]["rows"] == table.num_rows and e["detail"]["client"] for e in entries)
    with open_world.db.read() as s:
        assert usage.counts_of(s, "enterprises").downloads == 4
    assert ">4</b>" in web.get("/open/dataset/enterprises").text


def test_xlsx_past_its_row_limit_is_refused_clearly(open_world, web, monkeypatch):
    monkeypatch.setattr(listing, "XLSX_MAX_ROWS", 10)
    r = web.get("/open/dataset/enterprises/download.xlsx")
    assert r.status_code == 413 and _is_page(r) and "XLSX" in r.text
    assert 'data-format="xlsx"' in web.get("/open/dataset/enterprises").text
    assert 'href="/open/dataset/enterprises/download.xlsx"' not in web.get("/open/dataset/enterprises").text
    assert _entries(open_world, DOWNLOADED) == []


def test_previews_are_audited_once_an_hour_per_client_and_views_counted(open_world, web):
    for _ in range(3):
        assert 'id="preview-table"' in web.get("/open/dataset/enterprises").text
    entries = _entries(open_world, PREVIEWED)
    assert len(entries) == 1
    assert entries[0]["detail"]["dataset"] == "enterprises" and entries[0]["detail"]["rows"] > 0
    with open_world.db.read() as s:
        assert usage.counts_of(s, "enterprises").views == 3
    later = datetime(2030, 1, 1, 10, 5, tzinfo=UTC)
    with open_world.db.transaction() as s:
        assert usage.record_preview(
            s, release_id=open_world.enterprises_release, via="ckan", client="x", rows=1, now=later
        )
        assert not usage.record_preview(
            s,
            release_id=open_world.enterprises_release,
            via="ckan",
            client="x",
            rows=1,
            now=later.replace(minute=59),
        )
    assert len(_entries(open_world, PREVIEWED)) == 2


def test_ckan_download_route_is_audited_and_counted(open_world, web):
    rid = f"enterprises-r{open_world.enterprises_release}"
    r = web.get(f"/dataset/enterprises/resource/{rid}/download/enterprises-v1.parquet")
    assert r.status_code == 200
    [entry] = _entries(open_world, DOWNLOADED)
    assert entry["detail"]["via"] == "ckan" and entry["detail"]["format"] == "parquet"
    with open_world.db.read() as s:
        assert usage.counts_of(s, "enterprises").downloads == 1


def test_downloads_and_dcat_exports_are_rate_limited(open_world):
    settings = open_world.settings
    settings.ckan.burst, settings.ckan.requests_per_minute = 2, 1
    app = create_app(settings, db=open_world.db)
    with TestClient(app, client=("10.0.0.9", 1)) as busy, TestClient(app, client=("10.0.0.8", 1)) as other:
        answers = [busy.get("/open/dataset/enterprises/download.csv") for _ in range(3)]
        assert [a.status_code for a in answers] == [200, 200, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1 and _is_page(answers[-1])
        refused = busy.get("/catalog.jsonld")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert other.get("/data.json").status_code == 200
        assert other.get("/catalog.ttl").status_code == 200
        assert other.get("/catalog.jsonld").status_code == 429
    assert len(_entries(open_world, DOWNLOADED)) == 2


def test_counts_are_atomic_upserts(open_world):
    with open_world.db.transaction() as s:
        ent = s.scalar(select(Dataset.id).where(Dataset.identifier == "enterprises"))
        for _ in range(3):
            usage._bump(s, ent, downloads=1)
        usage.record_view(s, "enterprises")
        usage.record_view(s, "NO-SUCH")
    with open_world.db.read() as s:
        assert usage.counts(s) == {"enterprises": usage.Counts(3, 1)}
        assert usage.counts_of(s, "population") == usage.Counts()


# -- what search engines read ----------------------------------------------------------------------


def _jsonld(html: str) -> dict:
    text = re.search(r'<script type="application/ld\+json" id="jsonld">(.*?)</script>', html, re.S).group(1)
    return json.loads(text)


def test_each_dataset_page_carries_schema_org_dataset_json_ld(open_world, web):
    data = _jsonld(web.get("/open/dataset/enterprises").text)
    assert data["@context"] == "https://schema.org" and data["@type"] == "Dataset"
    for required in ("name", "description", "url", "identifier", "license", "publisher", "dateModified"):
        assert data[required], required
    assert data["name"] == "企业登记名录" and data["url"] == "http://testserver/open/dataset/enterprises"
    assert data["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert {d["encodingFormat"] for d in data["distribution"]} == {
        "text/csv",
        "application/json",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.apache.parquet",
    }
    assert all(
        d["contentUrl"].startswith("http://testserver/open/dataset/enterprises/download.")
        for d in data["distribution"]
    )
    assert {v["name"] for v in data["variableMeasured"]} == set(_released(open_world).column_names)
    conditional = _jsonld(web.get("/open/dataset/population").text)
    assert "distribution" not in conditional and conditional["conditionsOfAccess"]


def test_json_ld_cannot_end_its_script(open_world, web):
    with open_world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == "enterprises"))
        ds.description = "</script><script>alert(1)</script> & more"
    html = web.get("/open/dataset/enterprises").text
    assert "<script>alert(1)" not in html
    assert _jsonld(html)["description"] == "</script><script>alert(1)</script> & more"


def _sitemap(web) -> set[str]:
    r = web.get("/sitemap.xml")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    return set(re.findall(r"<loc>([^<]+)</loc>", r.text))


def test_sitemap_lists_every_published_dataset_and_nothing_else(web):
    locs = _sitemap(web)
    datasets = {loc.rsplit("/", 1)[1] for loc in locs if "/open/dataset/" in loc}
    assert datasets == {"enterprises", "population"}
    assert "http://testserver/open/organization/SC" in locs and "http://testserver/open/theme/safety" in locs
    robots = web.get("/robots.txt").text
    assert (
        "Sitemap: http://testserver/sitemap.xml" in robots and "Disallow: /open/dataset/*/download." in robots
    )


def test_a_withdrawn_dataset_is_gone_from_pages_sitemap_and_downloads(open_world, web):
    assert web.get("/open/dataset/enterprises/download.parquet").status_code == 200
    with open_world.db.transaction() as s:
        releases.withdraw_release(
            s, open_world.other_steward, s.get(Release, open_world.enterprises_release), "复核"
        )
    assert web.get("/open/dataset/enterprises").status_code == 404
    for fmt in ("csv", "json", "xlsx", "parquet"):
        assert web.get(f"/open/dataset/enterprises/download.{fmt}").status_code == 404
    assert "enterprises" not in re.findall(r'data-name="([^"]+)"', web.get("/open/search?q=企业").text)
    assert "http://testserver/open/dataset/enterprises" not in _sitemap(web)
    assert len(_entries(open_world, DOWNLOADED)) == 1


def test_a_release_withdrawn_while_served_is_not_recorded_as_served(open_world):
    with open_world.db.transaction() as s:
        releases.withdraw_release(
            s, open_world.other_steward, s.get(Release, open_world.enterprises_release), "复核"
        )
    with open_world.db.transaction() as s, pytest.raises(Exception, match="No published release"):
        usage.record_download(
            s, release_id=open_world.enterprises_release, format="csv", via="portal", client="x", rows=1
        )
    with open_world.db.read() as s:
        assert (
            s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.event == DOWNLOADED))
            == 0
        )


def test_datastore_reads_are_audited_as_previews(open_world, web):
    rid = f"enterprises-r{open_world.enterprises_release}"
    for _ in range(2):
        r = web.get("/api/3/action/datastore_search", params={"resource_id": rid, "limit": 3})
        assert r.status_code == 200
    [entry] = _entries(open_world, PREVIEWED)
    assert entry["detail"]["via"] == "ckan" and entry["detail"]["rows"] == 3
    r = web.get("/api/3/action/datastore_search_sql", params={"sql": f'SELECT count(*) AS n FROM "{rid}"'})
    assert r.status_code == 200
    assert len(_entries(open_world, PREVIEWED)) == 1  # the same client, release and hour
    with open_world.db.read() as s:
        assert s.scalar(select(func.sum(PreviewWindow.previews))) == 3


def test_a_download_through_the_platform_api_names_its_user(open_world, web, token_for):
    rid = open_world.enterprises_release
    r = web.get(f"/api/v1/opendata/published/{rid}/table", headers=token_for("ga_analyst"))
    assert r.status_code == 200
    [entry] = _entries(open_world, DOWNLOADED)
    assert entry["detail"]["via"] == "api" and entry["user_id"] == open_world.analyst.user_id


def test_each_conversion_gives_its_running_slot_back(open_world):
    settings = open_world.settings
    settings.ckan.calls_at_once = 1
    with TestClient(create_app(settings, db=open_world.db)) as c:
        for fmt in ("csv", "xlsx", "json", "csv", "xlsx", "json"):
            assert c.get(f"/open/dataset/enterprises/download.{fmt}").status_code == 200, fmt
    assert list(settings.staging_dir.glob("*.xlsx")) == []  # no converted file left behind


def test_concurrent_downloads_lose_no_count(open_world):
    from concurrent.futures import ThreadPoolExecutor

    def download(n: int) -> None:
        with open_world.db.write() as s:
            usage.record_download(
                s,
                release_id=open_world.enterprises_release,
                format="csv",
                via="portal",
                client=f"c{n}",
                rows=1,
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(download, range(30)))
    with open_world.db.read() as s:
        assert usage.counts_of(s, "enterprises").downloads == 30
    assert len(_entries(open_world, DOWNLOADED)) == 30
