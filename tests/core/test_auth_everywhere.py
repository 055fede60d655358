"""Every endpoint except the declared public ones refuses an anonymous caller."""

import re

from shuzhi.web.app import route_table

# Public by design: the login page, language switch, static files, API docs, the liveness and
# readiness probes, the ledger's public verification material (public key, signed tree heads), and the
# DCAT exports of the published open-data catalog (docs/dcat.md), and the open-data portal.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/lang/{lang}"),
    ("GET", "/"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/catalog.ttl"),
    ("GET", "/catalog.jsonld"),
    ("GET", "/data.json"),
    ("GET", "/api/3"),  # the CKAN-compatible API's root (its version)
    ("GET", "/api"),
    # The open-data portal (docs/opendata-portal.md): published data only, each download audited.
    ("GET", "/open"),
    ("GET", "/open/search"),
    ("GET", "/open/dataset/{identifier}"),
    ("GET", "/open/dataset/{identifier}/download.{fmt}"),
    ("GET", "/open/organization/{code}"),
    ("GET", "/open/theme/{theme}"),
    ("GET", "/sitemap.xml"),
    ("GET", "/robots.txt"),
    # the open-data portal's own accounts: registering and logging in as a member of the public
    ("GET", "/open/register"),
    ("POST", "/open/register"),
    ("GET", "/open/login"),
    ("POST", "/open/login"),
    ("POST", "/open/logout"),
}
PUBLIC_PREFIXES = (
    "/api/v1/ledger/",  # public key, signed tree heads, consistency proofs (as CT logs)
    "/api/3/action/",  # the CKAN-compatible Action API over published open data
    "/api/action/",
    "/dataset/{package}/resource/",  # its resources' files (published releases only)
)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_anonymous_callers_are_refused_everywhere(client, app):
    checked = 0
    for method, path in route_table(app):
        if (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES):
            continue
        r = client.request(method, _concrete(path), follow_redirects=False)
        if path.startswith("/api/"):
            # 422 would mean the body was validated before the caller was known: still nothing done,
            # but we want authentication first, so only 401 passes.
            assert r.status_code == 401, f"{method} {path} answered {r.status_code}"
        else:
            assert r.status_code in (303, 401, 403), f"{method} {path} answered {r.status_code}"
            if r.status_code == 303:
                # the portal's account pages send the anonymous to the portal's own login
                login = "/open/login" if path.startswith("/open/") else "/login"
                assert r.headers["location"].startswith(login)
        checked += 1
    assert checked >= 10
