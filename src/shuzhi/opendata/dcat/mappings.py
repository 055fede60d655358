"""How the catalog's vocabularies map to the DCAT ones: themes, update frequencies, licences, open types.

The tables are documented in docs/dcat.md; keep the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EU = "http://publications.europa.eu/resource/authority/"
DATA_THEME = EU + "data-theme"
FREQUENCY = EU + "frequency"
LICENCE = EU + "licence"
ACCESS_RIGHT = EU + "access-right"
LANGUAGE = EU + "language"
FILE_TYPE = EU + "file-type"

THEMES = {
    "credit": "ECON",
    "health": "HEAL",
    "employment": "SOCI",
    "market": "ECON",
    "finance": "ECON",
    "transport": "TRAN",
    "resources": "ENVI",
    "housing": "REGI",
    "education": "EDUC",
    "safety": "JUST",
    "civil": "SOCI",
    "science": "TECH",
    "environment": "ENVI",
    "agriculture": "AGRI",
    "population": "SOCI",
    "statistics": "GOVE",
}
"""Our theme code -> the closest EU data theme (the EU list has 13 broad themes; ours are finer)."""

EU_THEME_LABELS = {
    "AGRI": "Agriculture, fisheries, forestry and food",
    "ECON": "Economy and finance",
    "EDUC": "Education, culture and sport",
    "ENVI": "Environment",
    "GOVE": "Government and public sector",
    "HEAL": "Health",
    "JUST": "Justice, legal system and public safety",
    "REGI": "Regions and cities",
    "SOCI": "Population and society",
    "TECH": "Science and technology",
    "TRAN": "Transport",
}

FREQUENCIES = {
    "realtime": ("UPDATE_CONT", "R/PT1S"),
    "daily": ("DAILY", "R/P1D"),
    "weekly": ("WEEKLY", "R/P1W"),
    "monthly": ("MONTHLY", "R/P1M"),
    "quarterly": ("QUARTERLY", "R/P3M"),
    "yearly": ("ANNUAL", "R/P1Y"),
    "irregular": ("IRREG", "irregular"),
}
"""Our update frequency -> (EU frequency code, DCAT-US accrualPeriodicity in ISO 8601)."""

ACCESS = {"unconditional": ("PUBLIC", "public"), "conditional": ("RESTRICTED", "restricted public")}
"""Our open type -> (EU access right, DCAT-US accessLevel). 不予开放 datasets are never exported."""


@dataclass(frozen=True)
class Licence:
    eu: str | None
    """The licence in the EU licence vocabulary (DCAT-AP), when it is there."""
    url: str
    """The licence's own address (DCAT-US `license`)."""


_LICENCES = [
    ("CC_BY_4_0", "https://creativecommons.org/licenses/by/4.0/", ("ccby40", "ccby", "ccattribution40")),
    ("CC_BYSA_4_0", "https://creativecommons.org/licenses/by-sa/4.0/", ("ccbysa40", "ccbysa")),
    ("CC0", "https://creativecommons.org/publicdomain/zero/1.0/", ("cc0", "cc010", "cczero")),
    ("ODC_ODBL", "https://opendatacommons.org/licenses/odbl/1-0/", ("odbl", "odbl10", "odcodbl")),
    ("ODC_BY", "https://opendatacommons.org/licenses/by/1-0/", ("odcby", "odcby10")),
    ("ODC_PDDL", "https://opendatacommons.org/licenses/pddl/1-0/", ("pddl", "odcpddl", "pddl10")),
]
_BY_ALIAS = {
    alias: Licence(EU + "licence/" + code, url) for code, url, aliases in _LICENCES for alias in aliases
}
_BY_URL = {lic.url.rstrip("/"): lic for lic in _BY_ALIAS.values()}


def licence(text: str | None) -> Licence | None:
    """The licence a dataset's free-text licence names: a known name in any spelling ("CC-BY 4.0",
    "cc by 4.0"), or an address (kept as it is); None when it names none we know (the text is then
    exported as a statement of rights)."""
    if not text or not text.strip():
        return None
    text = text.strip()
    if re.match(r"^https?://\S+$", text):
        return _BY_URL.get(text.rstrip("/"), Licence(None, text))
    return _BY_ALIAS.get(re.sub(r"[^a-z0-9]", "", text.lower().replace("licence", "").replace("license", "")))
