"""The sample rule files shipped for the demo city are valid rule sets for the demo datasets they name."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.demo.catalog import DEFINITIONS
from shuzhi.quality import ruleset
from shuzhi.quality.kinds import Context, family, rule_kinds
from shuzhi.quality.service import SHARED_REFERENCE, vocabulary

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "quality"
DEMO = {d.identifier: d for d in DEFINITIONS}


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_sample_rule_file_is_valid_for_its_demo_dataset(path):
    d = DEMO[path.stem]
    ctx = Context(columns={f[0]: family(f[1]) for f in d.fields}, vocabulary=vocabulary)
    parsed = ruleset.parse(ruleset.load_text(path.read_text("utf-8")), rule_kinds(), ctx)
    assert parsed.rules
    for rule in parsed.rules:
        if rule.kind.name == "references":
            target = DEMO[rule.params.dataset]
            assert rule.params.ref_field in {f[0] for f in target.fields}
            assert target.department == d.department or target.share_type == SHARED_REFERENCE
