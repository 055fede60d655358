"""Pages of the open-data portal's own accounts (no staff login): register, log in and out, apply for a
conditional dataset, follow one's applications and download what an approval allows.

A portal login is its own cookie (`shuzhi_portal`), looked up in the portal's sessions only: it never
makes the browser a staff member, and a staff login never makes it an applicant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, Response

from shuzhi import textlimits as limits
from shuzhi.errors import Forbidden, InvalidInput, NotFound, ShuzhiError, Throttled
from shuzhi.i18n import M_, N_
from shuzhi.opendata import applications, published
from shuzhi.opendata.access import Reader
from shuzhi.opendata.application_models import PortalSession, PortalUser
from shuzhi.store.base import utcnow
from shuzhi.store.db import Database
from shuzhi.textlimits import Id, Name
from shuzhi.web import flash
from shuzhi.web.ckan.ratelimit import throttle
from shuzhi.web.deps import get_db
from shuzhi.web.pages.core import secure_cookie
from shuzhi.web.pages.opendata_applications import STATE_LABELS
from shuzhi.web.templating import templates

router = APIRouter(prefix="/open", include_in_schema=False)

PORTAL_COOKIE = "shuzhi_portal"
FORM_COOKIE = "portal_csrf"
"""Double-submit token of the register and login forms (before login there is no session)."""
HOME = "/open/account"

Db = Annotated[Database, Depends(get_db)]


def apply_path(identifier: str) -> str:
    """Where one applies for a conditional dataset (the portal's dataset page links here)."""
    return f"/open/dataset/{identifier}/apply"


@dataclass(frozen=True)
class Applicant:
    """The logged-in portal user, as the pages need them."""

    id: int
    display_name: str
    email: str
    organisation: str
    session_id: int
    csrf_token: str


def _lookup(db: Database, clear: str) -> Applicant | None:
    with db.read() as s:
        login = applications.find_session(s, clear)
        if login is None:
            return None
        u = login.user
        return Applicant(u.id, u.display_name, u.email, u.organisation, login.id, login.csrf_token)


async def _applicant(request: Request) -> Applicant | None:
    clear = request.cookies.get(PORTAL_COOKIE)
    if not clear:
        return None
    found = await run_in_threadpool(_lookup, request.app.state.db, clear)
    if found is not None and request.method not in ("GET", "HEAD"):
        sent = (await request.form()).get("csrf_token")
        if not (sent and secrets.compare_digest(str(sent), found.csrf_token)):
            raise Forbidden(M_("CSRF check failed: reload the page and retry"))
    request.state.csrf_token = found.csrf_token if found else None
    return found


Viewer = Annotated[Applicant | None, Depends(_applicant)]


def _portal_next(target: str | None) -> str:
    # Only the portal's own pages: never another site (an open redirect), nor a staff page.
    if target and target.startswith("/open/") and "//" not in target and "\\" not in target:
        return target
    return HOME


def _to_login(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/open/login?next={next_path}", status_code=303)


def _render(request: Request, name: str, ctx: dict, *, status: int = 200, form_token: bool = False):
    token = secrets.token_urlsafe(24) if form_token else None
    resp = templates.TemplateResponse(
        request,
        name,
        {"applicant": None, "form_token": token, "states": STATE_LABELS, **ctx},
        status_code=status,
    )
    if token:
        resp.set_cookie(FORM_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookie(request))
    return resp


def _form_ok(request: Request, sent: str) -> bool:
    cookie = request.cookies.get(FORM_COOKIE, "")
    return bool(cookie and sent and secrets.compare_digest(cookie, sent))


def _too_busy(request: Request, name: str, ctx: dict) -> Response | None:
    """Spend one of the client's public calls on a register or login POST (each may write a ledger
    entry, so a flood from one client is refused before any work): the form again, 429, when past."""
    try:
        throttle(request)
    except Throttled as refused:
        resp = _render(request, name, {**ctx, "error": refused}, status=429, form_token=True)
        resp.headers["Retry-After"] = str(refused.retry_after)
        return resp
    return None


def _logged_in(request: Request, clear: str, resp: RedirectResponse) -> RedirectResponse:
    resp.delete_cookie(FORM_COOKIE)
    resp.set_cookie(
        PORTAL_COOKIE,
        clear,
        httponly=True,
        samesite="lax",
        secure=secure_cookie(request),
        max_age=applications.SESSION_HOURS * 3600,
    )
    return resp


# -- register, log in, log out --------------------------------------------------------------------


@router.get("/register")
def register_form(request: Request, applicant: Viewer, next: str | None = None):
    if applicant is not None:
        return RedirectResponse(_portal_next(next), status_code=303)
    return _render(
        request, "portal_account_register.html", {"next": _portal_next(next), "entered": {}}, form_token=True
    )


@router.post("/register")
def register(
    request: Request,
    db: Db,
    email: Annotated[str, Form(max_length=limits.EMAIL)] = "",
    password: Annotated[str, Form(max_length=limits.PASSWORD)] = "",
    display_name: Annotated[str, Form(max_length=limits.LABEL)] = "",
    organisation: Annotated[str, Form(max_length=limits.NAME)] = "",
    next: Annotated[str, Form(max_length=limits.URL)] = HOME,
    form_token: Annotated[str, Form(max_length=limits.TOKEN)] = "",
):
    entered = {"email": email, "display_name": display_name, "organisation": organisation}
    ctx = {"next": _portal_next(next), "entered": entered}
    if busy := _too_busy(request, "portal_account_register.html", ctx):
        return busy
    if not _form_ok(request, form_token):
        error = Forbidden(M_("The form has expired: reload the page and try again"))
        return _render(
            request, "portal_account_register.html", {**ctx, "error": error}, status=403, form_token=True
        )
    try:
        with db.write() as s:
            user = applications.register(
                s, email=email, password=password, display_name=display_name, organisation=organisation
            )
            clear = applications.start_session(s, user)
    except ShuzhiError as e:
        return _render(
            request, "portal_account_register.html", {**ctx, "error": e}, status=e.status, form_token=True
        )
    welcome = flash.redirect(
        _portal_next(next), N_("Welcome, %(name)s: your account is ready."), name=display_name.strip()
    )
    return _logged_in(request, clear, welcome)


@router.get("/login")
def login_form(request: Request, applicant: Viewer, next: str | None = None):
    if applicant is not None:
        return RedirectResponse(_portal_next(next), status_code=303)
    return _render(request, "portal_account_login.html", {"next": _portal_next(next)}, form_token=True)


@router.post("/login")
def login(
    request: Request,
    db: Db,
    email: Annotated[str, Form(max_length=limits.EMAIL)] = "",
    password: Annotated[str, Form(max_length=limits.PASSWORD)] = "",
    next: Annotated[str, Form(max_length=limits.URL)] = HOME,
    form_token: Annotated[str, Form(max_length=limits.TOKEN)] = "",
):
    ctx = {"next": _portal_next(next), "email": email}
    if busy := _too_busy(request, "portal_account_login.html", ctx):
        return busy
    if not _form_ok(request, form_token):
        return _render(
            request, "portal_account_login.html", {**ctx, "expired": True}, status=403, form_token=True
        )
    address = request.client.host if request.client else None
    try:
        clear = applications.sign_in(
            db, email, password, address=address, auth=request.app.state.settings.auth
        )
    except Throttled as refused:
        resp = _render(
            request,
            "portal_account_login.html",
            {**ctx, "throttled": refused.retry_after},
            status=429,
            form_token=True,
        )
        resp.headers["Retry-After"] = str(refused.retry_after)
        return resp
    if clear is None:
        return _render(
            request, "portal_account_login.html", {**ctx, "failed": True}, status=401, form_token=True
        )
    return _logged_in(request, clear, RedirectResponse(_portal_next(next), status_code=303))


@router.post("/logout")
def logout(request: Request, db: Db, applicant: Viewer):
    if applicant is not None:
        with db.write() as s:
            applications.end_session(s, s.get(PortalSession, applicant.session_id))
    resp = flash.redirect("/open/login", N_("You have logged out."), kind="info")
    resp.delete_cookie(PORTAL_COOKIE, httponly=True, samesite="lax", secure=secure_cookie(request))
    return resp


# -- my applications ------------------------------------------------------------------------------


@router.get("/account")
def account(request: Request, db: Db, applicant: Viewer):
    if applicant is None:
        return _to_login(HOME)
    today = utcnow().date()
    with db.read() as s:
        mine = applications.mine(s, s.get(PortalUser, applicant.id))
        return _render(
            request,
            "portal_account_home.html",
            {
                "applicant": applicant,
                "mine": mine,
                "shown_state": lambda a: applications.shown_state(a, today),
                "readable": {a.id for a in mine if _readable(a, today)},
            },
        )


def _readable(app, today: date) -> bool:
    return app.state == "approved" and app.granted_start <= today <= app.granted_end


@router.get("/account/applications/{application_id}/download")
def download(request: Request, db: Db, applicant: Viewer, application_id: Id):
    """The newest published release of the application's dataset, as Parquet, while it is approved
    and in its period (the read is written to the ledger, naming the application)."""
    if applicant is None:
        return _to_login(HOME)
    with db.write() as s:
        app = applications.my_application(s, s.get(PortalUser, applicant.id), application_id)
        newest = published.published_releases(s, dataset=app.dataset.identifier, per_page=1).items
        if not newest:
            raise NotFound(M_("No published release of %(dataset)s", dataset=app.dataset.identifier))
        release = newest[0]
        path = published.release_table_path(
            s, request.app.state.settings, release["release_id"], reader=Reader(portal_user_id=applicant.id)
        )
    name = f"{release['dataset']}-v{release['version']}.parquet"
    return FileResponse(path, media_type=release["media_type"], filename=name)


# -- applying -------------------------------------------------------------------------------------


def _dataset(db: Database, identifier: str) -> dict:
    with db.read() as s:
        found = published.published_releases(s, dataset=identifier, per_page=1).items
    if not found:
        raise NotFound(M_("No published open dataset %(dataset)s", dataset=identifier), where="dataset")
    return found[0]


def _apply_page(request: Request, applicant: Applicant, ds: dict, *, entered: dict, error=None):
    return _render(
        request,
        "portal_account_apply.html",
        {
            "applicant": applicant,
            "ds": ds,
            "entered": entered,
            "error": error,
            "terms_zh": applications.terms("zh"),
            "terms_en": applications.terms("en"),
            "terms_version": applications.TERMS_VERSION,
            "terms_sha256": applications.terms_sha256(),
            "max_days": applications.MAX_DAYS,
            "today": utcnow().date(),
        },
        status=error.status if error is not None else 200,
    )


@router.get("/dataset/{identifier}/apply")
def apply_form(request: Request, db: Db, applicant: Viewer, identifier: Name):
    if applicant is None:
        return _to_login(apply_path(identifier))
    ds = _dataset(db, identifier)
    entered = {"organisation": applicant.organisation}
    return _apply_page(request, applicant, ds, entered=entered)


def _day(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(M_("Enter a date such as 2026-12-31"), where=where) from None


@router.post("/dataset/{identifier}/apply")
def apply(
    request: Request,
    db: Db,
    applicant: Viewer,
    identifier: Name,
    purpose: Annotated[str, Form(max_length=limits.REASON)] = "",
    organisation: Annotated[str, Form(max_length=limits.NAME)] = "",
    start: Annotated[str, Form(max_length=limits.CODE)] = "",
    end: Annotated[str, Form(max_length=limits.CODE)] = "",
    accept_terms: Annotated[str, Form(max_length=limits.CODE)] = "",
    terms_sha256: Annotated[str, Form(max_length=limits.CODE)] = "",
):
    if applicant is None:
        return _to_login(apply_path(identifier))
    ds = _dataset(db, identifier)
    entered = {"purpose": purpose, "organisation": organisation, "start": start, "end": end}
    try:
        with db.write() as s:
            app = applications.apply(
                s,
                s.get(PortalUser, applicant.id),
                identifier,
                purpose=purpose,
                organisation=organisation,
                start=_day(start, "start"),
                end=_day(end, "end"),
                accepted_terms=terms_sha256 if accept_terms == "yes" else None,
            )
            app_id = app.id
    except ShuzhiError as e:
        return _apply_page(request, applicant, ds, entered=entered, error=e)
    return flash.redirect(
        HOME, N_("Application %(id)s submitted: the department will decide on it."), id=app_id
    )
