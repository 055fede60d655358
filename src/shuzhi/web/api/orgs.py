"""REST endpoints for departments, users and API tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, StrictBool
from sqlalchemy.orm import Session

from shuzhi.errors import Unauthenticated
from shuzhi.i18n import M_
from shuzhi.orgs import service as orgs
from shuzhi.orgs import throttle
from shuzhi.orgs.models import ROLES
from shuzhi.orgs.service import DEPT_LEVELS, Principal
from shuzhi.textlimits import (
    Code,
    DepartmentCode,
    Email,
    Id,
    Label,
    Name,
    Named,
    NewUsername,
    Password,
    RegionCode,
    Username,
)
from shuzhi.web.deps import WRITE, current_principal, get_db, read_session, require_role
from shuzhi.web.openapi import error_responses

router = APIRouter(tags=["orgs 组织与用户"])


class DepartmentIn(BaseModel):
    code: DepartmentCode
    name_zh: Named
    name_en: Name | None = None
    level: Literal[DEPT_LEVELS] = "city"
    parent: Code | None = None
    region_code: RegionCode | None = None


class DepartmentOut(BaseModel):
    code: str
    name_zh: str
    name_en: str | None
    level: str
    parent: str | None
    region_code: str | None


class UserIn(BaseModel):
    username: NewUsername
    password: Password = Field(min_length=8)
    department: Code
    roles: list[Literal[ROLES]] = Field(min_length=1, max_length=len(ROLES))
    display_name: Label | None = None
    email: Email | None = None


class UserPatch(BaseModel):
    roles: list[Literal[ROLES]] | None = Field(
        default=None, min_length=1, max_length=len(ROLES), description="替换全部角色 (replaces all roles)"
    )
    active: StrictBool | None = Field(default=None, description="false 停用用户 (false deactivates the user)")


class UserOut(BaseModel):
    username: str
    display_name: str
    department: str
    roles: list[str]
    active: bool


class TokenIn(BaseModel):
    username: Username
    password: Password
    name: Label = "api"
    days: int = Field(default=90, ge=1, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    expires_at: datetime
    revoked: bool
    token: str | None = Field(default=None, description="只在创建时返回一次 (returned once, at creation)")


def _dept_out(d) -> DepartmentOut:
    return DepartmentOut(
        code=d.code,
        name_zh=d.name_zh,
        name_en=d.name_en,
        level=d.level,
        parent=d.parent.code if d.parent else None,
        region_code=d.region_code,
    )


def _user_out(u) -> UserOut:
    return UserOut(
        username=u.username,
        display_name=u.display_name,
        department=u.department.code,
        roles=sorted(u.roles),
        active=u.active,
    )


def _token_out(t, clear: str | None = None) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        expires_at=t.expires_at,
        revoked=t.revoked_at is not None,
        token=clear,
    )


@router.get("/departments", response_model=list[DepartmentOut])
def list_departments(session: Session = Depends(read_session), _: Principal = Depends(current_principal)):
    return [_dept_out(d) for d in orgs.list_departments(session)]


@router.post("/departments", response_model=DepartmentOut, status_code=201)
def create_department(
    body: DepartmentIn,
    session: Session = WRITE,
    principal: Principal = Depends(require_role("admin")),
):
    d = orgs.create_department(
        session,
        code=body.code,
        name_zh=body.name_zh,
        name_en=body.name_en,
        level=body.level,
        parent_code=body.parent,
        region_code=body.region_code,
        actor=principal,
    )
    return _dept_out(d)


@router.get("/users", response_model=list[UserOut])
def list_users(
    department: Code | None = None,
    session: Session = Depends(read_session),
    _: Principal = Depends(require_role("admin", "auditor")),
):
    return [_user_out(u) for u in orgs.list_users(session, department)]


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(
    body: UserIn,
    session: Session = WRITE,
    principal: Principal = Depends(require_role("admin")),
):
    u = orgs.create_user(
        session,
        username=body.username,
        password=body.password,
        department_code=body.department,
        roles=body.roles,
        display_name=body.display_name,
        email=body.email,
        actor=principal,
    )
    return _user_out(u)


@router.patch("/users/{username}", response_model=UserOut)
def update_user(
    username: Username,
    body: UserPatch,
    session: Session = WRITE,
    principal: Principal = Depends(require_role("admin")),
):
    """Change a user's roles or deactivate them (platform admin only); each change is audited."""
    user = orgs.get_user(session, username)
    if body.roles is not None:
        orgs.set_roles(session, user, body.roles, actor=principal)
    if body.active is not None:
        orgs.set_active(session, user, body.active, actor=principal)
    return _user_out(user)


@router.get("/me", response_model=UserOut)
def me(session: Session = Depends(read_session), principal: Principal = Depends(current_principal)):
    return _user_out(orgs.get_user(session, principal.username))


@router.post("/tokens", response_model=TokenOut, status_code=201, responses=error_responses(401, 429))
def create_token(body: TokenIn, request: Request, db=Depends(get_db)):
    """Exchange a username and password for an API token (shown once).

    Too many wrong passwords for a username, or from one address, answer 429 with Retry-After."""
    issued = throttle.sign_in(
        db,
        body.username,
        body.password,
        address=request.client.host if request.client else None,
        auth=request.app.state.settings.auth,
        issue=lambda session, user: _token_out(
            *orgs.create_token(session, user, name=body.name, days=body.days)
        ),
    )
    if issued is not None:
        return issued
    raise Unauthenticated(M_("wrong username or password"))


@router.post("/users/{username}/unlock")
def unlock_user(
    username: Username,
    session: Session = WRITE,
    principal: Principal = Depends(require_role("admin", "steward")),
) -> dict:
    """Lift a user's login lockout (a steward of their department, or an admin); audited."""
    state = throttle.unlock_user(session, orgs.get_user(session, username), actor=principal)
    return {"username": username, "unlocked": True, **state}


@router.post("/login-addresses/{address}/unlock")
def unlock_address(
    address: Name,
    session: Session = WRITE,
    principal: Principal = Depends(require_role("admin")),
) -> dict:
    """Lift a client address's login lockout (platform admin only); audited."""
    return {
        "address": address,
        "unlocked": True,
        **throttle.unlock_address(session, address, actor=principal),
    }


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: Session = Depends(read_session), principal: Principal = Depends(current_principal)):
    return [_token_out(t) for t in orgs.list_tokens(session, orgs.get_user(session, principal.username))]


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: Id, session: Session = WRITE, principal: Principal = Depends(current_principal)):
    return _token_out(orgs.revoke_token(session, token_id, actor=principal))
