"""A registry's settings file: a good one loads; each kind of bad one is refused naming the file, key path and why."""

from __future__ import annotations

import copy

import pytest
import sqlglot
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp
from tests.registry.conftest import PERSON_SETTINGS

from shuzhi.errors import InvalidInput
from shuzhi.registry.settings import check_sql, load_settings


def write(tmp_path, data, name="people.yaml"):
    path = tmp_path / name
    path.write_text(
        data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True), encoding="utf-8"
    )
    return path


def changed(edit) -> dict:
    data = copy.deepcopy(PERSON_SETTINGS)
    edit(data)
    return data


def test_a_good_file_loads(tmp_path):
    s = load_settings(write(tmp_path, PERSON_SETTINGS))
    assert s.kind == "person" and len(s.sources) == 3
    assert s.comparisons[0].pinyin_column == "name_pinyin"
    assert "ric18" in s.columns() and "firm_core" not in s.columns()


def test_the_pinyin_column_defaults_from_the_hanzi_column(tmp_path):
    data = changed(lambda d: d["comparisons"][0].pop("pinyin_column"))
    assert load_settings(write(tmp_path, data)).comparisons[0].pinyin_column == "name_pinyin"


BAD = {
    "unknown top-level key": (lambda d: d.update(colour="red"), "colour"),
    "unknown key in a source": (lambda d: d["sources"][1].update(owner="x"), "sources[1].owner"),
    "comparison kind off the list": (
        lambda d: d["comparisons"][2].update(kind="soundex"),
        "comparisons[2].kind",
    ),
    "comparison without its thresholds": (lambda d: d["comparisons"][3].pop("thresholds"), "comparisons[3]"),
    "comparison on an unmapped column": (
        lambda d: d["comparisons"][1].update(column="email_norm"),
        "comparisons[1].column",
    ),
    "derived column of an attribute no source maps": (
        lambda d: [s["mapping"].pop("phone") for s in d["sources"]],
        "blocking[2].columns[0]",
    ),
    "two comparisons of one column": (
        lambda d: d["comparisons"].append({"column": "sex_norm", "kind": "exact"}),
        "comparisons[6].column",
    ),
    "blocking with both forms": (lambda d: d["blocking"][0].update(sql="l.name = r.name"), "blocking[0]"),
    "blocking on an unmapped column": (
        lambda d: d["blocking"][2].update(columns=["email"]),
        "blocking[2].columns[0]",
    ),
    "blocking sql on another table": (
        lambda d: d["blocking"].append({"sql": "l.name_norm = x.name_norm"}),
        "blocking[3].sql",
    ),
    "blocking sql calling a file reader": (
        lambda d: d["blocking"].append({"sql": "l.name_norm = (SELECT 1 FROM read_csv('/etc/passwd'))"}),
        "blocking[3].sql",
    ),
    "blocking sql with an unknown function": (
        lambda d: d["blocking"].append({"sql": "getenv(l.name_norm) = r.name_norm"}),
        "blocking[3].sql",
    ),
    "em rule on an unmapped column": (
        lambda d: d["training"]["em_blocking"].append({"columns": ["email"]}),
        "training.em_blocking[2].columns[0]",
    ),
    "identifier flag unmapped": (
        lambda d: d["identifiers"][0].update(valid="uscc_valid"),
        "identifiers[0].valid",
    ),
    "survivorship rule off the list": (
        lambda d: d["survivorship"].update(name="newest"),
        "survivorship.name",
    ),
    "survivorship of an unmapped attribute": (
        lambda d: d["survivorship"].update(email="most_recent"),
        "survivorship.email",
    ),
    "review above link": (lambda d: d["thresholds"].update(review=0.95), "thresholds"),
    "probability out of range": (lambda d: d["thresholds"].update(link=1.5), "thresholds"),
    "kind off the list": (lambda d: d.update(kind="vehicle"), "kind"),
    "no sources": (lambda d: d.update(sources=[]), "sources"),
    "trust of an unmapped attribute": (lambda d: d["sources"][0].update(trust={"email": 2}), "sources[0]"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_file_is_refused_naming_file_and_key_path(tmp_path, case):
    edit, where = BAD[case]
    path = write(tmp_path, changed(edit))
    with pytest.raises(InvalidInput) as refused:
        load_settings(path)
    error = refused.value
    assert error.where == f"{path}:{where}"
    assert str(path) in str(error) and where in str(error)


def test_unreadable_yaml_and_missing_file_name_the_file(tmp_path):
    path = write(tmp_path, "name: [unclosed\n")
    with pytest.raises(InvalidInput, match="people.yaml"):
        load_settings(path)
    with pytest.raises(InvalidInput, match="absent.yaml"):
        load_settings(tmp_path / "absent.yaml")
    with pytest.raises(InvalidInput, match="mapping"):
        load_settings(write(tmp_path, "- just a list\n"))


def test_yaml_words_like_on_and_no_stay_words(tmp_path):
    text = yaml.safe_dump(PERSON_SETTINGS, allow_unicode=True).replace("- columns:", "- on:", 1)
    with pytest.raises(InvalidInput) as refused:
        load_settings(write(tmp_path, text))
    assert refused.value.where.endswith("blocking[0].on")
    data = changed(lambda d: d["sources"][0]["mapping"].update(name="no"))
    assert load_settings(write(tmp_path, data)).sources[0].mapping["name"] == "no"


def test_checked_sql_is_regenerated_from_its_tree():
    sql = check_sql("substr(l.phone_norm, 1, 7) = substr(r.phone_norm, 1, 7) -- trailing", {"phone_norm"})
    assert "--" not in sql and "l.phone_norm" in sql and "r.phone_norm" in sql


@pytest.mark.parametrize(
    "sql",
    [
        "l.a = r.a; DROP TABLE x",
        "l.a = r.a AND r.a IN (SELECT a FROM t)",
        "l.a = r.a OR current_setting('x') = 'y'",
        "a = r.a",
        "l.a = r.b",
        "1 = 1",
        "l.a = r.a UNION SELECT * FROM t",
    ],
)
def test_sql_outside_the_allowlist_is_refused(sql):
    with pytest.raises(ValueError):
        check_sql(sql, {"a"})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["l.", "r.", "a", "a_b", "b", " = ", "(", ")", "'1'", "1", ";", ",", "*", " < ", "SELECT ",
             " FROM ", " AND ", " OR ", "NOT ", "substr", "read_csv", "x."]
        ),
        max_size=14,
    ).map("".join)
)  # fmt: skip
def test_any_text_is_refused_or_admitted_only_over_l_and_r_columns(text):
    try:
        sql = check_sql(text, {"a", "a_b"})
    except ValueError:
        return
    tree = sqlglot.parse_one(sql, read="duckdb")
    columns = list(tree.find_all(exp.Column))
    assert columns and all(c.table in ("l", "r") and c.name in ("a", "a_b") for c in columns)
    assert not list(tree.find_all(exp.Select))


def _keys(model, seen: set) -> list[str]:
    import typing

    from pydantic import BaseModel

    def models(annotation) -> list:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [annotation]
        return [m for a in typing.get_args(annotation) for m in models(a)]

    out = []
    for name, field in model.model_fields.items():
        out.append(name)
        for inner in models(field.annotation):
            if inner not in seen:
                seen.add(inner)
                out += _keys(inner, seen)
    return out


def test_every_key_of_a_settings_file_is_documented():
    """A new key of the settings schema without a line in docs/registry-linkage.md fails here."""
    from pathlib import Path

    from shuzhi.registry.settings import RegistrySettings

    text = (Path(__file__).resolve().parents[2] / "docs" / "registry-linkage.md").read_text("utf-8")
    keys = set(_keys(RegistrySettings, set()))
    assert {"publish", "reuse", "em_max_pairs", "lengths"} <= keys
    assert sorted(k for k in keys if f"`{k}`" not in text) == []
