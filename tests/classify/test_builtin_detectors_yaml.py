"""The built-in detectors load from the shipped YAML exactly as the former Python definitions built them."""

import dataclasses
import json
from pathlib import Path

import pytest

from shuzhi.classify.detectors import PATTERN_PARTS, builtin_detectors, declared_detector, load_detectors
from shuzhi.errors import InvalidInput

GOLDEN = Path(__file__).with_name("builtin_detectors_golden.json")


def _as_json(det) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(det), ensure_ascii=False))


def test_shipped_yaml_reproduces_every_builtin_field_for_field():
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    loaded = [_as_json(d) for d in builtin_detectors()]
    assert [d["name"] for d in loaded] == [d["name"] for d in golden]
    for want, got in zip(golden, loaded, strict=True):
        assert got == want, want["name"]


def test_builtins_set_code_level_keys_a_deployment_may_not():
    by_name = {d.name: d for d in builtin_detectors()}
    rid = by_name["resident_id"]
    assert (rid.group_check, rid.birth, rid.check_digit, rid.source) == (
        "cn_region",
        "sz_id_birth(sz_id_compact(v))",
        True,
        "builtin",
    )
    with pytest.raises(InvalidInput, match="birth"):
        load_detectors([{"name": "x", "category": "y", "pattern": "a", "birth": "v"}], trusted=False)


def test_parts_are_expanded_from_the_fixed_registry_only():
    det = declared_detector({"name": "plate2", "category": "c", "pattern": "[${plate_provinces}]X"})
    assert det.pattern == f"[{PATTERN_PARTS['plate_provinces']()}]X" and det.source == "declared"
    with pytest.raises(InvalidInput, match=r"\$\{__import__\}"):
        declared_detector({"name": "bad", "category": "c", "pattern": "${__import__}"}, trusted=True)


def test_a_detectors_entry_that_is_not_a_mapping_is_refused():
    with pytest.raises(InvalidInput, match="mapping"):
        load_detectors(["resident_id"], trusted=True)
