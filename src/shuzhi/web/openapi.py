"""The API's OpenAPI document as the app behaves: how callers authenticate, which errors each
operation can answer and in what shape, which media types a download comes in."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from shuzhi.web import deps
from shuzhi.web.deps import SESSION_COOKIE

BEARER = "bearerToken"
COOKIE = "sessionCookie"

_DESCRIPTIONS = {
    400: "请求无法处理 (the request cannot be processed)",
    401: "未认证：缺少或无效的令牌/会话 (no valid token or login session)",
    403: "无权限 (not allowed for this caller)",
    404: "不存在 (not found)",
    408: "查询超时 (the query took too long)",
    409: "与当前状态冲突 (conflicts with the current state)",
    413: "请求体过大 (request body too large)",
    422: "输入有误 (invalid input)",
    429: "请求过多，见 Retry-After (too many requests; see Retry-After)",
}

COMMON = (400, 403, 404, 409, 413, 422)
"""Answers any API operation may give: bad or unreadable input, a missing thing, a refusal, a conflict
with the current state, an oversized request (the body gate answers before the route)."""

QUERIES = (408, 429)
"""Answers of operations that run governed queries (timeout, too many at once)."""


class ErrorOut(BaseModel):
    """Every error the API answers: a code, a bilingual message, and where the problem is when known."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="机器可读的错误代码 (machine-readable code), e.g. not_found")
    message: str = Field(description="中文 (English) message for people")
    where: str | None = Field(None, description="出错的字段或位置 (the field or place at fault)")
    hint: str | None = None
    fields: list[dict[str, Any]] | None = Field(None, description="每个无效字段 (each invalid field), on 422")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` of a router or route: these statuses, documented with the app's error model."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


def media_responses(*media_types: str, description: str = "OK") -> dict[int | str, dict[str, Any]]:
    """`responses=` of a route whose 200 comes in the given media types."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


def authenticates(fn):
    """Mark a dependency as resolving the caller, so its operations are documented as secured."""
    fn.__authenticates__ = True
    return fn


authenticates(deps.current_principal)


def _needs_caller(dependant: Dependant) -> bool:
    stack = list(dependant.dependencies)
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "__authenticates__", False):
            return True
        stack.extend(dep.dependencies)
    return False


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The schema FastAPI derives, plus the security schemes and the 401 of operations that need a caller."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    schema.setdefault("components", {})["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "description": "API 令牌 (API token from POST /api/v1/tokens)",
        },
        COOKIE: {
            "type": "apiKey",
            "in": "cookie",
            "name": SESSION_COOKIE,
            "description": "网页登录会话；写操作还需 X-CSRF-Token (browser login; writes also need X-CSRF-Token)",
        },
    }
    for prefix, router in app.state.routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and route.include_in_schema and _needs_caller(route.dependant):
                _secure(schema["paths"].get(prefix + route.path_format, {}), route)
    app.openapi_schema = schema
    return schema


def _secure(path: dict[str, Any], route: APIRoute) -> None:
    unauthorized = error_responses(401)[401]
    for method in route.methods:
        op = path.get(method.lower())
        if op is None:
            continue
        op["security"] = [{BEARER: []}, {COOKIE: []}]
        op["responses"].setdefault(
            "401",
            {
                "description": unauthorized["description"],
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
            },
        )
