"""The catalog search's query parameters, read the same way by the API and the pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from fastapi import Query

from shuzhi import textlimits as limits
from shuzhi.catalog.search import SORTS
from shuzhi.textlimits import Code

FILTER_VALUES = 50
"""Values one facet filter may list."""

Sort = Literal[tuple(SORTS)]


@dataclass
class CatalogQuery:
    """What to search for: the text, one list of values per facet, the order."""

    q: str
    filters: dict[str, list[str]]
    sort: str


def catalog_query(
    q: str = Query(
        "", max_length=limits.SEARCH, description="全文检索，支持中文 (full-text query, Chinese aware)"
    ),
    department: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    theme: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    share_type: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    open_type: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    security_grade: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    format: list[Code] = Query(default=[], max_length=FILTER_VALUES),
    sort: Sort | None = Query(
        None,
        description="排序 (order): " + ", ".join(SORTS) + "; 默认有检索词时按相关度，否则按标识 "
        "(default: relevance with a query, identifier without)",
    ),
) -> CatalogQuery:
    filters = {
        "department": department,
        "theme": theme,
        "share_type": share_type,
        "open_type": open_type,
        "security_grade": security_grade,
        "format": format,
    }
    return CatalogQuery(q=q, filters=filters, sort=sort or ("relevance" if q.strip() else "identifier"))
