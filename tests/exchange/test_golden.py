"""Golden files: consumer SQL in, rewritten SQL out, for DuckDB and for Spark.

Each tests/exchange/golden/*.sql holds an `-- input` section and one `-- duckdb` and one
`-- spark` section (or `-- error` with the refusal text). Set SHUZHI_UPDATE_GOLDEN=1 to rewrite
the expected sections after a deliberate change, then review the diff.
"""

import os
import re
from pathlib import Path

import pytest
from tests.exchange.policy_tables import TABLES

from shuzhi.errors import ShuzhiError
from shuzhi.exchange.policy import govern

GOLDEN = Path(__file__).parent / "golden"
SECTION = re.compile(r"^-- (input|duckdb|spark|error)\s*$", re.M)


def read_sections(path: Path) -> dict[str, str]:
    parts = SECTION.split(path.read_text(encoding="utf-8"))
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def render_one(sql: str, dialect: str) -> str:
    try:
        return govern(sql, TABLES, write=dialect).tree.sql(dialect=dialect, pretty=True)
    except ShuzhiError as e:
        return f"REFUSED: {e.message}"


def render(sql: str) -> dict[str, str]:
    out = {dialect: render_one(sql, dialect) for dialect in ("duckdb", "spark")}
    if len(set(out.values())) == 1 and out["duckdb"].startswith("REFUSED: "):
        return {"error": out["duckdb"].removeprefix("REFUSED: ")}
    return out


def write_sections(path: Path, sections: dict[str, str]) -> None:
    text = "".join(f"-- {name}\n{body}\n" for name, body in sections.items())
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.sql")), ids=lambda p: p.stem)
def test_golden(path: Path):
    expected = read_sections(path)
    actual = render(expected["input"])
    if os.environ.get("SHUZHI_UPDATE_GOLDEN"):
        write_sections(path, {"input": expected["input"], **actual})
        return
    assert {k: v for k, v in expected.items() if k != "input"} == actual


def test_golden_files_exist():
    assert len(list(GOLDEN.glob("*.sql"))) >= 10
