"""Errors speak from the message catalog: keyed messages, filled with their values, in the reader's
language — and no domain raises an error with text of its own."""

from __future__ import annotations

import ast
import importlib
import pickle
import pkgutil
import re
from pathlib import Path

import shuzhi
from shuzhi import i18n
from shuzhi.errors import InvalidInput, ShuzhiError, in_language
from shuzhi.i18n import M_, Message

SRC = Path(shuzhi.__file__).parent
CJK = re.compile(r"[\u3400-\u9fff]")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sr]")


def _error_names() -> set[str]:
    for info in pkgutil.walk_packages(shuzhi.__path__, "shuzhi."):
        if ".demo" in info.name or info.name.endswith("__main__"):
            continue
        importlib.import_module(info.name)
    names, todo = set(), [ShuzhiError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _literal_messages(path: Path, errors: set[str]):
    tree = ast.parse(path.read_text())
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name not in errors:
            continue
        texts = list(call.args[:1]) + [k.value for k in call.keywords if k.arg in ("message", "hint")]
        places = [k.value for k in call.keywords if k.arg == "where"]
        for node in texts + places:
            literal = isinstance(node, ast.JoinedStr) or (
                isinstance(node, ast.Constant) and isinstance(node.value, str)
            )
            if (literal and node not in places) or _holds_chinese(node):
                yield f"{path.relative_to(SRC)}:{node.lineno}"


def _holds_chinese(node: ast.AST) -> bool:
    """Text put together from pieces (`"…" + ", ".join(…)`, a conditional) still holds its own words;
    a `where=` names a field or a place in the input, never in Chinese."""
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) and CJK.search(n.value)
        for n in ast.walk(node)
    )


def test_no_error_is_raised_with_text_of_its_own():
    errors = _error_names()
    assert {"InvalidInput", "NotFound", "QueryFailed", "ReadDirectly"} <= errors
    offenders = [
        where
        for path in sorted(SRC.rglob("*.py"))
        if "demo" not in path.parts
        for where in _literal_messages(path, errors)
    ]
    assert not offenders, f"errors raised with a literal message instead of M_(…): {offenders}"


def _catalog_entries() -> list[tuple[str, str]]:
    zh = i18n._messages("zh")
    return [(msgid, text) for (context, msgid), text in zh.items() if context is None]


def test_each_translation_fills_only_values_its_message_has():
    bad = [
        (msgid, text)
        for msgid, text in _catalog_entries()
        if not set(PLACEHOLDER.findall(text)) <= set(PLACEHOLDER.findall(msgid))
    ]
    assert not bad


def test_a_keyed_message_in_each_language_and_both_where_none_was_chosen():
    msg = M_("dataset %(identifier)s is not shared", identifier="GA-RK-001")
    assert msg.in_lang("en") == "dataset GA-RK-001 is not shared"
    zh = msg.in_lang("zh")
    assert "GA-RK-001" in zh and CJK.search(zh) and "shared" not in zh
    assert str(msg) == f"{zh} ({msg.in_lang('en')})"
    error = InvalidInput(msg, where="dataset")
    assert error.say("en") == msg.in_lang("en") and error.say("zh") == zh
    assert error.to_dict("en")["message"] == msg.in_lang("en")
    assert in_language(msg, "zh") == zh


def test_a_value_that_is_a_message_follows_the_language():
    msg = M_("a reason is required for the %(what)s", what=M_("rejection"))
    assert msg.in_lang("en") == "a reason is required for the rejection"
    assert "rejection" not in msg.in_lang("zh") and i18n.translator("zh").gettext("rejection") in msg.in_lang(
        "zh"
    )


def test_a_message_survives_a_process_boundary():
    msg = M_("query too long (%(count)s characters, at most %(max_chars)s)", count=9, max_chars=8)
    back = pickle.loads(pickle.dumps(msg))
    assert isinstance(back, Message) and back == msg and back.in_lang("en") == msg.in_lang("en")


def test_values_are_never_read_as_formatting():
    # A value holding "%(x)s" or a lone "%" is shown as it came, not formatted again.
    msg = M_("unknown format %(fmt)r", fmt="%(evil)s %")
    assert "%(evil)s %" in msg.in_lang("en") and "%(evil)s %" in msg.in_lang("zh")


def test_a_record_keeps_a_message_in_both_languages_and_lines_join_per_language():
    from shuzhi.i18n import joined

    msg = M_("dataset %(identifier)s is not shared", identifier="X")
    assert msg.both() == {"zh": msg.in_lang("zh"), "en": "dataset X is not shared"}
    line = joined([msg, M_("done")])
    assert line.in_lang("en") == "dataset X is not shared; done"
    assert line.in_lang("zh") == f"{msg.in_lang('zh')}；{M_('done').in_lang('zh')}"
