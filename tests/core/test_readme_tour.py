"""The README's command-line tour runs as written: every `.venv/bin/shuzhi` line of its two blocks,
in order, on a fresh instance and on the demo city."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shuzhi.cli import app

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ".venv/bin/shuzhi"


def _tour_blocks() -> list[list[list[str]]]:
    """The README's code blocks that run the program, each a list of argument lists."""
    text = (ROOT / "README.md").read_text("utf-8")
    blocks = []
    for body in re.findall(r"^```\n(.*?)^```", text, flags=re.S | re.M):
        lines = [ln for ln in body.splitlines() if ln.startswith(PROGRAM + " ")]
        if lines:
            blocks.append([shlex.split(ln, comments=True)[1:] for ln in lines])
    return blocks


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, f"shuzhi {shlex.join(args)}\n{result.output}"
    assert "错误 (error)" not in result.output, result.output
    return result.output


@pytest.fixture
def fresh_dir(tmp_path, monkeypatch):
    """An empty instance directory as `./shuzhi-data` would be, run from the repository's root
    (where `samples/` is), with no settings file."""
    for name in list(os.environ):
        if name.startswith("SHUZHI_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "shuzhi-data"))
    monkeypatch.setenv("SHUZHI_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("COLUMNS", "160")
    monkeypatch.chdir(ROOT)
    return tmp_path


def test_the_readme_has_the_two_tours():
    fresh, demo = _tour_blocks()
    assert fresh[0] == ["--help"] and fresh[1][0] == "init" and fresh[-1] == ["serve"]
    assert (ROOT / "samples" / "people.csv").is_file()  # the file the tour loads ships with the project
    assert all(cmd[0] != "serve" for cmd in demo)


def test_the_fresh_instance_tour_runs_as_written(fresh_dir):
    fresh, _ = _tour_blocks()
    outputs = {}
    for args in fresh[:-1]:  # all but `serve`, which would not return
        outputs[shlex.join(args[:2])] = _run(args)
    assert _run(["serve", "--help"])
    assert "ga-people" in outputs["dataset list"]
    graded = outputs["grade show"]
    assert "公民身份号码" in graded and "L4" in graded
    answer = outputs["exchange sql"]
    assert "男" in answer and "女" in answer and "2 行 (2 rows)" in answer
    assert "data.read" in outputs["audit log"] and "li.na" in outputs["audit log"]
    assert "ledger intact" in outputs["audit verify"]


@pytest.mark.slow
def test_the_demo_city_tour_runs_as_written(fresh_dir):
    # The demo city at a small scale: the scale changes how many rows, not any name the tour uses.
    _run(["demo", "--no-serve", "--scale", "0.02"])
    _, demo = _tour_blocks()
    outputs = {shlex.join(args[:2]): _run(args) for args in demo}
    assert "hz-samr-enterprise" in outputs["dataset list"]
    assert "公民身份号码" in outputs["grade show"]
    assert re.search(r"\d+ 行 \(\d+ rows\)", outputs["exchange sql"])
    assert "data.read" in outputs["audit log"]
