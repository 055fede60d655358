"""The CKAN Action API's actions: a registry of named functions over published open data, as CKAN has.

Each action takes the call's context and its data dict (query parameters or a JSON body) and returns
the `result`; it refuses bad input with one of CKAN's error types (`ActionError`). Messages are in
English, as CKAN's are: CKAN clients read them (see docs/ckan-api.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from shuzhi import __version__
from shuzhi.config import Settings
from shuzhi.errors import Forbidden, NotFound, ShuzhiError, in_language
from shuzhi.opendata import usage
from shuzhi.opendata.published import release_table_path
from shuzhi.store.db import Database
from shuzhi.web.ckan import datastore, packages, sql

CKAN_VERSION = "2.11.0"


class ActionError(Exception):
    status = 400
    kind = "Bad request"

    def __init__(self, message: str, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}

    def body(self) -> dict:
        return {"__type": self.kind, "message": self.message, **self.fields}


class NotFoundError(ActionError):
    status, kind = 404, "Not Found Error"


class ValidationError(ActionError):
    status, kind = 409, "Validation Error"

    def __init__(self, fields: dict[str, list[str]]):
        first = next(iter(fields.items()))
        super().__init__(f"{first[0]}: {first[1][0]}", fields)


class AuthorizationError(ActionError):
    status, kind = 403, "Authorization Error"


class SearchQueryError(ActionError):
    status, kind = 400, "Search Query Error"


class RateLimited(ActionError):
    status, kind = 429, "Rate Limit Error"

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests from this client; retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Context:
    """What an action works with. Actions open their own short reads of the store (`db.read()`),
    so no transaction stays open while a file is scanned or a query runs."""

    db: Database
    settings: Settings
    site_url: str
    client: str


Action = Callable[[Context, dict], Any]
ACTIONS: dict[str, Action] = {}


def action(fn: Action) -> Action:
    ACTIONS[fn.__name__] = fn
    return fn


def call(name: str, ctx: Context, data: dict) -> Any:
    fn = ACTIONS.get(name)
    if fn is None:
        raise ActionError(f"Bad request - Action name not known: {name}")
    try:
        return fn(ctx, data)
    except NotFound:
        raise NotFoundError("Not found") from None
    except Forbidden:
        # A conditional (有条件开放) release: its metadata is public, its rows are not.
        raise AuthorizationError(
            "Access denied: the data of this resource is open on application only"
        ) from None
    except packages.SearchQueryError as e:
        raise SearchQueryError(f"Search Query is invalid: {e}") from None
    except datastore.DatastoreInvalid as e:
        raise ValidationError(e.errors) from None


# -- parameters -----------------------------------------------------------------------------------


def _int(data: dict, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    value = data.get(name, default)
    if value is None or value == "":
        return default
    try:
        if isinstance(value, bool | float):  # true or 2.5 is no row count, though int() takes them
            raise TypeError
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({name: ["Invalid integer"]}) from None
    if number < low:
        raise ValidationError({name: ["Must be a natural number" if low >= 0 else f"Must be at least {low}"]})
    return min(number, high) if high is not None else number


def _bool(data: dict, name: str, default: bool) -> bool:
    value = data.get(name, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off", ""):
        return False
    raise ValidationError({name: ["Value must be one of: true, false"]})


def _json(data: dict, name: str, default=None):
    """A parameter that may come as JSON text (a query string) or as a JSON value (a body)."""
    value = data.get(name, default)
    if isinstance(value, str) and value.strip()[:1] in ("[", "{", '"'):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            raise ValidationError({name: ["Invalid JSON"]}) from None
    return value


def _text(data: dict, name: str, default: str | None = None, *, required: bool = False) -> str | None:
    value = data.get(name, default)
    if value is None or value == "":
        if required:
            raise ValidationError({name: ["Missing value"]})
        return default
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValidationError({name: ["Must be a string"]})
    return str(value)


def _strings(data: dict, name: str) -> list[str] | None:
    """A list of names: a JSON list, a JSON-encoded one, or comma-separated text."""
    value = _json(data, name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError({name: ["Must be a list of strings"]})
    return value


def _page(items: list, data: dict, default_limit: int | None = None) -> list:
    limit = _int(data, "limit", default_limit if default_limit is not None else len(items))
    offset = _int(data, "offset", 0)
    return items[offset : offset + limit]


# -- packages, organizations, groups, tags --------------------------------------------------------


def _portal(ctx: Context) -> packages.Portal:
    with ctx.db.read() as s:
        return packages.load(s, ctx.site_url)


@action
def package_search(ctx: Context, data: dict) -> dict:
    """Search published datasets: q (words, Chinese too), fq/fq_list (field:value), sort, rows,
    start, facet.field (a JSON list), facet.limit."""
    rows = _int(data, "rows", 10, high=ctx.settings.ckan.search_rows_max)
    start = _int(data, "start", 0)
    fq = [_text(data, "fq", "")] + (_strings(data, "fq_list") or [])
    facet_fields = (_strings(data, "facet.field") or []) if _bool(data, "facet", True) else []
    for f in facet_fields:
        if f not in packages.FACETABLE:
            raise SearchQueryError(f"Search Query is invalid: cannot facet on {f!r}")
    facet_limit = _int(data, "facet.limit", 50, low=-1)
    with ctx.db.read() as s:
        return packages.search_published(
            s,
            ctx.site_url,
            _text(data, "q", ""),
            fq,
            _text(data, "sort", ""),
            rows,
            start,
            facet_fields,
            facet_limit,
        )


def _package(ctx: Context, ref: str) -> dict:
    with ctx.db.read() as s:  # one dataset's releases, not the whole portal's
        found = packages.load(s, ctx.site_url, dataset=ref).by_name.get(ref)
    if found is None:
        raise NotFoundError("Not found")
    return found


@action
def package_show(ctx: Context, data: dict) -> dict:
    """One published dataset by name (or id, the same)."""
    return _package(ctx, _text(data, "id") or _text(data, "name_or_id", required=True))


@action
def package_list(ctx: Context, data: dict) -> list[str]:
    return _page(sorted(_portal(ctx).by_name), data)


@action
def current_package_list_with_resources(ctx: Context, data: dict) -> list[dict]:
    """Published datasets with their resources, most recently modified first (limit, offset or page)."""
    items = _portal(ctx).packages
    if "page" in data:
        limit = _int(data, "limit", 10)
        page = _int(data, "page", 1, low=1)
        return items[(page - 1) * limit : page * limit]
    return _page(items, data)


def _listing(found: dict[str, dict], data: dict) -> list:
    sort = _text(data, "sort", "name asc") or "name asc"
    words = sort.split()
    keys = {
        "name": lambda o: o["name"],
        "title": lambda o: o["title"],
        "package_count": lambda o: o["package_count"],
    }
    if (
        len(words) not in (1, 2)
        or words[0] not in keys
        or (len(words) == 2 and words[1] not in ("asc", "desc"))
    ):
        raise ValidationError({"sort": [f"Invalid sort {sort!r}: name, title or package_count, asc or desc"]})
    items = sorted(found.values(), key=keys[words[0]], reverse=len(words) == 2 and words[1] == "desc")
    items = _page(items, data)
    return items if _bool(data, "all_fields", False) else [o["name"] for o in items]


@action
def organization_list(ctx: Context, data: dict) -> list:
    """Departments that have published datasets (all_fields, sort, limit, offset)."""
    return _listing(_portal(ctx).organizations(), data)


@action
def group_list(ctx: Context, data: dict) -> list:
    """Themes of published datasets, as groups (all_fields, sort, limit, offset)."""
    return _listing(_portal(ctx).groups(), data)


def _show(ctx: Context, data: dict, kind: str) -> dict:
    portal = _portal(ctx)
    found = (portal.organizations() if kind == "organization" else portal.groups()).get(
        _text(data, "id", required=True)
    )
    if found is None:
        raise NotFoundError("Not found")
    if _bool(data, "include_datasets", False):
        key = "organization" if kind == "organization" else "groups"
        found["packages"] = [p for p in portal.packages if found["name"] in packages.field_values(p, key)]
    return found


@action
def organization_show(ctx: Context, data: dict) -> dict:
    return _show(ctx, data, "organization")


@action
def group_show(ctx: Context, data: dict) -> dict:
    return _show(ctx, data, "group")


@action
def tag_list(ctx: Context, data: dict) -> list:
    """Keywords of published datasets (query: a part of the tag; all_fields)."""
    part = (_text(data, "query", "") or "").lower()
    tags = [t for t in _portal(ctx).tags() if part in t.lower()]
    if _bool(data, "all_fields", False):
        return [{"id": t, "name": t, "display_name": t, "vocabulary_id": None} for t in tags]
    return tags


@action
def resource_show(ctx: Context, data: dict) -> dict:
    found = _portal(ctx).resources.get(_text(data, "id", required=True))
    if found is None:
        raise NotFoundError("Not found")
    return found


# -- datastore ------------------------------------------------------------------------------------


def _release(ctx: Context, resource: str | None):
    """The file of the published release a resource id names; Not Found for anything else."""
    release_id = packages.release_of(resource or "")
    dataset = packages.RESOURCE_ID.match(resource)["dataset"] if release_id is not None else None
    if dataset is None:
        raise NotFoundError(f'Resource "{resource}" was not found.')
    with ctx.db.read() as s:
        if resource not in packages.load(s, ctx.site_url, dataset=dataset).resources:
            raise NotFoundError(f'Resource "{resource}" was not found.')
        return release_table_path(s, ctx.settings, release_id, face="datastore")


def _release_path(ctx: Context, release_id: int):
    with ctx.db.read() as s:
        return release_table_path(s, ctx.settings, release_id, face="sql")


def _datastore_query(data: dict, table: datastore.Table, rows_max: int) -> datastore.Query:
    filters = _json(data, "filters")
    if filters is not None and not isinstance(filters, dict):
        raise ValidationError({"filters": ["Not a JSON object"]})
    filters = {k: v if isinstance(v, list) else [v] for k, v in (filters or {}).items()}
    for k, values in filters.items():
        if any(isinstance(v, dict | list) for v in values):
            raise ValidationError({"filters": [f"field {k!r}: values must be plain (text, numbers)"]})
    q = _json(data, "q")
    if q is not None and not isinstance(q, str | dict):
        raise ValidationError({"q": ["Must be text or a JSON object"]})
    records_format = _text(data, "records_format", "objects")
    if records_format not in datastore.RECORDS_FORMATS:
        raise ValidationError({"records_format": [f"Must be one of {', '.join(datastore.RECORDS_FORMATS)}"]})
    sort = datastore.parse_sort(_text(data, "sort", "") or "", table.names)
    cursor_text = _text(data, "cursor")
    if cursor_text and data.get("offset") not in (None, "", 0, "0"):
        raise ValidationError({"cursor": ["Give a cursor or an offset, not both"]})
    return datastore.Query(
        fields=_strings(data, "fields"),
        filters=filters,
        q=q,
        sort=sort,
        limit=_int(data, "limit", 100, high=rows_max),
        offset=_int(data, "offset", 0),
        cursor=datastore.decode_cursor(cursor_text, sort) if cursor_text else None,
        include_total=_bool(data, "include_total", True),
        records_format=records_format,
    )


@action
def datastore_search(ctx: Context, data: dict) -> dict:
    """Rows of a published release: filters, q, fields, sort, limit, offset, include_total,
    records_format; `_links.next` continues after the last row (a keyset cursor)."""
    resource = _text(data, "resource_id") or _text(data, "id", required=True)
    table = datastore.Table(_release(ctx, resource))
    query = _datastore_query(data, table, ctx.settings.ckan.datastore_rows_max)
    page, total = table.search(query)
    names = table.check(query)
    _previewed(ctx, [resource], page.num_rows)
    out = {
        "resource_id": resource,
        "fields": table.field_list(names),
        "records": datastore.records(page, names, query.records_format),
        "limit": query.limit,
        "offset": query.offset,
        "sort": datastore.sort_text(query.sort or []),
        "records_format": query.records_format,
        "_links": _links(data, query, page),
    }
    if query.filters:
        out["filters"] = {k: v[0] if len(v) == 1 else v for k, v in query.filters.items()}
    if query.q:
        out["q"] = query.q
    if total is not None:
        out["total"] = total
        out["total_was_estimated"] = False
    return out


def _links(data: dict, query: datastore.Query, page) -> dict:
    """CKAN's `_links`: `start` (this search from its beginning) and `next`, the rows after this
    page's last one (a keyset cursor; with no rows on this page, this same page again)."""
    base = "/api/3/action/datastore_search"
    kept = {
        k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
        for k, v in data.items()
        if k not in ("offset", "cursor", "include_total")
    }
    if page.num_rows:
        values, row_id = datastore.last_key(page, query.sort or [])
        following = {"cursor": datastore.encode_cursor(query.sort or [], values, row_id)}
    elif query.cursor:
        following = {"cursor": data["cursor"]}
    else:
        following = {"offset": query.offset}
    return {
        "start": f"{base}?{urlencode(kept)}",
        "next": f"{base}?{urlencode({**kept, 'include_total': 'false', **following})}",
    }


@action
def datastore_info(ctx: Context, data: dict) -> dict:
    resource = _text(data, "id") or _text(data, "resource_id", required=True)
    table = datastore.Table(_release(ctx, resource))
    return {"meta": {"count": table.rows}, "fields": table.field_list(table.names)}


@action
def datastore_search_sql(ctx: Context, data: dict) -> dict:
    """One SELECT over published releases of unconditionally open datasets, each a table named by
    its resource id (a conditional dataset's releases are refused as not authorized)."""
    statement = _text(data, "sql", required=True)
    portal = _portal(ctx)
    tables = [
        sql.PublishedTable(r["id"], r["release_id"], [(f["id"], f["type"]) for f in r["fields"]])
        for p in portal.packages
        if p["isopen"]
        for r in p["resources"]
    ]
    try:
        result, read = sql.run(
            ctx.settings,
            statement,
            tables,
            lambda release_id: _release_path(ctx, release_id),
            owner=(f"ckan:{ctx.client}", "ckan-public"),
        )
    except sql.NotPublished as e:
        raise AuthorizationError(f"Not authorized to read resource(s): {e}") from None
    except ShuzhiError as e:
        if e.status in (429, 503):
            raise
        message = in_language(e.message, "en")
        hint = in_language(e.hint, "en") if e.hint else ""
        raise ValidationError({"query": [f"{message}{' — ' + hint if hint else ''}"]}) from None
    _previewed(ctx, read, result.table.num_rows)
    table = result.table.rename_columns(_unique(result.table.column_names))
    return {
        "sql": statement,
        "fields": sql.field_list(table.schema),
        "records": datastore.records(table, table.column_names, "objects"),
        "records_truncated": result.truncated,
    }


def _previewed(ctx: Context, resources: list[str], rows: int) -> None:
    """Rows of releases leave through the datastore: audited like the portal's previews (one entry
    per client, release and hour)."""
    with ctx.db.write() as s:
        for resource in dict.fromkeys(resources):
            release_id = packages.release_of(resource)
            if release_id is not None:
                usage.record_preview(s, release_id=release_id, via="ckan", client=ctx.client, rows=rows)


def _unique(names: list[str]) -> list[str]:
    """Column names made distinct (a query may name two columns alike; records are objects)."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n}_{seen[n] - 1}")
    return out


# -- site -----------------------------------------------------------------------------------------


@action
def status_show(ctx: Context, data: dict) -> dict:
    return {
        "site_title": ctx.settings.ckan.site_title,
        "site_url": ctx.site_url,
        "site_description": "",
        "ckan_version": CKAN_VERSION,
        "shuzhi_version": __version__,
        "error_emails_to": None,
        "locale_default": "zh_Hans_CN",
        "extensions": ["datastore"],
    }


@action
def site_read(ctx: Context, data: dict) -> bool:
    return True


@action
def help_show(ctx: Context, data: dict) -> str:
    fn = ACTIONS.get(_text(data, "name", required=True))
    if fn is None:
        raise NotFoundError("Action function not found")
    return (fn.__doc__ or "").strip()
