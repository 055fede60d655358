"""The threat model names every security regression test, and every one it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _named_in_doc() -> set[str]:
    text = (ROOT / "docs" / "security.md").read_text("utf-8")
    return set(re.findall(r"`(test_f\d+[a-z0-9_*]*\.py)`", text))


def test_every_finding_test_is_in_the_threat_model():
    named = _named_in_doc()
    files = sorted(p.name for p in HERE.glob("test_f*.py"))
    assert files
    missing = [f for f in files if f not in named and not any(Path(f).match(n) for n in named if "*" in n)]
    assert missing == [], "tests/security files not named in docs/security.md"


def test_every_test_the_threat_model_names_exists():
    for name in _named_in_doc():
        assert list(HERE.glob(name)), f"docs/security.md names {name}, which does not exist"
