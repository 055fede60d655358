"""The message catalog: every string a page shows is in it, in Chinese and in English, and templates
hold no language of their own (their Chinese lives in the zh_CN catalog)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

import shuzhi
from shuzhi import i18n

SRC = Path(shuzhi.__file__).parent
TEMPLATES = SRC / "web" / "templates"
METHODS = [("web/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
CJK = re.compile(r"[\u3400-\u9fff]")


def _used() -> dict[tuple[str | None, str], str]:
    """Every message the sources ask the catalog for, as Babel's extractor finds them."""
    found = {}
    for filename, _lineno, message, _comments, context in extract_from_dir(
        SRC, METHODS, keywords={**DEFAULT_KEYWORDS, "M_": None}
    ):
        if isinstance(message, tuple):  # plural forms: the singular names the entry
            message = message[0]
        if message:
            found[(context, message)] = filename
    return found


def _catalog(lang: str) -> dict[tuple[str | None, str], str]:
    with i18n.catalog_path(lang).open("rb") as f:
        return {(m.context, m.id): m.string for m in read_po(f) if m.id}


def test_the_sources_use_the_catalog():
    assert len(_used()) > 200


@pytest.mark.parametrize("lang", sorted(i18n.LOCALES))
def test_every_message_is_in_the_catalog_in_each_language(lang):
    catalog = _catalog(lang)
    missing = {key: where for key, where in _used().items() if not catalog.get(key)}
    assert not missing, f"not in the {lang} catalog (run `make messages`, then translate): {missing}"


def test_the_catalogs_hold_the_same_entries_and_each_language_is_its_own():
    zh, en = _catalog("zh"), _catalog("en")
    assert zh.keys() == en.keys()
    untranslated = [key for key, text in zh.items() if not CJK.search(text) and CJK.search(key[1]) is None]
    # a few entries are the same in both languages (a product name, an acronym); no more
    assert len(untranslated) <= 12, untranslated
    assert not [key for key, text in en.items() if CJK.search(text)]


OWN_NAMES = ("数治", "'中文'")
"""Written as themselves in every language: the product's name, and Chinese named in Chinese on the
language switch (as English is named in English)."""


def test_templates_hold_no_chinese_of_their_own():
    def own_words(text: str) -> str:
        for name in OWN_NAMES:
            text = text.replace(name, "")
        return text

    offenders = {
        p.name: CJK.findall(own_words(p.read_text()))[:5]
        for p in TEMPLATES.rglob("*.html")
        if CJK.search(own_words(p.read_text()))
    }
    assert not offenders, f"Chinese written into templates instead of the catalog: {offenders}"


def test_data_choices_are_the_only_bilingual_pairs_in_templates():
    """`pick(zh, en)` chooses between two texts that come with the data (vocabularies, detectors,
    event types); a literal string there would be a page string kept out of the catalog."""
    literal = re.compile(r"pick\(\s*['\"]")
    offenders = [p.name for p in TEMPLATES.rglob("*.html") if literal.search(p.read_text())]
    assert not offenders


def test_a_page_shows_the_catalogs_text_in_each_language(client):
    zh, en = client.get("/login?lang=zh").text, client.get("/login?lang=en").text
    assert i18n.translator("zh").gettext("Log in") in zh and "Log in" in en
    assert i18n.translator("zh").gettext("Log in") != "Log in"


FACES = ("web", "notify")
"""Code that makes what pages and notifications say: its words come from the catalog."""
API_SCHEMA = ("web/api/", "web/openapi.py", "web/catalog_query.py")
"""The API's published schema (tags, parameter and response descriptions) is read by the authors of
programs, in both languages at once, and stays bilingual; errors these modules raise are checked by
test_error_messages like any other."""
KEPT = {
    ("web/app.py", "title="): "the API schema's title: the product's name in both languages",
    ("web/app.py", "description="): "the API schema's description",
    ("notify/plugin.py", "title="): "a job's title, declared in both languages as every domain's jobs are",
    (
        "web/pages/exchange.py",
        "PREVIEW_PURPOSE",
    ): "written into the ledger as the read's purpose: kept as stored",
    (
        "web/pages/exchange.py",
        "DOWNLOAD_PURPOSE",
    ): "written into the ledger as the read's purpose: kept as stored",
}
"""Chinese that stays in the code on purpose, by file and the name it is given (an assignment's, or a
keyword argument's `name=`), with the reason."""


def _chinese_literals(path: Path):
    """(owner, line) of each string literal holding Chinese, docstrings aside; the owner is the
    innermost keyword argument or assigned name the literal stands in."""
    tree = ast.parse(path.read_text())
    docstrings = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}
    owner: dict[int, str] = {}
    for node in ast.walk(tree):  # outer before inner, so the innermost owner is kept
        named = (
            f"{node.arg}="
            if isinstance(node, ast.keyword) and node.arg
            else node.targets[0].id
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            else None
        )
        if named:
            for inner in ast.walk(node.value):
                owner[id(inner)] = named
    for node in ast.walk(tree):
        literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if literal and id(node) not in docstrings and CJK.search(node.value):
            yield owner.get(id(node), ""), node.lineno


def test_pages_and_notifications_hold_no_chinese_of_their_own():
    offenders, kept = [], set()
    for face in FACES:
        for path in sorted((SRC / face).rglob("*.py")):
            name = path.relative_to(SRC).as_posix()
            if name.startswith(API_SCHEMA):
                continue
            for owner, line in _chinese_literals(path):
                if (name, owner) in KEPT:
                    kept.add((name, owner))
                else:
                    offenders.append(f"{name}:{line}")
    assert not offenders, f"Chinese written into the code instead of the catalog: {offenders}"
    assert kept == set(KEPT), f"kept on purpose, but no longer there: {set(KEPT) - kept}"
