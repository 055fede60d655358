"""The SQL workbench page: an editor beside the datasets and fields one may query, result pages
sorted and paged by the governed query itself, downloads, and one's own recent queries."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request

from shuzhi import textlimits as limits
from shuzhi.errors import ShuzhiError
from shuzhi.exchange import service, workbench
from shuzhi.exchange.aliases import plain_name
from shuzhi.exchange.policy import caret_padding
from shuzhi.orgs.service import Principal
from shuzhi.store.db import Database
from shuzhi.web.deps import get_db, page_principal
from shuzhi.web.pages.exchange import starter_query
from shuzhi.web.responses import respond
from shuzhi.web.templating import request_lang, templates

router = APIRouter(prefix="/exchange", include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]

DOWNLOADS = ("csv", "xlsx", "parquet")
"""What the workbench downloads (CSV with a byte order mark, for spreadsheet programs)."""


def sql_name(name: str) -> str:
    """A field name as it can be written in a query: as is when plain, else double-quoted."""
    return name if _PLAIN.fullmatch(name) and plain_name(name) else '"' + name.replace('"', '""') + '"'


_PLAIN = re.compile(r"[a-z_][a-z0-9_]*")


@router.get("/workbench")
def workbench_page(
    request: Request, principal: Viewer, db: Db, sql: Annotated[str, Query(max_length=limits.SQL)] = ""
):
    # `sql` fills the editor (the dataset page's "query directly", a grant's starter, the history).
    return _render(request, principal, db, sql=sql)


def _order(value: str) -> workbench.Order | None:
    """`3:desc` / `3:asc` -> sort by the result's fourth column; anything else, no sort."""
    column, _, direction = value.partition(":")
    if not column.isascii() or not column.isdigit() or int(column) > 10_000:
        return None
    return workbench.Order(int(column), descending=direction == "desc")


@router.post("/workbench")
def run(
    request: Request,
    principal: Viewer,
    db: Db,
    sql: Annotated[str, Form(max_length=limits.SQL)],
    format: Annotated[str, Form(max_length=limits.CODE)] = "table",
    offset: Annotated[int, Form(ge=0, le=limits.INT32_MAX)] = 0,
    order: Annotated[str, Form(max_length=limits.CODE)] = "",
    sort_by: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    """Run the query: a page of its result (`offset`, `order`; a column header's `sort_by` sorts
    from the first page), or the whole result as a download."""
    settings = request.app.state.settings
    try:
        if format in DOWNLOADS:
            read = service.run_sql(db, settings, principal, sql)
            return respond(read, format, max_bytes=int(settings.exchange.max_response_bytes), for_people=True)
        if sort_by:
            order, offset = sort_by, 0
        result = workbench.sql_page(
            db,
            settings,
            principal,
            sql,
            size=settings.exchange.workbench_rows,
            offset=offset,
            order=_order(order),
        )
    except ShuzhiError as e:
        return _render(request, principal, db, sql=sql, error=e, status=e.status)
    return _render(request, principal, db, sql=sql, result=result)


def _render(request, principal, db, *, sql, result=None, error=None, status=200):
    settings = request.app.state.settings
    lang = request_lang(request)
    with db.read() as s:
        datasets = workbench.queryable(s, settings, principal, lang)
        history = workbench.recent_queries(s, principal)
    schema = [
        {
            "q": q,
            "starter": starter_query(q.dataset.identifier, [f.name for f in q.fields], alias=q.alias),
            "fields": [(f, sql_name(f.name)) for f in q.fields],
        }
        for q in datasets
    ]
    return templates.TemplateResponse(
        request,
        "workbench.html",
        {
            "sql": sql,
            "schema": schema,
            "history": history,
            "result": result,
            "error": error,
            "error_line": _error_line(sql, error),
        },
        status_code=status,
    )


def _error_line(sql: str, error: ShuzhiError | None) -> dict | None:
    """Where a syntax error is, for the page to mark: its line, column and that line's text."""
    if error is None or "line" not in error.detail:
        return None
    lines = sql.splitlines() or [""]
    line = error.detail["line"]
    if not 1 <= line <= len(lines):
        return None
    col = max(int(error.detail.get("col", 1)), 1)
    text = lines[line - 1]
    return {"line": line, "col": col, "text": text, "pad": caret_padding(text[: col - 1])}
