"""DCAT exports of the published catalog: valid DCAT-AP 3.0.1 (SHACL) and DCAT-US 1.1 (JSON Schema),
paged, public, and showing only what is published."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pyshacl import validate
from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import RDF, SH
from sqlalchemy import select
from tests.opendata.conftest import add_dataset, plan, population

from shuzhi.catalog import vocab
from shuzhi.catalog.models import Dataset
from shuzhi.opendata import releases
from shuzhi.opendata.dcat import dcat_us, mappings
from shuzhi.opendata.dcat.builder import CatalogPage
from shuzhi.opendata.dcat.settings import DcatSettings
from shuzhi.opendata.models import Release
from shuzhi.orgs.models import Department

STANDARDS = Path(os.environ.get("SHUZHI_STANDARDS_DIR") or "/nonexistent")
"""The official DCAT-AP 3.0.1 shapes (`dcat-ap-3.0.1/dcat-ap-SHACL.ttl`, `ranges.ttl`, from SEMICeu/DCAT-AP
`releases/3.0.1/shacl/`) and the DCAT-US 1.1 JSON Schemas (`dcat-us-1.1/*.json`, from
project-open-data `v1.1/schema/`), kept outside the project as their publishers ship them: the
validations run where SHUZHI_STANDARDS_DIR names them (`.ci/run` sets it where they are present)."""
needs_standards = pytest.mark.skipif(
    not (STANDARDS / "dcat-ap-3.0.1").is_dir(),
    reason="SHUZHI_STANDARDS_DIR does not name the DCAT-AP / DCAT-US standards",
)
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCAT = Namespace("http://www.w3.org/ns/dcat#")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    """The official shapes and range shapes together (ranges.ttl extends the same node shapes). The
    published 3.0.1 files name five property shapes they never define (on the Dataset, Distribution
    and Relationship shapes); a validator cannot run an undefined shape, so those references go."""
    g = Graph()
    for name in ("dcat-ap-SHACL.ttl", "ranges.ttl"):
        g.parse(STANDARDS / "dcat-ap-3.0.1" / name)
    dangling = [(s, o) for s, o in g.subject_objects(SH.property) if (o, SH.path, None) not in g]
    assert len(dangling) <= 7, dangling  # the known defects, not a broken copy
    for s, o in dangling:
        g.remove((s, SH.property, o))
    return g


@pytest.fixture(scope="module")
def data_json_validator():
    folder = STANDARDS / "dcat-us-1.1"
    schemas = {p.name: json.loads(p.read_text("utf-8")) for p in folder.glob("*.json")}
    registry = jsonschema_rs.Registry([(s["id"].rstrip("#"), s) for s in schemas.values()])
    return jsonschema_rs.Draft4Validator(schemas["catalog.json"], registry=registry, validate_formats=True)


def name_of(uri) -> str:
    """The dataset identifier in a dataset's URI (…/datasets/<identifier>#dataset)."""
    return str(uri).rsplit("/", 1)[-1].removesuffix("#dataset")


def publish(world, identifier: str = "population") -> int:
    """A real release of the dataset: prepared by one steward, approved by another."""
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, identifier, plan=plan()).id
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, world.steward2, s.get(Release, rid))
    return rid


def publish_copy(world, identifier: str, of_release: int) -> None:
    """A published release for a further dataset, sharing a real release's file (many datasets, fast)."""
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == identifier))
        src = s.get(Release, of_release)
        s.add(
            Release(
                dataset_id=ds.id,
                version_id=ds.versions[-1].id,
                version_number=ds.versions[-1].number,
                state="published",
                plan=src.plan,
                path=src.path,
                sha256=src.sha256,
                byte_size=src.byte_size,
                row_count=src.row_count,
                public_fields=src.public_fields,
                report=src.report,
                published_at=src.published_at,
            )
        )


def describe(world, identifier: str, **attrs) -> None:
    with world.db.transaction() as s:
        ds = s.scalar(select(Dataset).where(Dataset.identifier == identifier))
        for k, v in attrs.items():
            setattr(ds, k, v)
        s.scalar(select(Department).where(Department.code == "GA")).name_en = "Public Security Bureau"


@pytest.fixture
def catalog(world):
    """Two published datasets, one fully described, one barely; one dataset never released."""
    from datetime import date

    describe(
        world,
        "population",
        title_en="Population register",
        description="人口登记(脱敏)",
        keywords=["人口", "户籍"],
        licence="CC-BY 4.0",
        contact_name="数据科",
        contact_email="data@ga.example.gov.cn",
        update_frequency="monthly",
        temporal_start=date(2020, 1, 1),
        temporal_end=date(2024, 12, 31),
        spatial="330100",
    )
    first = publish(world)
    add_dataset(world.db, world.settings, world.steward, "roads", "unconditional", population(30, seed=5))
    describe(world, "roads", licence="本市公共数据开放协议")
    publish_copy(world, "roads", first)
    add_dataset(world.db, world.settings, world.steward, "unreleased", "conditional", population(30))
    return first


def shacl_report(data: Graph, shapes: Graph) -> tuple[list[str], list[str]]:
    """(violations, warnings) of the data graph under the DCAT-AP shapes."""
    _, results, _ = validate(data, shacl_graph=shapes, inference="none", advanced=True)
    found = {"violation": [], "warning": []}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).rsplit("#", 1)[-1].lower()
        what = f"{results.value(result, SH.focusNode)} {results.value(result, SH.resultPath)}: "
        found.setdefault(severity, []).append(what + str(results.value(result, SH.resultMessage)))
    return found["violation"], found["warning"]


@needs_standards
def test_turtle_and_jsonld_conform_to_dcat_ap(catalog, client, shapes):
    graphs = {}
    for path, fmt in (("/catalog.ttl", "turtle"), ("/catalog.jsonld", "json-ld")):
        r = client.get(path)  # no login
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"].startswith("public, max-age=")
        graphs[fmt] = Graph().parse(data=r.content, format=fmt)
        violations, warnings = shacl_report(graphs[fmt], shapes)
        assert violations == [], violations
        if warnings:
            print(f"{path}: {len(warnings)} SHACL warnings", *warnings, sep="\n  ")
    g = graphs["turtle"]
    assert len(g) == len(graphs["json-ld"])
    datasets = set(g.subjects(RDF.type, DCAT.Dataset))
    assert {name_of(d) for d in datasets} == {"population", "roads"}
    pop = URIRef("http://testserver/datasets/population#dataset")
    themes = {str(t) for t in g.objects(pop, DCAT.theme)}
    assert themes == {"http://publications.europa.eu/resource/authority/data-theme/JUST"}
    titles = {(str(t), t.language) for t in g.objects(pop, URIRef("http://purl.org/dc/terms/title"))}
    assert titles == {("测试population", "zh"), ("Population register", "en")}
    (dist,) = g.objects(pop, DCAT.distribution)
    licences = {str(o) for o in g.objects(dist, URIRef("http://purl.org/dc/terms/license"))}
    assert licences == {"http://publications.europa.eu/resource/authority/licence/CC_BY_4_0"}
    # population is open on condition: no public download is advertised, only its page
    assert g.value(dist, DCAT.downloadURL) is None
    assert str(g.value(dist, DCAT.accessURL)) == "http://testserver/datasets/population"
    file_path = f"/dataset/population/resource/population-r{catalog}/download/population-v1.parquet"
    assert client.get(file_path).status_code == 403
    roads = URIRef("http://testserver/datasets/roads#dataset")
    (open_dist,) = g.objects(roads, DCAT.distribution)
    url = str(g.value(open_dist, DCAT.downloadURL))
    assert url.startswith("http://testserver/dataset/roads/resource/roads-r")
    assert str(g.value(open_dist, DCAT.accessURL)) == url
    got = client.get(url.removeprefix("http://testserver"))  # anyone, without logging in
    assert got.status_code == 200 and got.content[:4] == b"PAR1"


@needs_standards
def test_data_json_conforms_to_dcat_us(catalog, client, data_json_validator):
    r = client.get("/data.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    errors = [f"{e.instance_path}: {e.message}" for e in data_json_validator.iter_errors(doc)]
    assert errors == [], errors
    by_id = {name_of(d["identifier"]): d for d in doc["dataset"]}
    assert set(by_id) == {"population", "roads"}
    pop, roads = by_id["population"], by_id["roads"]
    assert pop["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert pop["accessLevel"] == "restricted public" and pop["accrualPeriodicity"] == "R/P1M"
    assert pop["temporal"] == "2020-01-01/2024-12-31"
    assert roads["accessLevel"] == "public" and roads["rights"] == "本市公共数据开放协议"
    assert roads["contactPoint"]["hasEmail"] == "mailto:opendata@example.gov.cn"
    (pop_dist,), (roads_dist,) = pop["distribution"], roads["distribution"]
    assert "downloadURL" not in pop_dist and pop_dist["accessURL"].endswith("/datasets/population")
    assert roads_dist["downloadURL"].startswith("http://testserver/dataset/roads/resource/")


def test_every_page_walks_each_dataset_once(world, client, settings):
    settings.dcat.per_page = 2
    first = publish(world)
    for i in range(4):
        add_dataset(world.db, world.settings, world.steward, f"extra{i}", "conditional", population(20))
        publish_copy(world, f"extra{i}", first)
    expected = {"population", *(f"extra{i}" for i in range(4))}

    seen, url, pages = [], "http://testserver/catalog.ttl?page=1", 0
    while url:
        g = Graph().parse(data=client.get(url).content, format="turtle")
        page = URIRef(url)
        assert g.value(page, RDF.type) == HYDRA.PagedCollection
        assert int(g.value(page, HYDRA.totalItems)) == 5
        seen += [name_of(d) for d in g.subjects(RDF.type, DCAT.Dataset)]
        nxt = g.value(page, HYDRA.nextPage)
        url, pages = (str(nxt) if nxt else None), pages + 1
    assert sorted(seen) == sorted(expected) and pages == 3
    assert str(g.value(page, HYDRA.previousPage)).endswith("?page=2")

    seen, url = [], "/data.json"
    while url:
        r = client.get(url)
        seen += [name_of(d["identifier"]) for d in r.json()["dataset"]]
        url = r.links.get("next", {}).get("url")
    assert sorted(seen) == sorted(expected)

    past = client.get("/catalog.jsonld?page=4")
    assert past.status_code == 404 and past.json()["where"] == "page"
    assert client.get("/data.json?page=0").status_code == 422  # JSON, not a page: a machine path


def test_only_published_data_and_withdrawn_release_disappears(world, client):
    assert client.get("/data.json").json()["dataset"] == []
    with world.db.transaction() as s:
        rid = releases.prepare_release(s, world.settings, world.steward, "population", plan=plan()).id
    assert client.get("/data.json").json()["dataset"] == []  # pending is not published
    with world.db.transaction() as s:
        releases.approve_release(s, world.settings, world.steward2, s.get(Release, rid))
    listed = client.get("/data.json").json()["dataset"]
    assert [name_of(d["identifier"]) for d in listed] == ["population"]
    with world.db.transaction() as s:
        releases.withdraw_release(s, world.admin, s.get(Release, rid), "复核")
    assert client.get("/data.json").json()["dataset"] == []
    g = Graph().parse(data=client.get("/catalog.ttl").content, format="turtle")
    assert not list(g.subjects(RDF.type, DCAT.Dataset))


def test_every_theme_and_frequency_is_mapped():
    assert set(mappings.THEMES) == set(vocab.codes("theme"))
    assert set(mappings.THEMES.values()) <= set(mappings.EU_THEME_LABELS)
    assert set(mappings.FREQUENCIES) == set(vocab.codes("update_frequency"))


@pytest.mark.parametrize(
    "text, eu",
    [
        ("CC-BY 4.0", "CC_BY_4_0"),
        ("cc by 4.0", "CC_BY_4_0"),
        ("CC0 1.0", "CC0"),
        ("ODbL", "ODC_ODBL"),
        ("https://creativecommons.org/licenses/by/4.0", "CC_BY_4_0"),
    ],
)
def test_licences_are_named_in_any_spelling(text, eu):
    assert mappings.licence(text).eu == mappings.LICENCE + "/" + eu


def test_an_unknown_licence_is_no_licence_uri():
    assert mappings.licence("本市公共数据开放协议") is None
    assert mappings.licence("https://data.example.gov.cn/licence").eu is None


words = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40).filter(str.strip)


@needs_standards
@hypothesis_settings(max_examples=60, deadline=None)
@given(
    licence=st.none() | words,
    keywords=st.lists(words, max_size=3),
    title_en=st.none() | words,
    contact_name=st.none() | words,
    theme=st.sampled_from(vocab.codes("theme")),
    frequency=st.sampled_from(vocab.codes("update_frequency")),
    open_type=st.sampled_from(["unconditional", "conditional"]),
)
def test_data_json_stays_valid_whatever_the_record_says(data_json_validator, **record):
    """Any record the catalog accepts gives a data.json entry the DCAT-US schemas accept."""
    release = {
        "release_id": 7,
        "dataset": "ds.1",
        "title_zh": "标题",
        "title_en": record["title_en"],
        "description": "",
        "department": "GA",
        "department_name": "公安局",
        "department_name_en": None,
        "theme": record["theme"],
        "keywords": [k.strip() for k in record["keywords"]],
        "open_type": record["open_type"],
        "licence": record["licence"],
        "contact_name": record["contact_name"],
        "contact_email": None,
        "update_frequency": record["frequency"],
        "temporal_start": "2020-01-01",
        "temporal_end": None,
        "spatial": None,
        "version": 2,
        "published_at": "2026-01-02T03:04:05+00:00",
        "byte_size": 10,
        "sha256": "0" * 64,
        "media_type": "application/vnd.apache.parquet",
    }
    page = CatalogPage(
        "https://data.example.gov.cn",
        "/data.json",
        1,
        1,
        [{**release, "releases": [release]}],
        DcatSettings(),
    )
    doc = dcat_us.catalog_json(page)
    assert [e.message for e in data_json_validator.iter_errors(doc)] == []
    assert (mappings.licence(record["licence"]) is None) == ("license" not in doc["dataset"][0])
