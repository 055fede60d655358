"""The message catalog: every user-facing string of the pages in zh_CN and en (gettext, via Babel)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "shuzhi"
LOCALES = {"zh": "zh_CN", "en": "en"}
"""The platform's languages (as pages name them) and their catalogs' locales."""


def catalog_path(lang: str) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def _messages(lang: str) -> dict[tuple[str | None, str], str]:
    """(context, msgid) → translation, read once per process from the language's `.po` file (Babel's
    reader: the catalogs are kept as text, reviewed as text, and never go stale as compiled copies)."""
    from babel.messages.pofile import read_po  # here, not at import: errors import this module

    path = catalog_path(lang)
    if not path.exists():
        return {}
    with path.open("rb") as f:
        po = read_po(f, locale=LOCALES[lang], domain=DOMAIN)
    return {(m.context, m.id): m.string for m in po if m.id and isinstance(m.id, str) and m.string}


class Translator:
    """gettext for one language. A message missing from the catalog shows its msgid (the English
    source text); the catalog test keeps that from ever reaching a page."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LOCALES else "zh"

    def gettext(self, message: str) -> str:
        return _messages(self.lang).get((None, message)) or message

    def knows(self, message: str) -> bool:
        """Whether the catalog holds `message` (without a context)."""
        return (None, message) in _messages(self.lang)

    def pgettext(self, context: str, message: str) -> str:
        return _messages(self.lang).get((context, message)) or message


@cache
def translator(lang: str) -> Translator:
    return Translator(lang)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for "mark for the catalog, translate later"
    """Mark a message for the catalog where it is defined (a banner, a table of words); it is
    translated where it is shown, in the reader's language."""
    return message


def _fill(text: str, params: dict) -> str:
    # A message's values are filled in after translation, never translated themselves; a translation
    # that does not fit its values shows the source text rather than failing the error it carries.
    try:
        return text % params
    except (KeyError, TypeError, ValueError):
        return text


class Message(str):
    """A catalog message with its values, for errors and output made far from the reader: it reads as
    "中文 (English)" where no language was chosen (logs, a client that asked for none) and in one
    language through `in_lang`. Values are named `%(name)s` in the msgid (gettext's python-format)."""

    msgid: str
    params: dict
    excerpt: str

    def __new__(cls, msgid: str, /, *, excerpt: str = "", **params) -> Message:
        zh, en = _fill(translator("zh").gettext(msgid), _in("zh", params)), _fill(msgid, _in("en", params))
        self = super().__new__(cls, (en if zh == en else f"{zh} ({en})") + excerpt)
        self.msgid, self.params, self.excerpt = msgid, params, excerpt
        return self

    def in_lang(self, lang: str) -> str:
        """The message in `lang`; an `excerpt` (the reader's own input quoted back under the message,
        such as a query line with a caret) follows it unchanged."""
        return _fill(translator(lang).gettext(self.msgid), _in(lang, self.params)) + self.excerpt

    def both(self) -> dict[str, str]:
        """{"zh": …, "en": …}: the message as a record keeps it (a grade's flag, its rule)."""
        return {lang: self.in_lang(lang) for lang in ("zh", "en")}

    def __reduce__(self):  # keeps the message whole across processes (job workers, the SQL sandbox)
        return (_rebuild, (self.msgid, self.params, self.excerpt))


class Pair:
    """A value that comes with the data in both languages (a state's label, a parameter's name): the
    message shows the half in its own language."""

    __slots__ = ("zh", "en")

    def __init__(self, zh: str, en: str | None) -> None:
        self.zh, self.en = zh, en or zh

    def in_lang(self, lang: str) -> str:
        return self.en if lang == "en" else self.zh

    def __str__(self) -> str:
        return self.zh if self.zh == self.en else f"{self.zh} ({self.en})"

    def __repr__(self) -> str:
        return repr(str(self))

    def __reduce__(self):
        return (Pair, (self.zh, self.en))


def joined(messages: list[Message]) -> Pair:
    """Several messages as one line in either language (Chinese joins with "；", English with "; ")."""
    return Pair("；".join(m.in_lang("zh") for m in messages), "; ".join(m.in_lang("en") for m in messages))


def _in(lang: str, params: dict) -> dict:
    """Values that are messages (or pairs) themselves, e.g. "the rejection" in "a reason is required
    for …", in `lang`."""
    return {k: v.in_lang(lang) if isinstance(v, Message | Pair) else v for k, v in params.items()}


def _rebuild(msgid: str, params: dict, excerpt: str = "") -> Message:
    return Message(msgid, excerpt=excerpt, **params)


M_ = Message
"""Mark and build a keyed message: `M_("Dataset %(name)s not found", name=name)`. Babel extracts it
(`-k M_`, see babel.cfg and the Makefile) like any other catalog string."""


EXAMPLES = r"^(Examples?):"
"""Where a help text's examples begin (a line of its own): they are commands, shown as written in
every language."""


def split_examples(text: str) -> tuple[str, str]:
    """A help text's words (the catalog's message) and its examples ("" when it has none)."""
    import re

    found = re.search(EXAMPLES, text, re.MULTILINE)
    if found is None:
        return text, ""
    return text[: found.start()].rstrip(), text[found.start() :]


def extract_with_help(fileobj, keywords, comment_tags, options):
    """Babel's Python extractor, plus the help texts of command-line commands, which Typer reads from
    places gettext's keywords do not reach: the docstrings of functions decorated with one of
    `options["docstrings_of"]` (comma-separated names, in babel.cfg) and literal `help=` arguments;
    each without its examples (`split_examples`), as the command line translates them."""
    import ast
    import io

    from babel.messages.extract import extract_python

    def name(decorator: ast.expr) -> str:  # app.command("x") and reports_errors alike
        while isinstance(decorator, ast.Call | ast.Attribute):
            decorator = decorator.func if isinstance(decorator, ast.Call) else decorator.value
        return decorator.id if isinstance(decorator, ast.Name) else ""

    source = fileobj.read()
    yield from extract_python(io.BytesIO(source), keywords, comment_tags, options)
    marks = {mark.strip() for mark in options.get("docstrings_of", "").split(",") if mark.strip()}
    for node in ast.walk(ast.parse(source)):
        text = None
        if isinstance(node, ast.FunctionDef) and marks & {name(d) for d in node.decorator_list}:
            text = ast.get_docstring(node)
        elif isinstance(node, ast.keyword) and node.arg == "help" and isinstance(node.value, ast.Constant):
            text = node.value.value if isinstance(node.value.value, str) else None
        if text and (words := split_examples(text)[0]):
            yield node.lineno, None, words, []
