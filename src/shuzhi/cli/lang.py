"""The command line's language: chosen once per run (--lang, SHUZHI_LANG, the locale), and the
catalog's words in it — both side by side, "中文 (English)", where nothing chose."""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

import typer
from typer.core import TyperCommand, TyperGroup

from shuzhi.i18n import N_, Message, split_examples, translator


class Language(enum.StrEnum):
    """The values of --lang (and SHUZHI_LANG)."""

    zh = "zh"
    en = "en"


LANGUAGES = tuple(Language)

LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")
"""Where the locale is read, in POSIX's order: the first one set decides."""

_chosen: str | None = None

# Typer's and Click's own help texts, and the label of a help's examples: in the catalog too.
HELP_WORDS = (
    N_("Show this message and exit."),
    N_("Install completion for the current shell."),
    N_("Show completion for the current shell, to copy it or customize the installation."),
    N_("Example"),
    N_("Examples"),
)


def from_locale(environ: Mapping[str, str] = os.environ) -> str | None:
    """zh or en from the first locale variable that is set; None for C, POSIX and other languages."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name)
        if value:
            prefix = value.split("_")[0].split(".")[0].lower()
            return prefix if prefix in LANGUAGES else None
    return None


def choose(option: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """The run's language: --lang (Click reads SHUZHI_LANG into it too), else the locale's."""
    return option or from_locale(environ)


def use(lang: str | None) -> None:
    global _chosen
    _chosen = lang if lang in LANGUAGES else None


def current() -> str | None:
    """The chosen language, or None: both, side by side."""
    return _chosen


def _(msgid: str, /, **values) -> str:
    """A catalog message with its values, in the chosen language; where none was chosen, the
    `Message` itself, which reads "中文 (English)" and can still be laid out otherwise (a table's
    header puts its two languages on two lines, to keep the columns narrow)."""
    message = Message(msgid, **values)
    return message.in_lang(_chosen) if _chosen else message


def say(text: str | None) -> str:
    """A text made far from here (an error's message or hint, keyed or written in both languages) in
    the chosen language; whole where none was chosen."""
    from shuzhi.errors import in_language

    return (in_language(text, _chosen) if _chosen else text) or ""


def pick(zh: str | None, en: str | None) -> str:
    """One of two texts the data carries (a title, a department's name): English in English where it
    has one, else the Chinese (as before a language was chosen)."""
    return (en or zh or "") if _chosen == "en" else (zh or en or "")


def named(thing) -> str:
    """A dataset's title or a department's name in the chosen language."""
    for zh_attr, en_attr in (("title_zh", "title_en"), ("name_zh", "name_en")):
        if hasattr(thing, zh_attr):
            return pick(getattr(thing, zh_attr), getattr(thing, en_attr, None))
    return str(thing)


def label(vocab_name: str, code: str | None) -> str:
    """A controlled vocabulary's label for `code`, English in English."""
    from shuzhi.catalog import vocab

    return vocab.label(vocab_name, code, "en" if _chosen == "en" else "zh")


def help_text(source: str) -> str:
    """A help text (a command's docstring, an option's help) in the chosen language; its examples
    (from a line "Example:" on) are commands, shown as written. Where no language was chosen, one
    line reads "中文 (English)", and longer texts give the Chinese, then the English."""
    words, examples = split_examples(source)
    if _chosen:
        text = translator(_chosen).gettext(words)
    else:
        zh = translator("zh").gettext(words)
        text = words if zh == words else f"{zh} ({words})" if "\n" not in words else f"{zh}\n\n{words}"
    if examples:
        label, rest = examples.split(":", 1)
        text = f"{text}\n\n{_(label)}:{rest}" if text else f"{_(label)}:{rest}"
    return text


def _first_paragraph(text: str) -> str:
    return text.split("\n\n")[0].replace("\n", " ").strip()


def translate_help(command: TyperCommand | TyperGroup, ctx: typer.Context) -> None:
    """Put the help of `command`, its parameters (their prompts, and its help option too: Click
    makes that once per command, given a context to name it) and its subcommands into the chosen
    language.

    Typer builds a fresh Click command tree for each run; the sources' help texts (the msgids) are
    kept aside on first use, so that a tree can be put into another language later."""
    if not hasattr(command, "_help_source"):
        command._help_source = command.help
    if command._help_source:
        command.help = help_text(command._help_source)
        # A command list shows a help's first paragraph: where both languages are shown, both's.
        words = split_examples(command._help_source)[0]
        zh = translator("zh").gettext(words)
        both = not _chosen and "\n" in words and zh != words
        command.short_help = f"{_first_paragraph(zh)} ({_first_paragraph(words)})" if both else None
    for param in [*command.params, command.get_help_option(ctx)]:
        if param is None:
            continue
        if not hasattr(param, "_help_source"):
            param._help_source = getattr(param, "help", None)
        if param._help_source:
            param.help = help_text(param._help_source)
        if isinstance(getattr(param, "prompt", None), str):  # asked for when not given
            if not hasattr(param, "_prompt_source"):
                param._prompt_source = param.prompt
            param.prompt = _(param._prompt_source)
    for sub in getattr(command, "commands", {}).values():
        translate_help(sub, ctx)
