"""Routes of the public open-data portal: /open pages, downloads, /sitemap.xml and /robots.txt (no login).

Every page reads published data only (through `opendata.published` and the CKAN face built on it);
every download and preview of rows is throttled per client, checked again as published and written
to the ledger (`opendata.usage`) before a byte of data leaves.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response, StreamingResponse

from shuzhi.catalog import vocab
from shuzhi.errors import Forbidden, NotFound, Throttled, TooLarge
from shuzhi.i18n import M_
from shuzhi.opendata import applications, published, usage
from shuzhi.opendata.access import ANONYMOUS, Reader
from shuzhi.opendata.published import release_table_path
from shuzhi.storage import version_store
from shuzhi.web.ckan.ratelimit import client_key, public_limiter, throttle
from shuzhi.web.portal import files, jsonld, listing
from shuzhi.web.portal_account import Viewer, apply_path
from shuzhi.web.templating import templates

router = APIRouter(include_in_schema=False)

PREVIEW_ROWS = 10
HOME_LIST = 6


def site_url(request: Request) -> str:
    """The site's public address: `dcat.site_url` when set (behind a proxy), else the one asked."""
    configured = getattr(getattr(request.app.state.settings, "dcat", None), "site_url", None)
    return str(configured or request.base_url).rstrip("/")


@contextmanager
def _catalog(request: Request) -> Iterator[listing.Catalog]:
    """The portal's listing, for a page built while the read lasts."""
    with request.app.state.db.read() as s:
        yield listing.load(s, site_url(request))


def _entry(request: Request, identifier: str) -> listing.Entry:
    with _catalog(request) as catalog:
        entry = catalog.entry(identifier)
    if entry is None:
        raise NotFound(M_("No published dataset %(name)s", name=identifier[:200]), where="dataset")
    return entry


def _page(request: Request, template: str, *, status: int = 200, **context) -> Response:
    return templates.TemplateResponse(
        request, f"portal/{template}", {"site": site_url(request), **context}, status_code=status
    )


@router.get("/open")
def home(request: Request) -> Response:
    with _catalog(request) as catalog:
        context = dict(
            size=catalog.size,
            downloads=catalog.downloads,
            latest=catalog.latest(HOME_LIST),
            popular=catalog.most_downloaded(HOME_LIST),
            themes=catalog.counted("theme"),
            orgs=catalog.counted("organization"),
            org_names=catalog.org_names(),
        )
    return _page(request, "home.html", **context)


def _search_page(request: Request, query: listing.Query, *, code: str | None = None, **context) -> Response:
    with _catalog(request) as catalog:
        names = catalog.org_names()
        if code is not None and code not in names:
            raise NotFound(
                M_("No department publishes open data under %(code)s", code=code[:100]), where="organization"
            )
        results = listing.search(catalog, query)
    return _page(
        request,
        "search.html",
        query=query,
        results=results,
        org_names=names,
        facets=listing.FACETS,
        sorts=list(listing.SORTS),
        **context,
    )


@router.get("/open/search")
def search(request: Request) -> Response:
    return _search_page(request, listing.Query.of(request.query_params))


@router.get("/open/organization/{code}")
def organization(code: str, request: Request) -> Response:
    query = listing.Query.of(request.query_params)
    query.filters["organization"] = code
    return _search_page(
        request,
        query,
        code=code,
        heading=("organization", code),
        base=f"/open/organization/{quote(code, safe='')}",
    )


@router.get("/open/theme/{theme}")
def theme(theme: str, request: Request) -> Response:
    if theme not in vocab.codes("theme"):
        raise NotFound(M_("No theme %(theme)s", theme=theme[:100]), where="theme")
    query = listing.Query.of(request.query_params)
    query.filters["theme"] = theme
    return _search_page(
        request,
        query,
        heading=("theme", theme),
        base=f"/open/theme/{quote(theme, safe='')}",
    )


def _granted(request: Request, entry: listing.Entry, applicant) -> bool:
    """Whether the logged-in portal user may download the conditional dataset's newest release now
    (an approved application in its period): for the page to offer it; the download checks again."""
    if entry.downloadable or applicant is None:
        return False
    with request.app.state.db.read() as s:
        user = s.get(applications.PortalUser, applicant.id)
        return applications.reader_may_download(s, user, entry.newest["release_id"])


@router.get("/open/dataset/{identifier}")
def dataset(identifier: str, request: Request, applicant: Viewer) -> Response:
    entry = _entry(request, identifier)
    db, settings = request.app.state.db, request.app.state.settings
    granted = _granted(request, entry, applicant)
    columns, rows = [], []
    if entry.downloadable:
        # The preview is rows leaving: throttled, checked and audited like a download.
        throttle(request)
        release = entry.newest["release_id"]
        with db.read() as s:
            path = release_table_path(s, settings, release)
        columns, rows = files.preview(path, PREVIEW_ROWS)
        with db.write() as s:
            usage.record_preview(
                s, release_id=release, via="portal", client=client_key(request), rows=len(rows)
            )
            usage.record_view(s, entry.name)
    else:
        with db.write() as s:
            usage.record_view(s, entry.name)
    entry.views += 1
    with db.read() as s:
        statistics = published.published_statistics(s, entry.name)
    site = site_url(request)
    return _page(
        request,
        "dataset.html",
        entry=entry,
        granted=granted,
        applicant=applicant,
        columns=columns,
        rows=rows,
        statistics=statistics,
        preview_rows=PREVIEW_ROWS,
        xlsx_max=listing.XLSX_MAX_ROWS,
        formats=listing.DOWNLOAD_FORMATS,
        resource_id=entry.newest["id"],
        jsonld=lambda conditions: jsonld.script(jsonld.dataset(entry, site, conditions)),
        quote=lambda v: quote(v, safe=""),
    )


@router.get("/open/dataset/{identifier}/download.{fmt}")
def download(identifier: str, fmt: str, request: Request, applicant: Viewer) -> Response:
    if fmt not in listing.DOWNLOAD_FORMATS:
        raise NotFound(M_("No download format %(format)s", format=fmt[:20]), where="format")
    throttle(request)
    entry = _entry(request, identifier)
    reader = ANONYMOUS
    if not entry.downloadable:
        if not _granted(request, entry, applicant):
            return _refused(request, entry)
        reader = Reader(portal_user_id=applicant.id)
    newest = entry.newest
    if fmt == "xlsx" and (newest["row_count"] or 0) > listing.XLSX_MAX_ROWS:
        raise TooLarge(
            M_(
                "This release has %(rows)s rows, more than an XLSX sheet holds (%(max)s): download CSV or Parquet",
                rows=newest["row_count"],
                max=listing.XLSX_MAX_ROWS,
            )
        )
    return _serve(request, entry, fmt, reader)


def _refused(request: Request, entry: listing.Entry) -> Response:
    """Conditional data asked for by someone not approved for it: a page, 403, pointing to the application."""
    error = Forbidden(
        M_("%(name)s is open on conditions: apply for it to get its data", name=entry.name),
        where="dataset",
    )
    return _page(request, "refused.html", entry=entry, error=error, apply=apply_path(entry.name), status=403)


def _serve(request: Request, entry: listing.Entry, fmt: str, reader: Reader = ANONYMOUS) -> Response:
    db, settings = request.app.state.db, request.app.state.settings
    newest, client = entry.newest, client_key(request)
    if reader.anonymous:
        with db.read() as s:
            path = release_table_path(s, settings, newest["release_id"])
    else:  # an applicant's read: checked again and written to the ledger, naming the application
        with db.write() as s:
            path = release_table_path(s, settings, newest["release_id"], reader=reader, face="download")
    title = entry.package["title"].replace("/", "_").replace("\\", "_")
    suffix = f"-v{newest['version']}.{fmt}"
    headers = {"Content-Disposition": files.disposition(title + suffix, entry.name + suffix)}
    media = files.MEDIA_TYPES[fmt]
    if fmt == "parquet":  # the file as it is: no work of ours to bound
        _record(db, newest, fmt, client)
        return FileResponse(path, media_type=media, headers=headers)
    # A conversion is one of the client's calls running until its last byte is sent.
    limiter = public_limiter(request.app.state)
    if not limiter.start(client):
        raise Throttled(M_("too many requests: retry in %(retry)s s", retry=1), retry_after=1)
    body = _Body(lambda: limiter.finish(client))
    try:
        body.chunks = _converted(path, fmt, settings, body)
        _record(db, newest, fmt, client)
    except BaseException:
        body.close()
        raise
    return StreamingResponse(body, media_type=media, headers=headers)


def _record(db, newest: dict, fmt: str, client: str) -> None:
    with db.write() as s:
        usage.record_download(
            s,
            release_id=newest["release_id"],
            format=fmt,
            via="portal",
            client=client,
            rows=newest["row_count"],
        )


def _converted(path, fmt: str, settings, body: _Body):
    if fmt == "csv":
        return files.csv_chunks(path)
    if fmt == "json":
        return files.json_chunks(path)
    with version_store(settings).staging() as area:  # a private work area no sweep takes meanwhile
        built = files.xlsx_file(path, area.dir)
        handle = built.open("rb")
        built.unlink()  # nothing left behind, whatever happens to the response: read through the open handle
    body.on_close(handle.close)
    return iter(lambda: handle.read(files.CHUNK_BYTES), b"")


class _Body:
    """A streamed body that runs its clean-ups once: when sent, closed, or dropped unsent (a client
    gone before the first byte)."""

    def __init__(self, *cleanups) -> None:
        self.chunks, self._cleanups = iter(()), list(cleanups)

    def on_close(self, cleanup) -> None:
        self._cleanups.append(cleanup)

    def __iter__(self):
        try:
            yield from self.chunks
        finally:
            self.close()

    def close(self) -> None:
        cleanups, self._cleanups = self._cleanups, []
        for cleanup in cleanups:
            cleanup()

    def __del__(self) -> None:
        self.close()


@router.get("/sitemap.xml")
def sitemap(request: Request) -> Response:
    """Every public page of the portal: home, search, each published dataset, department and theme."""
    site = site_url(request)
    urls = [(f"{site}/open", None), (f"{site}/open/search", None)]
    with _catalog(request) as catalog:
        index = catalog.index
        urls += [(jsonld.dataset_page(site, n), m) for n, m in zip(index.names, index.modified, strict=True)]
        urls += [(f"{site}/open/organization/{quote(c, safe='')}", None) for c in catalog.org_names()]
        urls += [(f"{site}/open/theme/{quote(t, safe='')}", None) for t, _ in catalog.counted("theme")]
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    lines.append(
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">'
    )
    for loc, modified in urls:
        lines.append(f"<url><loc>{escape(loc)}</loc>")
        if modified:
            lines.append(f"<lastmod>{escape(modified[:10])}</lastmod>")
        for lang, suffix in (("zh-CN", "zh"), ("en", "en")):
            lines.append(
                f'<xhtml:link rel="alternate" hreflang="{lang}" href="{escape(loc)}?lang={suffix}"/>'
            )
        lines.append("</url>")
    lines.append("</urlset>")
    return Response("\n".join(lines) + "\n", media_type="application/xml")


@router.get("/robots.txt")
def robots(request: Request) -> Response:
    """Crawlers welcome on the portal's pages; not on downloads (each is a counted, audited transfer)
    nor on the staff pages behind the login."""
    site = site_url(request)
    text = "\n".join(
        [
            "User-agent: *",
            "Allow: /open",
            "Disallow: /open/dataset/*/download.",
            "Allow: /catalog.jsonld",
            "Allow: /catalog.ttl",
            "Allow: /data.json",
            "Disallow: /",
            f"Sitemap: {site}/sitemap.xml",
            "",
        ]
    )
    return PlainTextResponse(text)
