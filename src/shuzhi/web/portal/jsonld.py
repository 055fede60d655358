"""schema.org `Dataset` descriptions of portal datasets, for dataset search engines (JSON-LD in the page)."""

from __future__ import annotations

import json
from urllib.parse import quote

from shuzhi.catalog import vocab
from shuzhi.web.portal.files import MEDIA_TYPES
from shuzhi.web.portal.listing import Entry

LICENCES = {
    "CC-BY-4.0": "https://creativecommons.org/licenses/by/4.0/",
    "CC0-1.0": "https://creativecommons.org/publicdomain/zero/1.0/",
    "CC-BY-SA-4.0": "https://creativecommons.org/licenses/by-sa/4.0/",
}


def dataset_page(site: str, name: str) -> str:
    return f"{site}/open/dataset/{quote(name, safe='')}"


def dataset(entry: Entry, site: str, conditions: str) -> dict:
    """The dataset as schema.org describes one: name and description (both required by dataset
    search), its publisher, licence, keywords, coverage, variables and, when it is open to all, its
    downloads (else `conditions`, how to get them)."""
    p, x = entry.package, entry.extras
    page = dataset_page(site, p["name"])
    theme = x.get("theme")
    description = p["notes"] or p["title"]
    out: dict = {
        "@context": "https://schema.org",
        "@type": "Dataset",
        "@id": page,
        "name": p["title"],
        "alternateName": [t for t in (p.get("title_en"),) if t],
        "description": description,
        "url": page,
        "identifier": p["name"],
        "version": p["version"],
        "inLanguage": "zh-CN",
        "keywords": [t["name"] for t in p["tags"]] + ([vocab.label("theme", theme, "zh")] if theme else []),
        "publisher": {"@type": "Organization", "name": p["organization"]["title"]},
        "creator": {"@type": "Organization", "name": p["organization"]["title"]},
        "datePublished": p["metadata_created"],
        "dateModified": p["metadata_modified"],
        "isAccessibleForFree": True,
        "variableMeasured": [
            {
                "@type": "PropertyValue",
                "name": f["id"],
                **({"description": f["info"]["notes"]} if f["info"]["notes"] else {}),
            }
            for f in entry.newest["fields"]
        ],
        "interactionStatistic": {
            "@type": "InteractionCounter",
            "interactionType": "https://schema.org/DownloadAction",
            "userInteractionCount": entry.downloads,
        },
    }
    if p["license_id"] != "notspecified":
        out["license"] = LICENCES.get(p["license_id"], p["license_id"])
    if p.get("maintainer"):
        out["publisher"]["contactPoint"] = {
            "@type": "ContactPoint",
            "name": p["maintainer"],
            **({"email": p["maintainer_email"]} if p.get("maintainer_email") else {}),
        }
    if x.get("temporal_start") or x.get("temporal_end"):
        out["temporalCoverage"] = f"{x.get('temporal_start') or '..'}/{x.get('temporal_end') or '..'}"
    if x.get("spatial"):
        out["spatialCoverage"] = {"@type": "Place", "name": x["spatial"]}
    if entry.downloadable:
        out["distribution"] = [
            {
                "@type": "DataDownload",
                "encodingFormat": MEDIA_TYPES[fmt].split(";")[0],
                "contentUrl": f"{page}/download.{fmt}",
                "name": f"{p['title']} ({fmt.upper()})",
            }
            for fmt in entry.formats()
        ]
    else:
        out["conditionsOfAccess"] = conditions
    return out


def script(data: dict) -> str:
    """The JSON text to put in a <script type="application/ld+json">: nothing in it can end the script."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
