"""The score formula (rule, dimension, version; absent dimensions), and a plugin's rule kind registered
through the hook like the built-ins, counted in the same scan."""

from __future__ import annotations

import datetime as dt
import sys
import types

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shuzhi.hooks import hookimpl, plugin_manager
from shuzhi.quality import engine, ruleset
from shuzhi.quality.kinds import KINDS, Context, FieldParams, RowCheck, RowKind, VersionFacts, rule_kinds
from shuzhi.quality.scores import Scored, blocked, dimension_scores, rule_score, version_score


def test_a_rules_score_is_the_share_of_checked_rows_that_pass():
    assert rule_score(200, 50) == 75.0
    assert rule_score(10, 0) == 100.0 and rule_score(10, 10) == 0.0
    assert rule_score(0, 0) is None


def test_a_dimension_is_the_weighted_mean_of_its_rules_and_absent_without_one():
    dims = dimension_scores(
        [
            Scored("validity", 1, 100.0),
            Scored("validity", 3, 60.0),
            Scored("completeness", 1, 90.0),
            Scored("completeness", 5, None),  # checked nothing: not part of the mean
            Scored("uniqueness", 1, None),
        ]
    )
    assert dims["validity"] == 70.0 and dims["completeness"] == 90.0
    assert dims["uniqueness"] is None and dims["accuracy"] is None and dims["timeliness"] is None
    assert version_score(dims) == 80.0  # (70 + 90) / 2: absent dimensions are left out
    assert version_score(dimension_scores([])) is None


def test_blocked_when_a_blocking_rule_failed_a_row():
    assert blocked([Scored("validity", 1, 99.0, failed=1, blocking=True)])
    assert not blocked(
        [Scored("validity", 1, 50.0, failed=9, blocking=False), Scored("validity", 1, 100.0, 0, True)]
    )


class EvenParams(FieldParams):
    pass


class EvenKind(RowKind):
    """A deployment's own kind: the value is even."""

    name, dimension, label_zh, label_en = "even", "accuracy", "偶数", "even"
    params = EvenParams

    def compile(self, p: EvenParams, ctx: Context) -> RowCheck:
        ctx.need(p.field, ("integer",), self.name)
        return RowCheck(ctx.present(p.field), f"{ctx.col(p.field)} % 2 <> 0", (p.field,))


@pytest.fixture
def even_plugin():
    module = types.ModuleType("tests_quality_even_plugin")

    @hookimpl
    def quality_rule_kinds():
        return [EvenKind()]

    module.quality_rule_kinds = quality_rule_kinds
    sys.modules[module.__name__] = module
    plugin_manager().register(module, name=module.__name__)
    yield module
    plugin_manager().unregister(module)
    del sys.modules[module.__name__]


def test_a_plugin_kind_is_registered_checked_and_counted_in_the_one_scan(even_plugin, tmp_path):
    kinds = rule_kinds()
    assert list(kinds)[: len(KINDS)] == [k.name for k in KINDS] and "even" in kinds
    path = tmp_path / "v.parquet"
    pq.write_table(
        pa.table({"n": pa.array([1, 2, 3, None, 4], pa.int64()), "s": ["a", "b", None, "", "c"]}), path
    )
    ctx = Context(columns={"n": "integer", "s": "text"})
    rs = ruleset.parse([{"kind": "even", "field": "n"}, {"kind": "not_blank", "field": "s"}], kinds, ctx)
    assert rs.rules[0].dimension == "accuracy"
    done = engine.Runner(rs, path, ctx, VersionFacts(None, dt.datetime(2025, 1, 1), None, None)).run()
    assert [(o.checked, o.failed) for o in done.outcomes] == [(4, 2), (5, 2)]
    assert len(done.statements) == 2 and "FILTER" not in done.statements[1]  # the scan, the sample read
    assert [s["values"]["n"] for s in done.outcomes[0].sample] == [1, 3]
    with pytest.raises(Exception, match="does not apply to field s"):
        ruleset.parse([{"kind": "even", "field": "s"}], kinds, ctx)


def test_two_kinds_of_one_name_are_a_deployment_error(even_plugin):
    twin = types.ModuleType("tests_quality_twin_plugin")

    @hookimpl
    def quality_rule_kinds():
        return [EvenKind()]

    twin.quality_rule_kinds = quality_rule_kinds
    plugin_manager().register(twin, name=twin.__name__)
    try:
        with pytest.raises(ValueError, match="two quality rule kinds are named 'even'"):
            rule_kinds()
    finally:
        plugin_manager().unregister(twin)


def test_sample_values_are_masked_by_grade_and_always_json():
    from shuzhi.quality.service import mask_value

    levels = ["L1", "L2", "L3", "L4"]
    assert mask_value(float("nan"), "L2", levels) == "nan" and mask_value(1.5, "L1", levels) == 1.5
    assert mask_value(dt.date(2020, 1, 2), "L2", levels) == "2020-01-02"
    assert mask_value("13800138000", "L3", levels) == "13*******00"
    assert mask_value("anything", "L4", levels) == "***"
    assert mask_value("anything", None, levels) == "***"  # never graded
    assert mask_value("anything", "L9", levels) == "***"  # a level the rules no longer define
    assert mask_value(None, "L4", levels) is None


def test_a_saved_rule_whose_kind_is_gone_or_changed_is_reported_not_run():
    from shuzhi.quality.service import restore

    body = {
        "rules": [
            {"name": "a", "kind": "gone", "blocking": False, "weight": 1.0, "dimension": "validity"},
            {
                "name": "b",
                "kind": "not_null",
                "field": "x",
                "colour": 1,
                "blocking": False,
                "weight": 1.0,
                "dimension": "completeness",
            },
            {
                "name": "c",
                "kind": "not_null",
                "field": "x",
                "blocking": True,
                "weight": 2.0,
                "dimension": "completeness",
            },
        ],
        "sample_size": 3,
    }
    rs, errors = restore(body, rule_kinds())
    assert [r.name for r in rs.rules] == ["c"] and rs.rules[0].blocking and rs.sample_size == 3
    assert errors == {0: "unknown kind: gone", 1: "parameters no longer valid for kind not_null"}
