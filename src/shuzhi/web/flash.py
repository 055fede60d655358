"""Banners after an action: a one-shot message carried across the redirect that follows a form's POST."""

from __future__ import annotations

import base64
import json
import re

from fastapi import Request
from fastapi.responses import RedirectResponse

FLASH_COOKIE = "flash"
KINDS = ("success", "info", "warning", "error")
MAX_TEXT = 500
MAX_PARAM = 200
"""A banner's text and each value filled into it are cut here: the cookie travels with every request
until it is shown."""


def redirect(url: str, message: str, *, kind: str = "success", **params) -> RedirectResponse:
    """Go to `url` (303) and show there, once, a banner saying `message`: a catalog message (English,
    marked with `N_` where it is written), translated when it is shown, its `%(name)s` places filled
    from `params`."""
    if kind not in KINDS:
        raise ValueError(f"unknown banner kind {kind!r}")
    resp = RedirectResponse(url, status_code=303)
    carried = {"k": kind, "m": message[:MAX_TEXT], "p": {k: str(v)[:MAX_PARAM] for k, v in params.items()}}
    resp.set_cookie(
        FLASH_COOKIE,
        base64.urlsafe_b64encode(json.dumps(carried, ensure_ascii=False).encode()).decode(),
        max_age=120,
        httponly=True,
        samesite="strict",
    )
    return resp


def pending(request: Request) -> dict | None:
    """The banner waiting for this request, if any: {kind, message, params}. Anything malformed is
    no banner (the cookie is only ever written by `redirect`, but a client may send what it likes;
    the text is escaped on output like any other)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict) or data.get("k") not in KINDS or not isinstance(data.get("m"), str):
        return None
    params = data.get("p") or {}
    if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
        return None
    return {"kind": data["k"], "message": data["m"][:MAX_TEXT], "params": params}


_PLACE = re.compile(r"%\((\w+)\)s")


def text(banner: dict, gettext, known) -> str:
    """The banner in the reader's language: its message through the catalog, its `%(name)s` places
    filled. Only messages the catalog holds are shown (a cookie is the client's to write: anything
    else is no banner), and places are filled by substitution, never by Python's `%`, which a
    crafted width (`%(a)2000000000s`) would turn into gigabytes."""
    if not known(banner["message"]):
        return ""
    params = banner["params"]
    return _PLACE.sub(lambda m: params.get(m.group(1), m.group(0)), gettext(banner["message"]))


class FlashSweeper:
    """ASGI middleware: a page (HTML, any status but a redirect) answered while the flash cookie is
    present has shown the banner, so the response clears the cookie; a redirect or a JSON answer
    leaves it for the page to come."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or FLASH_COOKIE.encode() + b"=" not in _cookie_header(scope):
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = dict(headers).get(b"content-type", b"")
                if not 300 <= message["status"] < 400 and content_type.startswith(b"text/html"):
                    headers.append(
                        (
                            b"set-cookie",
                            f"{FLASH_COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=strict".encode(),
                        )
                    )
                    message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, sending)


def _cookie_header(scope) -> bytes:
    return b";".join(v for k, v in scope.get("headers", []) if k == b"cookie")
