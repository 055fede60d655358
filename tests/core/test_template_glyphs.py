"""Pages use no emoji or symbol glyphs that a server with only a CJK font would draw as empty boxes."""

from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "src" / "shuzhi" / "web"
# Symbols that WenQuanYi Micro Hei (the usual CJK font of a Debian server) does have.
ALLOWED = {"\u2713", "\u2718"}  # ✓ ✘


def _risky(ch: str) -> bool:
    code = ord(ch)
    # Miscellaneous Symbols, Dingbats and everything from the emoji planes up: ⚠, ✗, 🔔…
    return (0x2600 <= code <= 0x27BF or code >= 0x1F000) and ch not in ALLOWED


@pytest.mark.parametrize(
    "path", sorted([*WEB.glob("templates/**/*.html"), *WEB.glob("static/**/*.css")]), ids=lambda p: p.name
)
def test_no_glyph_a_cjk_only_font_lacks(path):
    found = [
        f"{n}: U+{ord(ch):04X} {ch}"
        for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        for ch in line
        if _risky(ch)
    ]
    assert found == []
