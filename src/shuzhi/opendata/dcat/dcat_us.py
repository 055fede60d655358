"""The DCAT-US 1.1 profile (Project Open Data `data.json`): a page of the published catalog as JSON."""

from __future__ import annotations

from shuzhi.catalog import vocab
from shuzhi.opendata.dcat import mappings as m
from shuzhi.opendata.dcat.builder import CatalogPage

CONFORMS_TO = "https://project-open-data.cio.gov/v1.1/schema"
CONTEXT = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
DESCRIBED_BY = "https://project-open-data.cio.gov/v1.1/schema/catalog.json"


def catalog_json(page: CatalogPage) -> dict:
    """The data.json of one page. Paging is outside DCAT-US: the page's place is given in the HTTP
    `Link` header, and here, in the catalog object, as `@id` (this page) — harvesters ignore what they
    do not know."""
    return {
        "@context": CONTEXT,
        "@id": page.page_url(page.page),
        "@type": "dcat:Catalog",
        "conformsTo": CONFORMS_TO,
        "describedBy": DESCRIBED_BY,
        "dataset": [_dataset(page, ds) for ds in page.datasets],
    }


def _dataset(page: CatalogPage, ds: dict) -> dict:
    s = page.settings
    _, access = m.ACCESS[ds["open_type"]]
    _, periodicity = m.FREQUENCIES[ds["update_frequency"]]
    out = {
        "@type": "dcat:Dataset",
        "identifier": page.dataset_uri(ds),
        "title": ds["title_zh"],
        "description": ds["description"] or ds["title_zh"],
        "keyword": ds["keywords"] or [vocab.label("theme", ds["theme"], "zh")],
        "modified": ds["published_at"],
        "issued": ds["releases"][-1]["published_at"] if ds["releases"] else ds["published_at"],
        "publisher": _publisher(ds, s.publisher_zh),
        "contactPoint": {
            "@type": "vcard:Contact",
            "fn": ds["contact_name"] or ds["department_name"],
            "hasEmail": f"mailto:{ds['contact_email'] or s.contact_email}",
        },
        "accessLevel": access,
        "bureauCode": [s.bureau_code],
        "programCode": [s.program_code],
        "accrualPeriodicity": periodicity,
        "language": ["zh"],
        "theme": [vocab.label("theme", ds["theme"], "en")],
        "landingPage": page.landing_page(ds),
        "distribution": [_distribution(page, ds, r) for r in ds["releases"]],
    }
    licence = m.licence(ds["licence"])
    if licence is not None:
        out["license"] = licence.url
    elif ds["licence"] and ds["licence"].strip():
        out["rights"] = ds["licence"].strip()[:255]
    if ds["temporal_start"] and ds["temporal_end"]:
        out["temporal"] = f"{ds['temporal_start']}/{ds['temporal_end']}"
    if ds["spatial"]:
        out["spatial"] = ds["spatial"]
    return out


def _publisher(ds: dict, parent: str) -> dict:
    return {
        "@type": "org:Organization",
        "name": ds["department_name"],
        "subOrganizationOf": {"@type": "org:Organization", "name": parent},
    }


def _distribution(page: CatalogPage, ds: dict, release: dict) -> dict:
    out = {"@type": "dcat:Distribution", "title": f"{ds['title_zh']}(第 {release['version']} 版)"}
    download = page.download_url(release)
    if download is not None:
        out |= {"downloadURL": download, "mediaType": release["media_type"]}
    else:
        # A conditional dataset's data is handed out on approved application only: its page.
        out |= {"accessURL": page.access_url(ds, release)}
    return out | {"format": "Parquet"}
