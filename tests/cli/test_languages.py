"""The command line speaks one language: --lang, else SHUZHI_LANG, else the locale (LC_ALL, LC_MESSAGES,
LANG); both side by side, "中文 (English)", when none of them names zh or en. Its words, its help
and the errors it shows all come from the message catalog."""

from __future__ import annotations

import re

import pytest
import typer
import typer.main
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shuzhi.cli import app, build_app, lang
from shuzhi.i18n import split_examples, translator

runner = CliRunner()
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
NOTHING_CHOSEN = {
    "SHUZHI_LANG": None,
    "LC_ALL": None,
    "LC_MESSAGES": None,
    "LANG": "C.UTF-8",
    "COLUMNS": "200",
}
ENGLISH = [
    pytest.param(("--lang", "en"), {"SHUZHI_LANG": "zh", "LANG": "zh_CN.UTF-8"}, id="--lang"),
    pytest.param((), {"SHUZHI_LANG": "en", "LANG": "zh_CN.UTF-8"}, id="SHUZHI_LANG"),
    pytest.param((), {"LANG": "en_US.UTF-8"}, id="LANG"),
]
CHINESE = [
    pytest.param(("--lang", "zh"), {"SHUZHI_LANG": "en", "LANG": "en_US.UTF-8"}, id="--lang"),
    pytest.param((), {"SHUZHI_LANG": "ZH", "LANG": "en_US.UTF-8"}, id="SHUZHI_LANG"),
    pytest.param((), {"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, id="LC_MESSAGES"),
]


def run(options: tuple[str, ...], environ: dict, *args: str):
    return runner.invoke(app, [*options, *args], env={**NOTHING_CHOSEN, **environ})


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """A fresh instance with one department (it has an English name)."""
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SHUZHI_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert run((), {}, "init").exit_code == 0
    assert run((), {}, "dept", "add", "GA", "市公安局", "--en", "Public Security Bureau").exit_code == 0
    return tmp_path


# -- choosing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"LANG": "C"}, None),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "POSIX"}, None),
        ({"LANG": "zh_CN.UTF-8"}, "zh"),
        ({"LANG": "zh_TW"}, "zh"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "en"}, "en"),
        ({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, None),  # the first one set decides
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),
        ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ],
)
def test_the_locale_names_the_language(environ, expected):
    assert lang.from_locale(environ) == expected


@given(st.from_regex(r"[a-z]{2,3}(_[A-Z]{2})?(\.UTF-8)?", fullmatch=True))
def test_a_locale_of_another_language_chooses_neither(value):
    expected = value[:2] if value.split("_")[0].split(".")[0] in ("zh", "en") else None
    assert lang.from_locale({"LANG": value}) == expected


def test_an_unknown_language_is_refused_naming_where_it_came_from():
    r = run((), {"SHUZHI_LANG": "fr"}, "dataset", "list")
    assert r.exit_code == 2 and "SHUZHI_LANG" in r.output and "fr" in r.output


# -- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "environ"), ENGLISH)
def test_help_in_english(options, environ):
    r = run(options, environ, "dept", "list", "--help")
    assert r.exit_code == 0, r.output
    assert "List departments with their parents." in r.output and "Show this message and exit." in r.output
    assert not CJK.search(r.output), r.output


@pytest.mark.parametrize(("options", "environ"), CHINESE)
def test_help_in_chinese(options, environ):
    r = run(options, environ, "dept", "add", "--help")
    assert r.exit_code == 0, r.output
    assert "添加部门。" in r.output and "显示本帮助并退出。" in r.output and "部门代码，例如 GA" in r.output
    assert "示例" in r.output and "Example" not in r.output
    assert "Add a department" not in r.output and "Show this message" not in r.output


def test_help_where_nothing_chose_shows_both():
    r = run((), {}, "dept", "list", "--help")
    assert "列出部门及其上级。 (List departments with their parents.)" in r.output
    listing = run((), {}, "dept", "--help").output
    assert "列出部门及其上级。 (List departments with their parents.)" in listing


def test_the_root_help_is_translated_too():
    r = run(("--lang", "zh"), {}, "--help")
    assert "政务数据治理平台" in r.output and "government data" not in r.output
    assert "输出语言" in r.output  # --lang's own help


def _help_texts(command, path=()):
    yield path, command.help
    for param in command.params:
        yield (*path, param.name), getattr(param, "help", None)
    for name, sub in getattr(command, "commands", {}).items():
        yield from _help_texts(sub, (*path, name))


def test_every_help_text_is_in_the_catalog_in_both_languages():
    tree = typer.main.get_command(build_app())
    missing = [
        (where, words)
        for where, text in _help_texts(tree)
        if text and (words := split_examples(text)[0])
        for lang_ in ("zh", "en")
        if not translator(lang_).knows(words)
    ]
    assert not missing, f"help texts not in the catalog (run `make messages`, then translate): {missing}"


def test_the_help_option_of_every_command_is_translated():
    tree = typer.main.get_command(build_app())
    lang.use("zh")
    try:
        ctx = typer.Context(tree, info_name="shuzhi", help_option_names=["-h", "--help"])
        lang.translate_help(tree, ctx)
        for name, sub in tree.commands.items():
            assert sub.get_help_option(ctx).help == "显示本帮助并退出。", name
    finally:
        lang.use(None)


# -- what commands print ------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "environ"), ENGLISH)
def test_commands_speak_english_only(instance, options, environ):
    listing = run(options, environ, "dataset", "list")
    assert listing.exit_code == 0 and "0 datasets" in listing.output and "identifier" in listing.output
    added = run(options, environ, "dept", "add", "JY", "市教育局", "--en", "Education Bureau")
    assert added.exit_code == 0 and "department added: JY Education Bureau" in added.output
    for r in (listing, added):
        assert not CJK.search(r.output), r.output


@pytest.mark.parametrize(("options", "environ"), CHINESE)
def test_commands_speak_chinese_only(instance, options, environ):
    listing = run(options, environ, "dataset", "list")
    assert listing.exit_code == 0 and "共 0 个数据集" in listing.output and "标识" in listing.output
    assert "datasets" not in listing.output and "identifier" not in listing.output
    added = run(options, environ, "dept", "add", "JY", "市教育局", "--en", "Education Bureau")
    assert added.exit_code == 0 and "部门已添加: JY 市教育局" in added.output
    assert "added" not in added.output and "Education Bureau" not in added.output


def test_commands_where_nothing_chose_speak_both(instance):
    listing = run((), {}, "dataset", "list")
    assert "共 0 个数据集 (0 datasets)" in listing.output
    assert re.search(r"标识\s*┃?\s*.*\n.*identifier", listing.output), listing.output  # stacked header
    added = run((), {}, "dept", "add", "JY", "市教育局", "--en", "Education Bureau")
    assert "部门已添加 (department added): JY 市教育局" in added.output


def test_data_names_follow_the_language(instance):
    en = run(("--lang", "en"), {}, "dept", "list").output
    zh = run(("--lang", "zh"), {}, "dept", "list").output
    assert "Public Security Bureau" in en and "English name" in en and "Chinese name" in en
    assert "市公安局" in zh and "英文名称" in zh


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "environ"), ENGLISH)
def test_errors_in_english(instance, options, environ):
    domain = run(options, environ, "dataset", "show", "NO-SUCH")  # raised by the catalog domain
    face = run(options, environ, "ingest", "rows.csv")  # raised by the command itself
    assert domain.exit_code == 2 and "error:" in domain.output and "NO-SUCH" in domain.output
    assert face.exit_code == 2 and "error: Give --dataset, or --create" in face.output
    assert "where: --dataset" in face.output
    for r in (domain, face):
        assert not CJK.search(r.output), r.output


@pytest.mark.parametrize(("options", "environ"), CHINESE)
def test_errors_in_chinese(instance, options, environ):
    domain = run(options, environ, "dataset", "show", "NO-SUCH")
    face = run(options, environ, "ingest", "rows.csv")
    assert domain.exit_code == 2 and domain.output.startswith("错误: ") and CJK.search(domain.output[4:])
    assert face.exit_code == 2 and "错误: 请用 --dataset 指明数据集，或用 --create 新建" in face.output
    assert "位置: --dataset" in face.output
    for r in (domain, face):
        assert not re.search(r"\b(error|where|give|no dataset)\b", r.output, re.IGNORECASE), r.output


def test_errors_where_nothing_chose_show_both(instance):
    face = run((), {}, "ingest", "rows.csv")
    assert (
        "错误 (error): 请用 --dataset 指明数据集，或用 --create 新建 (Give --dataset, or --create)"
        in face.output
    )
    assert "位置 (where): --dataset" in face.output


@pytest.mark.parametrize(
    ("options", "asked"), [(("--lang", "en"), "Password: "), (("--lang", "zh"), "密码: ")]
)
def test_prompts_in_the_chosen_language(instance, options, asked):
    r = runner.invoke(
        app,
        [*options, "user", "add", "li.na", "--dept", "GA", "--role", "analyst"],
        input="a-long-password-2026\na-long-password-2026\n",
        env=NOTHING_CHOSEN,
    )
    assert r.exit_code == 0, r.output
    assert r.output.startswith(asked), r.output
