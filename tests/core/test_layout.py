"""The core never imports the faces: domains are usable without the web app or the CLI."""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "shuzhi"
FACES = ("shuzhi.web", "shuzhi.cli")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
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
