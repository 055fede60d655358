"""Domain errors that faces turn into HTTP statuses and CLI messages."""

from __future__ import annotations

import re

from shuzhi.i18n import Message

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def in_language(text: str | None, lang: str) -> str | None:
    """One language out of a message: a keyed message (`shuzhi.i18n.Message`) from the catalog; a
    bilingual text "中文 (English)" or "中文 / English" gives the Chinese
    for `zh`, the English for `en`; a text in one language (or any other shape) is kept whole."""
    if not text or lang not in ("zh", "en"):
        return text
    if isinstance(text, Message):
        return text.in_lang(lang)
    halves = _halves(text)
    if halves is None:
        return text
    return halves[0] if lang == "zh" else halves[1]


def _halves(text: str) -> tuple[str, str] | None:
    # "中文 / English" first: its English half may end in a parenthesis of its own ("… (2027-01-01)").
    if " / " in text:
        zh, en = text.split(" / ", 1)
        if _CJK.search(zh) and en.strip() and not _CJK.search(en):
            return zh.strip(), en.strip()
    stripped = text.rstrip()
    if stripped.endswith(")"):
        depth = 0
        for i in range(len(stripped) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(stripped[i], 0)
            if depth == 0:
                zh, en = stripped[:i].rstrip(), stripped[i + 1 : -1].strip()
                if zh and en and _CJK.search(zh) and not _CJK.search(en):
                    return zh, en
                break
    return None


class ShuzhiError(Exception):
    """Base error: a message for people, plus where the problem is when known."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None, **detail):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint
        self.detail = detail

    def say(self, lang: str) -> str:
        """The message in one language (zh or en): from the catalog for a keyed message
        (`shuzhi.i18n.Message`), else split from its bilingual text (see `in_language`)."""
        return in_language(self.message, lang) or ""

    def hint_in(self, lang: str) -> str | None:
        return in_language(self.hint, lang)

    def to_dict(self, lang: str | None = None) -> dict:
        """The error as the API answers it: bilingual, or in `lang` when the client asked for one."""
        out = {"error": self.code, "message": self.say(lang) if lang else self.message}
        if self.where:
            out["where"] = in_language(self.where, lang) if lang else self.where
        if self.hint:
            out["hint"] = self.hint_in(lang) if lang else self.hint
        if self.detail:
            out.update(self.detail)
        return out

    def __str__(self) -> str:
        parts = [self.message]
        if self.where:
            parts.append(f"({self.where})")
        if self.hint:
            parts.append(f"— {self.hint}")
        return " ".join(parts)


class InvalidInput(ShuzhiError):
    status = 422
    code = "invalid_input"


class NotFound(ShuzhiError):
    status = 404
    code = "not_found"


class Unauthenticated(ShuzhiError):
    status = 401
    code = "unauthenticated"


class Forbidden(ShuzhiError):
    status = 403
    code = "forbidden"


class Conflict(ShuzhiError):
    status = 409
    code = "conflict"


class Throttled(ShuzhiError):
    """Refused for now; `retry_after` (seconds) says when to try again."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, **kw):
        super().__init__(message, retry_after=retry_after, **kw)
        self.retry_after = retry_after


class TooLarge(ShuzhiError):
    status = 413
    code = "too_large"


class DataDamaged(ShuzhiError):
    """A version's file is not the bytes that were ingested: reads of it are refused until it is
    restored or loaded again (the server's fault, not the caller's; retrying does not help)."""

    status = 500
    code = "version_damaged"


class SourceUnavailable(ShuzhiError):
    status = 502
    code = "source_unavailable"


class ServerFailure(ShuzhiError):
    """Something failed on the server's side, not in the request: the caller cannot fix it."""

    status = 500
    code = "internal_error"


class Unavailable(ServerFailure):
    """A server-side failure that may pass (the store, a worker, a full pool): retrying may help."""

    status = 503
    code = "unavailable"


class ConfigurationError(ShuzhiError):
    """The settings (environment, shuzhi.toml) or what they point at keep the platform from starting."""

    status = 500
    code = "configuration"


class StoreUnavailable(Unavailable):
    """The metadata store does not answer, or answers that its tables are gone."""

    code = "store_unavailable"


class Busy(Unavailable):
    """The store (or another shared resource) is too busy right now; the same call may succeed soon."""

    code = "busy"
    retry_after = 1
