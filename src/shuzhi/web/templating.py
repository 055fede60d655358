"""Jinja2 templates with the bilingual helpers every page uses."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from shuzhi.catalog import vocab
from shuzhi.oversight import clock
from shuzhi.web import flash

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANGS = ("zh", "en")


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
    """What every template sees: the language, `t(zh, en)`, vocabulary labels, the viewer, the CSRF token."""
    lang = request_lang(request)

    def t(zh: str, en: str) -> str:
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

    return {
        "lang": lang,
        "t": t,
        "label": label,
        "local_time": local_time,
        "principal": principal,
        "csrf_token": csrf_token,
        "banner": flash.pending(request),
        "unread_notifications": lambda: unread_notifications(request, principal),
    }


templates = Jinja2Templates(directory=str(TEMPLATES_DIR), context_processors=[page_context])
templates.env.globals["vocab_codes"] = vocab.codes
