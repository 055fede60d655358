"""The command line's sources hold no Chinese of their own: what it says is in the catalog (English
msgids, Chinese in the zh_CN catalog). Chinese may stand only in its help's examples (commands, shown
as written) and in the few data values listed here."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import shuzhi.cli
from shuzhi.i18n import split_examples

CLI = Path(shuzhi.cli.__file__).parent
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
DATA = {
    ("core.py", "大数据管理局"): "the name of the department `init --admin-password` creates: stored data",
    ("core.py", "平台管理员"): "the display name of the admin user `init` creates: stored data",
}
"""Chinese literals that are data, not words: (file, literal) → why."""

COMMAND_MARK = "reports_errors"
"""Every command carries this decorator; its docstring is the command's help (babel.cfg)."""


def _decorated(node: ast.AST) -> bool:
    names = set()
    for d in getattr(node, "decorator_list", []):
        while isinstance(d, ast.Call | ast.Attribute):
            d = d.func if isinstance(d, ast.Call) else d.value
        names.add(getattr(d, "id", ""))
    return COMMAND_MARK in names


def _help_strings(tree: ast.Module) -> dict[int, bool]:
    """id() of each help text's literal → whether it is a command's docstring or help= (whose
    examples may hold Chinese); other docstrings are the code's own notes, not output."""
    found: dict[int, bool] = {}
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef) and body:
            first = body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found[id(first.value)] = isinstance(node, ast.FunctionDef) and _decorated(node)
        if isinstance(node, ast.keyword) and node.arg == "help" and isinstance(node.value, ast.Constant):
            found[id(node.value)] = True
    return found


def chinese_outside_the_catalog(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    helps = _help_strings(tree)
    offenders = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value)):
            continue
        if id(node) in helps:
            # Typer shows a docstring as inspect.getdoc() gives it; its examples start a line.
            if helps[id(node)] and CJK.search(split_examples(inspect.cleandoc(node.value))[0]):
                offenders.append(f"{path.name}:{node.lineno} help text {node.value[:40]!r}")
            continue
        if (path.name, node.value) not in DATA:
            offenders.append(f"{path.name}:{node.lineno} {node.value[:40]!r}")
    return offenders


def test_the_cli_sources_hold_no_chinese_outside_the_catalog():
    offenders = [o for path in sorted(CLI.glob("*.py")) for o in chinese_outside_the_catalog(path)]
    assert not offenders, f"Chinese written into the command line instead of the catalog: {offenders}"


def test_the_check_catches_a_chinese_literal(tmp_path):
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Notes for the code: 中文 is fine here."""\n'
        "import typer\n\n\n"
        "@reports_errors\n"
        "def cmd(x: str = typer.Option(None, help='Only these\\n\\nExample:  shuzhi cmd --x 杭州')) -> None:\n"
        '    """Do it.\n\n    Example:  shuzhi cmd --x 杭州\n    """\n'
        '    console.print(f"已完成 done: {x}")\n\n\n'
        "@reports_errors\n"
        "def other() -> None:\n"
        '    """做事 Do something."""\n',
        encoding="utf-8",
    )
    offenders = chinese_outside_the_catalog(source)
    assert len(offenders) == 2, offenders
    assert "已完成" in offenders[0] + offenders[1] and "做事" in offenders[0] + offenders[1]
