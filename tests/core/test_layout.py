"""The core never imports the faces: domains are usable without the web app or the CLI.

A domain's plugin module is its wiring: its hooks hand the faces their routers and commands, so they
name face modules, but only inside the hook functions the faces call; importing it loads no face."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "shuzhi"
FACES = ("shuzhi.web", "shuzhi.cli")


def _hookimpls(tree: ast.Module) -> list[ast.FunctionDef]:
    return [
        f
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and any(ast.unparse(d) == "hookimpl" for d in f.decorator_list)
    ]


def _imports(path: Path) -> set[str]:
    names = set()
    tree = ast.parse(path.read_text("utf-8"))
    # A plugin module's hook implementations are called by the faces; the rest of it is checked.
    hooks = {id(n) for f in _hookimpls(tree) for n in ast.walk(f)} if path.name == "plugin.py" else set()
    for node in ast.walk(tree):
        if id(node) in hooks:
            continue
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_core_modules_do_not_import_faces():
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).parts
        if rel[0] in ("web", "cli"):
            continue
        bad = [m for m in _imports(path) if m.startswith(FACES)]
        if bad:
            offenders.append(f"{'/'.join(rel)}: {bad}")
    assert offenders == []
