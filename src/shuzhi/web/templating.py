"""Jinja2 templates with the bilingual helpers every page uses."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from shuzhi import i18n
from shuzhi.catalog import vocab
from shuzhi.errors import ShuzhiError, in_language
from shuzhi.i18n import N_
from shuzhi.oversight import clock
from shuzhi.web import flash, menu

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGS = ("zh", "en")


MACHINE_PATHS = (
    "/api/",
    "/healthz",
    "/readyz",
    "/static/",
    "/catalog.ttl",
    "/catalog.jsonld",
    "/data.json",
    "/sitemap.xml",
    "/robots.txt",
)
"""Paths that answer programs: their errors are JSON. Every other path is a page and answers a page,
whatever the client said it accepts."""


def is_page(path: str) -> bool:
    return not is_machine_path(path)


def is_machine_path(path: str) -> bool:
    """Under a machine prefix, or the API root itself (`/api`, CKAN's version probe)."""
    return path == "/api" or path.startswith(MACHINE_PATHS)


FIELD_PROBLEMS = {
    "missing": N_("required"),
    "string_too_long": N_("too long"),
    "string_too_short": N_("too short"),
    "int_parsing": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "bool_parsing": N_("must be yes or no"),
    "greater_than_equal": N_("too small"),
    "greater_than": N_("too small"),
    "less_than_equal": N_("too large"),
    "less_than": N_("too large"),
    "literal_error": N_("not one of the allowed values"),
    "enum": N_("not one of the allowed values"),
    "string_pattern_mismatch": N_("not in the expected format"),
    "date_from_datetime_parsing": N_("must be a date such as 2026-12-31"),
}
"""Validation problems of page input (pydantic's error types) in words, as catalog messages."""


def request_lang(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang")
    if lang in LANGS:
        return lang
    return getattr(request.app.state.settings, "default_locale", "zh")


def unread_notifications(request: Request, principal) -> int | None:
    """The header's badge: the viewer's unread notifications (one indexed COUNT, once a page)."""
    known = getattr(request.state, "unread_notifications", None)
    if known is not None or principal is None or principal.user_id is None:
        return known
    from shuzhi.notify import service as notify

    try:
        with request.app.state.db.read() as s:
            known = notify.unread_count(s, principal.user_id)
    except Exception:  # noqa: BLE001 - a badge never takes a page down (the error page included)
        return None
    request.state.unread_notifications = known
    return known


def page_context(request: Request) -> dict:
    """What every template sees: the language, the catalog's `_(message)` and `pgettext(context,
    message)`, `pick(zh, en)` for texts that come with the data in both languages, vocabulary
    labels, the viewer, the CSRF token."""
    lang = request_lang(request)
    catalog = i18n.translator(lang)

    def pick(zh: str, en: str) -> str:
        """One of two texts the data carries in both languages (a vocabulary's, a detector's, an
        event type's labels); the page's own words come from the catalog."""
        return en if lang == "en" else zh

    def label(vocab_name: str, code: str | None) -> str:
        return vocab.label(vocab_name, code, lang)

    principal = getattr(request.state, "principal", None)
    login = getattr(request.state, "login", None)
    csrf_token = getattr(request.state, "csrf_token", None) or (login.csrf_token if login is not None else "")
    zone = getattr(request.app.state.settings, "display_timezone", "UTC")

    def local_time(value) -> str:
        """A stored UTC time (datetime or ISO text) as the reader's wall clock, offset shown."""
        return clock.local_text(value, zone)

    def field_problem(error: dict) -> str:
        """A field's validation problem in words (the validator's own text when it is not one we name)."""
        words = FIELD_PROBLEMS.get(error.get("type") or "")
        return catalog.gettext(words) if words else error.get("message", "")

    def named(thing) -> str:
        """A dataset's title or a department's name in the reader's language (English where it has
        one), whichever of the two it carries."""
        for zh_attr, en_attr in (("title_zh", "title_en"), ("name_zh", "name_en")):
            if hasattr(thing, zh_attr):
                zh, en = getattr(thing, zh_attr), getattr(thing, en_attr, None)
                return (en or zh) if lang == "en" else zh
        return str(thing)

    def say(error) -> str:
        """An error's message (or a bilingual text) in the reader's language."""
        if isinstance(error, ShuzhiError):
            return error.say(lang)
        return in_language(str(error or ""), lang) or ""

    return {
        "_": catalog.gettext,
        "pgettext": catalog.pgettext,
        "pick": pick,
        "say": say,
        "named": named,
        "field_problem": field_problem,
        "lang": lang,
        "label": label,
        "local_time": local_time,
        "principal": principal,
        "csrf_token": csrf_token,
        "banner": flash.pending(request),
        "banner_text": lambda banner: flash.text(banner, catalog.gettext, catalog.knows),
        "unread_notifications": lambda: unread_notifications(request, principal),
        "header_links": lambda: menu.header_links(principal),
    }


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[page_context])
templates.env.globals["vocab_codes"] = vocab.codes


class LanguagePin:
    """ASGI middleware: a language chosen in a link (`?lang=en`) sticks, as if switched in the header,
    so the redirect after a form or a correction does not fall back to the default."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        chosen = _query_lang(scope) if scope["type"] == "http" else None
        if chosen is None:
            return await self.app(scope, receive, send)

        async def sending(message):
            if message["type"] == "http.response.start":
                cookie = f"lang={chosen}; Max-Age={365 * 86400}; Path=/; SameSite=lax".encode()
                message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
            await send(message)

        return await self.app(scope, receive, sending)


def _query_lang(scope) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang") or []
    return values[-1] if values and values[-1] in LANGS else None
