"""Masking rules compile to SQL that DuckDB runs with the intended result."""

from datetime import date

import duckdb
import pytest
from sqlglot import exp

from shuzhi.errors import InvalidInput
from shuzhi.exchange import masking
from shuzhi.exchange.masking import (
    KINDS,
    MaskKind,
    Param,
    check_params,
    default_rule,
    grant_key,
    hmac_hex,
    mask_expression,
    parse_rule,
)

KEY = grant_key(b"master", "grant:1")


def apply(rule: str, value, key: bytes = KEY):
    expr = mask_expression(parse_rule(rule), exp.column("v", quoted=True), key=key)
    return duckdb.execute(f"SELECT {expr.sql('duckdb')} FROM (SELECT ? AS v)", [value]).fetchone()[0]


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ("clear", "张三", "张三"),
        ("redact", "330102199001011234", "***"),
        ("keep_first:3", "330102199001011234", "330***************"),
        ("keep_last:4", "13812345678", "*******5678"),
        ("keep_first:1", "王小明", "王**"),
        ("keep_first:5", "ab", "ab"),
        ("null", "anything", None),
        ("year", date(1990, 7, 15), date(1990, 1, 1)),
        ("month", "1990-07-15", date(1990, 7, 1)),
        ("region_city", "330106", "330100"),
        ("region_province", "330106", "330000"),
        ("round:-3", 12345.6, 12000),
        ("round:0", 2.4, 2),
        ("band:1000", 4321.0, 4000),
        ("custom:upper(left(value, 2)) || '-x'", "ab12", "AB-x"),
    ],
)
def test_mask_values(rule, value, expected):
    assert apply(rule, value) == expected


def test_redact_keeps_null():
    assert apply("redact", None) is None


def test_hash_is_real_hmac_sha256():
    assert apply("hash", "330102199001011234") == hmac_hex(KEY, "330102199001011234")
    assert apply("hash", "王小明") == hmac_hex(KEY, "王小明")


def test_hash_joinable_within_grant_not_across():
    other = grant_key(b"master", "grant:2")
    assert apply("hash", "x1") == apply("hash", "x1")
    assert apply("hash", "x1", other) != apply("hash", "x1")


def test_every_kind_transpiles_to_spark():
    for kind in KINDS.values():
        raw = {"keep_first": "keep_first:2", "keep_last": "keep_last:2", "custom": "custom:lower(value)"}.get(
            kind.name, f"{kind.name}:5" if kind.params else kind.name
        )
        sql = mask_expression(parse_rule(raw), exp.column("v"), key=KEY).sql("spark")
        assert sql


def test_every_kind_declares_labels_schema_validate_and_compile():
    assert set(KINDS) >= {"clear", "redact", "keep_first", "hash", "year", "band", "custom"}
    for kind in KINDS.values():
        assert kind.zh.strip() and kind.en.strip() and kind.zh != kind.en
        assert callable(kind.validate) and callable(kind.compile)
        assert all(isinstance(p, Param) for p in kind.params)
    assert [p.name for p in KINDS["band"].params] == ["width"]
    assert KINDS["hash"].label("en") == "keyed hash (HMAC-SHA256)"
    assert parse_rule("keep_last:4").label("zh") == "保留后N位 (N=4)"


def _compile(rule, value, key):
    return value


@pytest.mark.parametrize(
    ("missing", "kwargs"),
    [
        ("compile", {"params": (), "validate": check_params}),
        ("validate", {"params": (), "compile": _compile}),
        ("params", {"validate": check_params, "compile": _compile}),
    ],
)
def test_a_kind_missing_a_part_fails_when_declared(missing, kwargs):
    with pytest.raises(TypeError, match=missing):
        MaskKind("scramble", "打乱", "scramble", **kwargs)


@pytest.mark.parametrize(
    "labels", [("", "scramble"), ("打乱", ""), ("打乱", None)], ids=["no zh", "no en", "en None"]
)
def test_a_kind_missing_a_label_fails_when_declared(labels):
    with pytest.raises(TypeError, match="zh|en"):
        MaskKind("scramble", *labels, (), check_params, _compile)


def test_a_kind_missing_a_part_fails_at_import(tmp_path, monkeypatch):
    """A module that declares a kind without compile cannot be imported at all."""
    (tmp_path / "kinds_plugin.py").write_text(
        "from shuzhi.exchange.masking import MaskKind, check_params, register\n"
        "register(MaskKind('scramble', '打乱', 'scramble', (), check_params))\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="compile"):
        __import__("kinds_plugin")
    assert "scramble" not in KINDS


def test_a_kind_is_declared_once(monkeypatch):
    monkeypatch.setattr(masking, "KINDS", dict(KINDS))
    with pytest.raises(ValueError, match="twice"):
        masking.register(MaskKind("hash", "哈希", "hash", (), check_params, _compile))


def test_a_registered_kind_masks_through_the_same_path(monkeypatch):
    monkeypatch.setattr(masking, "KINDS", dict(KINDS))
    masking.register(
        MaskKind("upper", "大写", "upper case", (), check_params, lambda r, v, k: exp.Upper(this=v))
    )
    assert apply("upper", "ab") == "AB"
    assert masking.KINDS["upper"].choices == (("upper", "大写", "upper case"),)


@pytest.mark.parametrize(
    "bad",
    [
        "custom:other_column",
        "custom:(SELECT max(x) FROM t)",
        "custom:read_text('/etc/passwd')",
        "custom:current_setting('memory_limit')",
        "custom:value; DROP TABLE x",
        "keep_first",
        "band:0",
        "band:nan",
        "band:inf",
        {"kind": "band", "width": float("nan")},
        {"kind": "band", "width": float("inf")},
        "nonsense",
    ],
)
def test_unsafe_or_incomplete_rules_refused(bad):
    with pytest.raises(InvalidInput):
        parse_rule(bad)


def test_grade_defaults():
    assert default_rule("L4").kind == "hash"
    assert default_rule("L3").kind == "clear"
    assert default_rule(None).kind == "clear"  # an ungraded field counts as L2


def test_rule_round_trip():
    rule = parse_rule({"kind": "keep_last", "n": "4"})
    assert parse_rule(rule.to_dict()) == rule
