"""Administration pages: departments, users, one's own API tokens, dataset registration and upload, vocabularies."""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from markupsafe import escape
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from shuzhi import i18n
from shuzhi import textlimits as limits
from shuzhi.catalog import search as catalog_search
from shuzhi.catalog import service as catalog
from shuzhi.catalog import vocab
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.errors import Forbidden, InvalidInput, NotFound, ShuzhiError
from shuzhi.i18n import M_, N_
from shuzhi.ingest import uploads
from shuzhi.ingest.jobs import LOAD_UPLOAD
from shuzhi.jobs.models import JobRun
from shuzhi.orgs import service as orgs
from shuzhi.orgs.models import ROLES, ApiToken
from shuzhi.orgs.service import DEPT_LEVELS, Principal
from shuzhi.store.db import Database
from shuzhi.web import flash
from shuzhi.web.deps import check_csrf, get_db, page_principal, uploader_principal
from shuzhi.web.templating import request_lang, templates

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, Depends(page_principal)]
Db = Annotated[Database, Depends(get_db)]

ROLE_LABELS = {
    "admin": N_("Platform admin"),
    "steward": N_("Department steward"),
    "analyst": N_("Analyst"),
    "auditor": N_("Auditor"),
}
LEVEL_LABELS = {"province": N_("Province"), "city": N_("City"), "district": N_("District")}
"""Roles and department levels in words (catalog messages, translated where shown)."""


def _vocab_titles(catalog: i18n.Translator) -> dict[str, str]:
    """Each shipped vocabulary's title in the reader's language ("Theme" has two senses in Chinese,
    hence a context, which a table of plain messages cannot carry)."""
    return {
        "share_type": catalog.gettext("Share type"),
        "open_type": catalog.gettext("Open type"),
        "data_class": catalog.gettext("Data class"),
        "security_grade": catalog.gettext("Security grade"),
        "update_frequency": catalog.gettext("Update frequency"),
        "theme": catalog.pgettext("theme", "Theme"),
        "format": catalog.gettext("Format"),
    }


UPLOAD_PIECE = 1024 * 1024
# Form fields carry no length limits of their own: the services check every value and name the
# field, so that what is too long is said beside it like anything else wrong (the body as a whole
# stays under `max_request_bytes`).
TEXT = Annotated[str, Form()]


def _page(request: Request, name: str, ctx: dict, status: int = 200, *, no_store: bool = False):
    base = {"role_labels": ROLE_LABELS, "roles": ROLES, "error": None, "error_for": "", "form": {}}
    resp = templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)
    if no_store:  # a page showing a secret once: never kept by the browser or a proxy
        resp.headers["Cache-Control"] = "no-store"
    return resp


def _staff(principal: Principal) -> None:
    if not principal.has("admin", "steward"):
        raise Forbidden(M_("admins and department stewards only"))


# -- index ----------------------------------------------------------------------------------------------


@router.get("/admin")
def admin_index(request: Request, principal: Viewer):
    _staff(principal)
    return _page(request, "admin_index.html", {})


# -- departments ----------------------------------------------------------------------------------------


def _departments(request: Request, db: Database, *, status: int = 200, **ctx):
    with db.read() as s:
        depts = orgs.list_departments(s)
        return _page(
            request,
            "admin_departments.html",
            {
                "roots": [d for d in depts if d.parent is None],
                "depts": depts,
                "levels": DEPT_LEVELS,
                "level_labels": LEVEL_LABELS,
                **ctx,
            },
            status,
        )


@router.get("/admin/departments")
def departments_page(request: Request, principal: Viewer, db: Db):
    orgs.require_admin(principal)
    return _departments(request, db)


@router.post("/admin/departments")
def department_create(
    request: Request,
    principal: Viewer,
    db: Db,
    code: TEXT = "",
    name_zh: TEXT = "",
    name_en: TEXT = "",
    level: TEXT = "city",
    parent: TEXT = "",
    region_code: TEXT = "",
):
    orgs.require_admin(principal)
    form = dict(
        code=code, name_zh=name_zh, name_en=name_en, level=level, parent=parent, region_code=region_code
    )
    try:
        with db.write() as s:
            orgs.create_department(
                s,
                code=code.strip(),
                name_zh=name_zh,
                name_en=name_en.strip() or None,
                level=level,
                parent_code=parent or None,
                region_code=region_code.strip() or None,
                actor=principal,
            )
    except ShuzhiError as e:
        return _departments(request, db, status=e.status, error=e, error_for="new", form=form)
    return flash.redirect(
        f"/admin/departments#dept-{quote(code.strip())}",
        N_("Department %(name)s (%(code)s) added."),
        name=name_zh.strip(),
        code=code.strip(),
    )


def _department_edit(request: Request, db: Database, code: str, *, status: int = 200, **ctx):
    with db.read() as s:
        dept = orgs.get_department(s, code)
        below = {d.id for d in orgs.list_departments(s) if dept in orgs.department_path(d)}
        return _page(
            request,
            "admin_department_edit.html",
            {
                "dept": dept,
                # Neither the department itself nor one below it can become its parent.
                "parents": [d for d in orgs.list_departments(s) if d.id not in below],
                "form": ctx.pop("form", None)
                or {
                    "name_zh": dept.name_zh,
                    "name_en": dept.name_en or "",
                    "parent": dept.parent.code if dept.parent else "",
                },
                **ctx,
            },
            status,
        )


@router.get("/admin/departments/{code}")
def department_edit_page(code: str, request: Request, principal: Viewer, db: Db):
    orgs.require_admin(principal)
    return _department_edit(request, db, code)


@router.post("/admin/departments/{code}")
def department_update(
    code: str,
    request: Request,
    principal: Viewer,
    db: Db,
    name_zh: TEXT = "",
    name_en: TEXT = "",
    parent: TEXT = "",
):
    orgs.require_admin(principal)
    with db.read() as s:
        orgs.get_department(s, code)  # an unknown department is a 404, not a message beside a field
    try:
        with db.write() as s:
            dept = orgs.get_department(s, code)
            orgs.update_department(
                s, dept, name_zh=name_zh, name_en=name_en or None, parent_code=parent or None, actor=principal
            )
    except ShuzhiError as e:
        form = dict(name_zh=name_zh, name_en=name_en, parent=parent)
        return _department_edit(request, db, code, status=e.status, error=e, error_for="edit", form=form)
    return flash.redirect(
        f"/admin/departments#dept-{quote(code)}", N_("Department %(code)s saved."), code=code
    )


# -- users ----------------------------------------------------------------------------------------------
# An admin manages every user. A steward only sees the users of their own department (who may see
# and manage its data) and changes nothing: adding people, granting roles, deactivating and setting
# passwords stay with the platform's admins (least privilege; a steward who could grant roles could
# make themselves an admin's equal).


def _users(request: Request, principal: Principal, db: Database, department: str = "", *, status=200, **ctx):
    if not principal.is_admin:
        own = principal.department_code
        if department and department != own:
            raise Forbidden(M_("stewards see only their own department's users"))
        department = own
    with db.read() as s:
        if department:
            orgs.get_department(s, department)
        return _page(
            request,
            "admin_users.html",
            {
                "users": orgs.list_users(s, department or None),
                "depts": orgs.list_departments(s) if principal.is_admin else [],
                "department": department,
                "can_edit": principal.is_admin,
                **ctx,
            },
            status,
            no_store=bool(ctx.get("one_time")),
        )


@router.get("/admin/users")
def users_page(request: Request, principal: Viewer, db: Db, department: str = ""):
    _staff(principal)
    return _users(request, principal, db, department[: limits.CODE])


@router.post("/admin/users")
def user_create(
    request: Request,
    principal: Viewer,
    db: Db,
    username: TEXT = "",
    display_name: TEXT = "",
    department: TEXT = "",
    roles: Annotated[list[str] | None, Form()] = None,
    password: TEXT = "",
):
    orgs.require_admin(principal)
    try:
        with db.write() as s:
            orgs.create_user(
                s,
                username=username.strip(),
                password=password,
                department_code=department,
                roles=roles or [],
                display_name=display_name.strip() or None,
                actor=principal,
            )
    except ShuzhiError as e:
        # The password is not sent back into the page.
        form = dict(username=username, display_name=display_name, department=department, roles=roles or [])
        return _users(request, principal, db, status=e.status, error=e, error_for="new", form=form)
    return flash.redirect(
        f"/admin/users#user-{quote(username.strip())}",
        N_("User %(user)s added."),
        user=username.strip(),
    )


def _user_action(request: Request, principal: Principal, db: Database, username: str, act, done):
    """Run `act(session, user)` on an existing user (admin only); the list again with the message
    beside that user's row when refused."""
    orgs.require_admin(principal)
    with db.read() as s:
        orgs.get_user(s, username)  # an unknown user is a 404, not a message beside a row
    try:
        with db.write() as s:
            result = act(s, orgs.get_user(s, username))
    except ShuzhiError as e:
        return _users(request, principal, db, status=e.status, error=e, error_for=f"user-{username}")
    if callable(done):
        return done(result)
    return flash.redirect(f"/admin/users#user-{quote(username)}", done, user=username)


@router.post("/admin/users/{username}/roles")
def user_roles(
    username: str,
    request: Request,
    principal: Viewer,
    db: Db,
    roles: Annotated[list[str] | None, Form()] = None,
):
    def act(s, user):
        if user.id == principal.user_id and "admin" not in (roles or []):
            raise InvalidInput(M_("you cannot take the admin role from yourself"), where="roles")
        orgs.set_roles(s, user, roles or [], actor=principal)

    done = N_("Roles of %(user)s updated.")
    return _user_action(request, principal, db, username, act, done)


@router.post("/admin/users/{username}/active")
def user_active(
    username: str,
    request: Request,
    principal: Viewer,
    db: Db,
    active: TEXT = "",
):
    on = active == "1"

    def act(s, user):
        if active not in ("1", "0"):
            raise InvalidInput(M_("active must be 1 or 0"), where="active")
        if user.id == principal.user_id and not on:
            raise InvalidInput(M_("you cannot deactivate yourself"), where="active")
        orgs.set_active(s, user, on, actor=principal)

    done = (
        N_("User %(user)s reactivated.")
        if on
        else N_("User %(user)s deactivated; their tokens and logins stop at once.")
    )
    return _user_action(request, principal, db, username, act, done)


@router.post("/admin/users/{username}/password")
def user_password(
    username: str,
    request: Request,
    principal: Viewer,
    db: Db,
    mode: TEXT = "set",
    password: TEXT = "",
):
    generate = mode == "generate"

    def act(s, user):
        return orgs.reset_password(s, user, None if generate else password, actor=principal)

    def done(clear):
        if clear is None:
            return flash.redirect(
                f"/admin/users#user-{quote(username)}",
                N_("Password of %(user)s reset."),
                user=username,
            )
        # Shown on this answer only: it is stored nowhere but as a hash, and never sent again.
        return _users(request, principal, db, one_time={"username": username, "password": clear})

    return _user_action(request, principal, db, username, act, done)


# -- one's own API tokens ---------------------------------------------------------------------------------


def _tokens(request: Request, principal: Principal, db: Database, *, status: int = 200, **ctx):
    with db.read() as s:
        user = orgs.get_user(s, principal.username)
        return _page(
            request,
            "admin_tokens.html",
            {"tokens": list(reversed(orgs.list_tokens(s, user))), **ctx},
            status,
            no_store=True,
        )


@router.get("/me/tokens")
def tokens_page(request: Request, principal: Viewer, db: Db):
    return _tokens(request, principal, db)


@router.post("/me/tokens")
def token_create(
    request: Request,
    principal: Viewer,
    db: Db,
    name: TEXT = "",
    days: TEXT = "90",
):
    form = {"name": name, "days": days}
    try:
        if not name.strip():
            raise InvalidInput(M_("give the token a name"), where="name")
        if not days.strip().isdigit() or len(days.strip()) > 5:
            raise InvalidInput(M_("expiry is a number of days"), where="days")
        with db.write() as s:
            token, clear = orgs.create_token(
                s, orgs.get_user(s, principal.username), name=name.strip(), days=int(days), actor=principal
            )
            created = {"id": token.id, "name": token.name, "value": clear}
    except ShuzhiError as e:
        return _tokens(request, principal, db, status=e.status, error=e, error_for="new", form=form)
    # No redirect: the clear token is in this answer only, never in a cookie or a later page.
    return _tokens(request, principal, db, status=201, created=created)


@router.post("/me/tokens/{token_id}/revoke")
def token_revoke(token_id: int, request: Request, principal: Viewer, db: Db):
    with db.write() as s:
        token = s.get(ApiToken, token_id) if 0 < token_id <= limits.INT64_MAX else None
        # Another's token is answered as if it did not exist, admins included: this page is one's own.
        if token is None or token.user_id != principal.user_id:
            raise NotFound(M_("no token %(token_id)s", token_id=token_id), where="token_id")
        orgs.revoke_token(s, token_id, actor=principal)
        name = token.name
    return flash.redirect("/me/tokens", N_("Token %(name)s revoked."), name=name)


# -- datasets: registration and upload ---------------------------------------------------------------------


def _manageable_depts(s, principal: Principal):
    return [d for d in orgs.list_departments(s) if catalog.can_manage(principal, d.id)]


def _datasets(request: Request, principal: Principal, db: Database, *, status: int = 200, **ctx):
    with db.read() as s:
        depts = _manageable_depts(s, principal)
        codes = [d.code for d in depts] if not principal.is_admin else None
        found = catalog_search.search(
            s, "", filters={"department": codes} if codes else None, limit=100, sort="newest"
        )
        return _page(
            request,
            "admin_datasets.html",
            {
                "depts": depts,
                "datasets": found.datasets,
                "vocab": {
                    n: vocab.codes(n) for n in ("theme", "update_frequency", "share_type", "open_type")
                },
                "fields": (*DATASET_FORM, "dept"),
                **ctx,
            },
            status,
        )


@router.get("/admin/datasets")
def datasets_page(request: Request, principal: Viewer, db: Db):
    _staff(principal)
    return _datasets(request, principal, db, form={"department": principal.department_code})


DATASET_FORM = (
    "identifier",
    "title_zh",
    "title_en",
    "department",
    "theme",
    "update_frequency",
    "share_type",
    "share_basis",
    "open_type",
    "description",
)


def _validation_error(exc: ValidationError) -> InvalidInput:
    first = exc.errors()[0]
    message = first.get("msg", "").removeprefix("Value error, ")
    where = ".".join(str(p) for p in first.get("loc", ()))
    if not where:  # a rule across fields: beside the one it asks for
        where = next((f for f in ("share_basis", "temporal_start") if f in message), "form")
    return InvalidInput(message, where=where)


@router.post("/admin/datasets")
async def dataset_create(request: Request, principal: Viewer, db: Db):
    _staff(principal)
    sent = await request.form()
    form = {k: str(sent.get(k) or "") for k in DATASET_FORM}  # lengths: checked by DatasetIn
    return await run_in_threadpool(_dataset_create, request, principal, db, form)


def _dataset_create(request: Request, principal: Principal, db: Database, form: dict):
    values = {k: v.strip() for k, v in form.items() if v.strip()}
    try:
        try:
            data = DatasetIn(**values)
        except ValidationError as exc:
            raise _validation_error(exc) from None
        with db.write() as s:
            ds = catalog.create_dataset(s, principal, data)
            identifier = ds.identifier
    except ShuzhiError as e:
        where = "department" if e.where == "dept" or e.status == 403 else e.where
        where = where if where in DATASET_FORM else ""
        return _datasets(request, principal, db, status=e.status, error=e, error_for=where, form=form)
    return flash.redirect(
        f"/admin/datasets/{quote(identifier)}/upload",
        N_("Dataset %(dataset)s registered; you can upload its data now."),
        dataset=identifier,
    )


def _upload_form(request: Request, principal: Principal, db: Database, ref: str, *, status=200, **ctx):
    with db.read() as s:
        ds = catalog.get_dataset(s, ref)
        catalog.require_manage(principal, ds)
        return _page(
            request,
            "admin_upload.html",
            {
                "ds": ds,
                "max_bytes": request.app.state.settings.ingest.max_upload_bytes,
                "latest": catalog.latest_version(s, ds),
                **ctx,
            },
            status,
        )


@router.get("/admin/datasets/{ref}/upload")
def upload_page(ref: str, request: Request, principal: Viewer, db: Db):
    _staff(principal)
    return _upload_form(request, principal, db, ref)


@router.post("/admin/datasets/{ref}/upload")
async def upload(
    ref: str, request: Request, db: Db, principal: Annotated[Principal, Depends(uploader_principal)]
):
    """Hold the file (with the checks that need no conversion) and queue the job that loads it."""
    _staff(principal)
    settings = request.app.state.settings
    # Who may upload here is decided before the body is read: a stranger's file is never received.
    dataset_id, identifier = await run_in_threadpool(_managed, db, principal, ref)
    await check_csrf(request)
    file = (await request.form()).get("file")
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InvalidInput(M_("choose a file to upload"), where="file")
        token = await run_in_threadpool(uploads.hold, settings, _pieces(file), file.filename)
    except ShuzhiError as e:
        return await run_in_threadpool(_upload_form, request, principal, db, ref, status=e.status, error=e)
    params = {"dataset_id": dataset_id, "token": token, "name": file.filename, "username": principal.username}
    job_id = await run_in_threadpool(request.app.state.jobs.submit, LOAD_UPLOAD, params)
    return flash.redirect(
        f"/admin/uploads/{job_id}",
        N_("File %(file)s received; loading it into %(dataset)s in the background."),
        kind="info",
        file=file.filename,
        dataset=identifier,
    )


def _managed(db: Database, principal: Principal, ref: str) -> tuple[int, str]:
    with db.read() as s:
        ds = catalog.get_dataset(s, ref)
        catalog.require_manage(principal, ds)
        return ds.id, ds.identifier


def dataset_actions(request: Request, principal: Principal, dataset) -> list[str]:
    """The dataset page's link to upload a new version, for whoever manages the dataset."""
    if not catalog.can_manage(principal, dataset):
        return []
    _ = i18n.translator(request_lang(request)).gettext
    href = f"/admin/datasets/{quote(dataset.identifier)}/upload"
    return [f'<a href="{escape(href)}" id="upload-version">{escape(_("Upload a new version"))}</a>']


def _pieces(file: UploadFile):
    file.file.seek(0)
    while chunk := file.file.read(UPLOAD_PIECE):
        yield chunk


def _upload_run(s, principal: Principal, job_id: int):
    """The upload job `job_id`, to its uploader or an admin; to anyone else it does not exist."""
    run = s.get(JobRun, job_id) if 0 < job_id <= limits.INT64_MAX else None
    params = json.loads(run.params or "{}") if run is not None else {}
    if (
        run is None
        or run.name != LOAD_UPLOAD
        or not (principal.is_admin or params.get("username") == principal.username)
    ):
        raise NotFound(M_("no upload job %(job_id)s", job_id=job_id), where="job")
    return run, params


@cache
def _domain_errors(kind=ShuzhiError) -> frozenset[str]:
    return frozenset({kind.__name__}).union(*(_domain_errors(sub) for sub in kind.__subclasses__()))


LOAD_FAILED = M_("loading failed; logged for the operators")
_RUNNER_SAID = tuple(
    opening
    for said in (N_("cancelled"), N_("ran past its time limit of %(seconds)s s"))
    if (opening := i18n.translator("zh").gettext(said).partition("%(")[0])
)
"""How the runner's own words about a stopped job begin (a run's error is stored as the message in
both languages, Chinese first): they name no server path or SQL, so the uploader may read them."""


def _said_to_uploader(error: str) -> str:
    """What a failed upload job tells the person who uploaded: the platform's own message about the
    file ("InvalidInput: …" without its kind), the runner's (cancelled, out of time); any other
    failure's text may name server paths or SQL, so only that it failed (the log has the rest)."""
    head, sep, rest = error.partition(": ")
    if sep and head in _domain_errors():
        return rest
    if not error or error.startswith(_RUNNER_SAID):
        return error
    return LOAD_FAILED


def _status(run, params, ds) -> dict:
    result = (
        dict(part.split("=", 1) for part in (run.note or "").split() if "=" in part)
        if run.state == "done"
        else {}
    )
    error = _said_to_uploader(run.error or "")
    return {
        "id": run.id,
        "state": run.state,
        "progress": run.progress,
        "dataset": ds.identifier if ds is not None else None,
        "file": params.get("name"),
        "version": result.get("version"),
        "same_as": result.get("same_as"),
        "rows": result.get("rows"),
        "error": error or None,
    }


def _upload_status(db: Database, principal: Principal, job_id: int) -> tuple[dict, object]:
    with db.read() as s:
        run, params = _upload_run(s, principal, job_id)
        try:
            ds = catalog.get_dataset(s, int(params.get("dataset_id") or 0))
        except NotFound:
            ds = None
        status = _status(run, params, ds)
        return status, (ds.title_zh if ds is not None else "")


@router.get("/admin/uploads/{job_id}")
def upload_progress(job_id: int, request: Request, principal: Viewer, db: Db):
    status, title = _upload_status(db, principal, job_id)
    return _page(request, "admin_upload_progress.html", {"job": status, "title": title})


@router.get("/admin/uploads/{job_id}/status")
def upload_status(job_id: int, principal: Viewer, db: Db):
    """How far an upload's job is, as JSON for the progress page's poll."""
    status, _ = _upload_status(db, principal, job_id)
    return JSONResponse(status, headers={"Cache-Control": "no-store"})


# -- vocabularies ---------------------------------------------------------------------------------------


@router.get("/admin/vocabularies")
def vocabularies_page(request: Request, principal: Viewer):
    _staff(principal)
    shipped = vocab.shipped()
    titles = _vocab_titles(i18n.translator(request_lang(request)))
    return _page(request, "admin_vocabularies.html", {"vocabs": shipped, "titles": titles})
