"""The DCAT-AP 3.0.1 profile: a page of the published catalog as an RDF graph (Turtle or JSON-LD), with
Hydra paging as CKAN's DCAT extension writes it."""

from __future__ import annotations

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from shuzhi.catalog import vocab
from shuzhi.opendata.dcat import mappings as m
from shuzhi.opendata.dcat.builder import CatalogPage

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
DCAT3 = Namespace(str(DCAT))
"""DCAT 3 terms rdflib's closed DCAT 2 namespace lacks (dcat:version)."""
IANA_MEDIA = "https://www.iana.org/assignments/media-types/"

PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "skos": SKOS,
    "vcard": VCARD,
    "spdx": SPDX,
    "hydra": HYDRA,
    "xsd": XSD,
}
FORMATS = {"turtle": "text/turtle", "json-ld": "application/ld+json"}


def serialise(page: CatalogPage, fmt: str) -> bytes:
    """The page in `fmt` (turtle or json-ld), as UTF-8."""
    g = catalog_graph(page)
    if fmt == "json-ld":
        return g.serialize(format="json-ld", context={k: str(v) for k, v in PREFIXES.items()}).encode()
    return g.serialize(format="turtle", encoding="utf-8")


def catalog_graph(page: CatalogPage) -> Graph:
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    catalog = URIRef(page.catalog_uri)
    s = page.settings
    g.add((catalog, RDF.type, DCAT.Catalog))
    _texts(g, catalog, DCTERMS.title, s.title_zh, s.title_en)
    _texts(g, catalog, DCTERMS.description, s.description_zh, s.description_en)
    publisher = URIRef(f"{page.base}/#publisher")
    g.add((catalog, DCTERMS.publisher, publisher))
    _agent(g, publisher, s.publisher_zh, s.publisher_en)
    g.add((catalog, FOAF.homepage, _typed(g, f"{page.base}/", FOAF.Document)))
    for code in ("ZHO", "ENG"):
        g.add((catalog, DCTERMS.language, _typed(g, f"{m.LANGUAGE}/{code}", DCTERMS.LinguisticSystem)))
    taxonomy = _typed(g, m.DATA_THEME, SKOS.ConceptScheme)
    g.add((taxonomy, DCTERMS.title, Literal("Data theme", lang="en")))
    g.add((catalog, DCAT.themeTaxonomy, taxonomy))
    if page.modified:
        g.add((catalog, DCTERMS.modified, Literal(page.modified, datatype=XSD.dateTime)))
    for ds in page.datasets:
        g.add((catalog, DCAT.dataset, _dataset(g, page, ds)))
    _paging(g, page)
    return g


def _dataset(g: Graph, page: CatalogPage, ds: dict) -> URIRef:
    node = URIRef(page.dataset_uri(ds))
    g.add((node, RDF.type, DCAT.Dataset))
    g.add((node, DCTERMS.identifier, Literal(ds["dataset"])))
    _texts(g, node, DCTERMS.title, ds["title_zh"], ds["title_en"])
    _texts(g, node, DCTERMS.description, ds["description"] or ds["title_zh"], None)
    for word in ds["keywords"]:
        g.add((node, DCAT.keyword, Literal(word, lang="zh")))
    publisher = URIRef(page.publisher_uri(ds))
    _agent(g, publisher, ds["department_name"], ds["department_name_en"])
    g.add((publisher, DCTERMS.identifier, Literal(ds["department"])))
    g.add((node, DCTERMS.publisher, publisher))
    _contact(g, node, ds)
    _theme(g, node, ds["theme"])
    eu_frequency, _ = m.FREQUENCIES[ds["update_frequency"]]
    g.add((node, DCTERMS.accrualPeriodicity, _typed(g, f"{m.FREQUENCY}/{eu_frequency}", DCTERMS.Frequency)))
    access, _ = m.ACCESS[ds["open_type"]]
    g.add((node, DCTERMS.accessRights, _typed(g, f"{m.ACCESS_RIGHT}/{access}", DCTERMS.RightsStatement)))
    g.add((node, DCTERMS.language, _typed(g, f"{m.LANGUAGE}/ZHO", DCTERMS.LinguisticSystem)))
    g.add((node, DCAT.landingPage, _typed(g, page.landing_page(ds), FOAF.Document)))
    g.add((node, DCAT3.version, Literal(str(ds["version"]))))
    g.add((node, DCTERMS.modified, Literal(ds["published_at"], datatype=XSD.dateTime)))
    first = ds["releases"][-1]["published_at"] if ds["releases"] else ds["published_at"]
    g.add((node, DCTERMS.issued, Literal(first, datatype=XSD.dateTime)))
    _temporal(g, node, ds)
    if ds["spatial"]:
        place = BNode()
        g.add((place, RDF.type, DCTERMS.Location))
        g.add((place, SKOS.prefLabel, Literal(ds["spatial"], lang="zh")))
        g.add((node, DCTERMS.spatial, place))
    for release in ds["releases"]:
        g.add((node, DCAT.distribution, _distribution(g, page, ds, release)))
    return node


def _distribution(g: Graph, page: CatalogPage, ds: dict, release: dict) -> URIRef:
    node = URIRef(page.distribution_uri(ds, release))
    g.add((node, RDF.type, DCAT.Distribution))
    version = release["version"]
    g.add((node, DCTERMS.title, Literal(f"{ds['title_zh']}(第 {version} 版)", lang="zh")))
    if ds["title_en"]:
        g.add((node, DCTERMS.title, Literal(f"{ds['title_en']} (version {version})", lang="en")))
    g.add((node, DCAT.accessURL, URIRef(page.access_url(ds, release))))
    download = page.download_url(release)
    if download is not None:
        g.add((node, DCAT.downloadURL, URIRef(download)))
    g.add((node, DCAT.mediaType, _typed(g, IANA_MEDIA + release["media_type"], DCTERMS.MediaType)))
    g.add((node, DCTERMS["format"], _typed(g, f"{m.FILE_TYPE}/PARQUET", DCTERMS.MediaTypeOrExtent)))
    g.add((node, DCAT.byteSize, Literal(release["byte_size"], datatype=XSD.nonNegativeInteger)))
    g.add((node, DCTERMS.issued, Literal(release["published_at"], datatype=XSD.dateTime)))
    checksum = BNode()
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, _typed(g, SPDX.checksumAlgorithm_sha256, SPDX.ChecksumAlgorithm)))
    g.add((checksum, SPDX.checksumValue, Literal(release["sha256"], datatype=XSD.hexBinary)))
    g.add((node, SPDX.checksum, checksum))
    _licence(g, node, ds["licence"])
    return node


def _licence(g: Graph, node: URIRef, text: str | None) -> None:
    found = m.licence(text)
    if found is not None:
        g.add((node, DCTERMS.license, _typed(g, found.eu or found.url, DCTERMS.LicenseDocument)))
    elif text and text.strip():
        # A licence we cannot name: its words, as the dataset's record gives them.
        doc = BNode()
        g.add((doc, RDF.type, DCTERMS.LicenseDocument))
        g.add((doc, DCTERMS.title, Literal(text.strip(), lang="zh")))
        g.add((node, DCTERMS.license, doc))


def _theme(g: Graph, node: URIRef, theme: str) -> None:
    code = m.THEMES[theme]
    concept = _typed(g, f"{m.DATA_THEME}/{code}", SKOS.Concept)
    g.add((concept, SKOS.inScheme, URIRef(m.DATA_THEME)))
    g.add((concept, SKOS.prefLabel, Literal(m.EU_THEME_LABELS[code], lang="en")))
    g.add((node, DCAT.theme, concept))
    # Our finer theme stays readable as keywords in both languages.
    g.add((node, DCAT.keyword, Literal(vocab.label("theme", theme, "zh"), lang="zh")))
    g.add((node, DCAT.keyword, Literal(vocab.label("theme", theme, "en"), lang="en")))


def _contact(g: Graph, node: URIRef, ds: dict) -> None:
    if not (ds["contact_name"] or ds["contact_email"]):
        return
    card = BNode()
    g.add((card, RDF.type, VCARD.Kind))
    g.add((card, VCARD.fn, Literal(ds["contact_name"] or ds["department_name"], lang="zh")))
    if ds["contact_email"]:
        g.add((card, VCARD.hasEmail, URIRef(f"mailto:{ds['contact_email']}")))
    g.add((node, DCAT.contactPoint, card))


def _temporal(g: Graph, node: URIRef, ds: dict) -> None:
    if not (ds["temporal_start"] or ds["temporal_end"]):
        return
    period = BNode()
    g.add((period, RDF.type, DCTERMS.PeriodOfTime))
    if ds["temporal_start"]:
        g.add((period, DCAT.startDate, Literal(ds["temporal_start"], datatype=XSD.date)))
    if ds["temporal_end"]:
        g.add((period, DCAT.endDate, Literal(ds["temporal_end"], datatype=XSD.date)))
    g.add((node, DCTERMS.temporal, period))


def _paging(g: Graph, page: CatalogPage) -> None:
    """Hydra paging: the page itself, with the total and the addresses of the first, last, previous
    and next pages (CKAN's DCAT extension: `hydra:PagedCollection`)."""
    node = URIRef(page.page_url(page.page))
    g.add((node, RDF.type, HYDRA.PagedCollection))
    g.add((node, HYDRA.totalItems, Literal(page.total, datatype=XSD.integer)))
    g.add((node, HYDRA.itemsPerPage, Literal(page.per_page, datatype=XSD.integer)))
    g.add((node, HYDRA.firstPage, URIRef(page.page_url(1))))
    g.add((node, HYDRA.lastPage, URIRef(page.page_url(page.last_page))))
    if page.next_page:
        g.add((node, HYDRA.nextPage, URIRef(page.page_url(page.next_page))))
    if page.previous_page:
        g.add((node, HYDRA.previousPage, URIRef(page.page_url(page.previous_page))))


def _agent(g: Graph, node: URIRef, name_zh: str, name_en: str | None) -> None:
    g.add((node, RDF.type, FOAF.Agent))
    g.add((node, RDF.type, FOAF.Organization))
    _texts(g, node, FOAF.name, name_zh, name_en)


def _texts(g: Graph, node, prop, zh: str, en: str | None) -> None:
    g.add((node, prop, Literal(zh, lang="zh")))
    if en:
        g.add((node, prop, Literal(en, lang="en")))


def _typed(g: Graph, uri: str, cls: URIRef) -> URIRef:
    """An IRI of a controlled vocabulary, typed as the class DCAT-AP expects of the value."""
    ref = URIRef(uri)
    g.add((ref, RDF.type, cls))
    return ref
