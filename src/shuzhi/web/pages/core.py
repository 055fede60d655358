"""Pages of the foundation: login, language switch, catalog search, dataset and department pages."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from shuzhi import textlimits as limits
from shuzhi.catalog import search as catalog_search
from shuzhi.catalog import service as catalog
from shuzhi.errors import Throttled
from shuzhi.orgs import service as orgs
from shuzhi.orgs import throttle
from shuzhi.orgs.models import LoginSession
from shuzhi.orgs.service import Principal
from shuzhi.store.base import utcnow
from shuzhi.web.catalog_query import CatalogQuery, catalog_query
from shuzhi.web.deps import (
    SESSION_COOKIE,
    WRITE,
    get_db,
    page_principal,
    read_session,
)
from shuzhi.web.templating import LANGS, templates

router = APIRouter(include_in_schema=False)

# Double-submit cookie: before login there is no session to hold a CSRF token, so the form carries the
# same random value as this cookie; a cross-site form cannot read the cookie to copy it.
LOGIN_CSRF_COOKIE = "login_csrf"


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL here would make the login page an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/lang/{lang}")
def switch_language(lang: str, next: str | None = None):
    resp = RedirectResponse(_safe_next(next), status_code=303)
    if lang in LANGS:
        resp.set_cookie("lang", lang, max_age=365 * 86400, samesite="lax")
    return resp


def _login_page(request: Request, *, status_code: int = 200, **ctx):
    """The login form with a fresh double-submit token in both the cookie and a hidden field."""
    token = secrets.token_urlsafe(24)
    ctx = {"failed": False, "csrf_failed": False, "throttled": None, **ctx, "login_csrf": token}
    resp = templates.TemplateResponse(request, "login.html", ctx, status_code=status_code)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie(request))
    return resp


@router.get("/login")
def login_form(request: Request, next: str | None = None):
    return _login_page(request, next=_safe_next(next))


def secure_cookie(request: Request) -> bool:
    """Whether cookies are marked Secure: as the `auth.secure_cookies` setting says, or, on 'auto',
    when the request came over https (behind a proxy: as the server's forwarded headers report it)."""
    mode = request.app.state.settings.auth.secure_cookies
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


@router.post("/login")
def login(
    request: Request,
    username: str = Form(..., max_length=limits.USERNAME),
    password: str = Form(..., max_length=limits.PASSWORD),
    next: str = Form("/", max_length=limits.URL),
    login_csrf: str = Form("", max_length=limits.TOKEN),
    db=Depends(get_db),
):
    settings = request.app.state.settings
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (cookie and login_csrf and secrets.compare_digest(cookie, login_csrf)):
        return _login_page(
            request, status_code=403, next=_safe_next(next), csrf_failed=True, username=username
        )
    try:
        clear = throttle.sign_in(
            db,
            username,
            password,
            address=request.client.host if request.client else None,
            auth=settings.auth,
            issue=lambda session, user: orgs.start_login_session(session, user, hours=settings.session_hours)[
                1
            ],
        )
    except Throttled as refused:
        resp = _login_page(
            request, status_code=429, next=_safe_next(next), throttled=refused.retry_after, username=username
        )
        resp.headers["Retry-After"] = str(refused.retry_after)
        return resp
    if clear is None:
        return _login_page(request, status_code=401, next=_safe_next(next), failed=True, username=username)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    # Strict: a page of another site that links or navigates here (a GET that reads data and counts
    # against the user's quota) arrives without the session; the login's own redirect is same-site.
    resp.set_cookie(
        SESSION_COOKIE,
        clear,
        httponly=True,
        samesite="strict",
        secure=secure_cookie(request),
        max_age=settings.session_hours * 3600,
    )
    return resp


@router.post("/logout")
def logout(
    request: Request,
    session: Session = WRITE,
    principal: Principal = Depends(page_principal),
):
    orgs.end_login_session(session, session.get(LoginSession, request.state.login.id))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict", secure=secure_cookie(request))
    return resp


@router.get("/catalog")
def catalog_page(
    request: Request,
    query: CatalogQuery = Depends(catalog_query),
    page: int = Query(1, ge=1, le=limits.JSON_INT_MAX),
    session: Session = Depends(read_session),
    principal: Principal = Depends(page_principal),
):
    q, filters = query.q, query.filters
    per_page = 20
    res = catalog_search.search(
        session, q, filters=filters, limit=per_page, offset=(page - 1) * per_page, sort=query.sort
    )
    pages = max(1, -(-res.total // per_page))
    if page > pages:  # past the end (a stale link, a hand-typed number): the last page instead
        return RedirectResponse(str(request.url.include_query_params(page=pages)), status_code=303)
    depts = {d.code: d for d in orgs.list_departments(session)}

    def toggle(facet: str, value: str) -> str:
        """The URL of this search with one facet value switched on or off."""
        current = {k: list(v) for k, v in filters.items()}
        vals = current[facet]
        current[facet] = [v for v in vals if v != value] if value in vals else vals + [value]
        params = [("q", q)] + [(k, v) for k, vs in current.items() for v in vs] + [("sort", query.sort)]
        return "/catalog?" + urlencode(params)

    return templates.TemplateResponse(
        request,
        "catalog.html",
        {
            "q": q,
            "result": res,
            "filters": filters,
            "depts": depts,
            "toggle": toggle,
            "page": page,
            "pages": pages,
            "sort": query.sort,
            "sorts": catalog_search.SORTS,
            "latest": catalog.latest_numbers(session, [d.id for d in res.datasets]),
        },
    )


@router.get("/datasets/{ref}")
def dataset_page(
    ref: str,
    request: Request,
    reveal: bool = False,
    session: Session = Depends(read_session),
    principal: Principal = Depends(page_principal),
    db=Depends(get_db),
):
    return render_dataset_page(request, session, principal, db, ref, reveal=reveal)


def render_dataset_page(
    request: Request, session: Session, principal: Principal, db, ref: str, *, reveal=False, status=200
):
    """The dataset page; forms of other domains on it come back here with their errors (`status`)."""
    ds = catalog.get_dataset(session, ref)
    versions = list(reversed(ds.versions))
    latest = versions[0] if versions else None
    values = catalog.ProfileValues.for_viewer(
        session, request.app.state.settings, principal, ds, reveal=reveal
    )
    shown = catalog.visible_profile(principal, ds, latest.profile, values) if latest else {}
    columns = shown.get("columns", [])
    if latest:
        catalog.audit_profile_values(db, principal, ds, [latest], channel="page", values=values)
    return templates.TemplateResponse(
        request,
        "dataset.html",
        {
            "ds": ds,
            "versions": versions,
            "latest": latest,
            "profile": {c["name"]: c for c in columns},
            "sensitive_masked": shown.get("sensitive_masked") or [],
            "values_hidden": bool(shown.get("values_hidden")),
            "next_update": catalog.next_update(ds.update_frequency, latest.created_at if latest else None),
            "now": utcnow(),
            "revealed": values.reveal,
            "can_manage": catalog.can_manage(principal, ds),
            "sections": dataset_sections(request, session, principal, ds),
            "actions": _collect("dataset_page_actions", request, session, principal, ds),
        },
        status_code=status,
    )


def dataset_sections(request: Request, session: Session, principal: Principal, ds) -> list[str]:
    """HTML fragments other domains add to the dataset page (grading, sharing…)."""
    return _collect("dataset_page_sections", request, session, principal, ds)


def _collect(hook: str, request: Request, session: Session, principal: Principal, ds) -> list[str]:
    from shuzhi.hooks import plugin_manager

    results = getattr(plugin_manager().hook, hook)(
        request=request, session=session, principal=principal, dataset=ds
    )
    return [html for group in results for html in (group or [])]


@router.get("/departments")
def departments_page(
    request: Request,
    session: Session = Depends(read_session),
    principal: Principal = Depends(page_principal),
):
    """Every department as a tree (province, city, district), each with its registered datasets."""
    depts = orgs.list_departments(session)
    counts = catalog_search.search(session, "", limit=0).facets.get("department", {})
    return templates.TemplateResponse(
        request,
        "departments.html",
        {"roots": [d for d in depts if d.parent is None], "counts": counts, "total": len(depts)},
    )


@router.get("/departments/{code}")
def department_page(
    code: str,
    request: Request,
    session: Session = Depends(read_session),
    principal: Principal = Depends(page_principal),
):
    dept = orgs.get_department(session, code)
    res = catalog_search.search(session, "", filters={"department": [code]}, limit=200)
    return templates.TemplateResponse(
        request,
        "department.html",
        {
            "dept": dept,
            "path": orgs.department_path(dept),
            "datasets": res.datasets,
            "users": orgs.list_users(session, code)
            if principal.has("admin", "auditor") or principal.department_id == dept.id
            else [],
        },
    )
