"""Finding 4: a column the grader cannot judge is not L1, and ID numbers among other values are found.

The attack as seen: `hz-credit-dishonest.证件号码` mixes credit codes with natural persons' resident
ID numbers; grading filed it `unknown`, the shipped rules mapped `unknown` to L1, and the ID numbers
were clear to every analyst, with no alert and no review flag. Here a column holding more than
`classify.min_sensitive_values` valid ID numbers — a small share of it — is graded as ID numbers
(L4), flagged for review and alerted, and reads masked; a column that cannot be judged is L3 until
a steward reviews it (the level is the rules file's `undetermined_level`).
"""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pytest
import yaml
from stdnum.cn import ric
from tests.classify.conftest import reviewed

from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset, get_dataset
from shuzhi.classify.checksums import GB32100_ALPHABET, gb32100_check_char
from shuzhi.classify.readmodel import classification
from shuzhi.classify.review import review_column
from shuzhi.exchange import service
from shuzhi.ingest.service import ingest_source

ID_COLUMN = "证件号码"


def _resident_ids(n: int) -> list[str]:
    out = []
    for i in range(n):
        body = f"3301051985{1 + i % 12:02d}{10 + i % 18:02d}{200 + i:03d}"
        out.append(body + ric.calc_check_digit(body + "0"))
    return out


def _credit_codes(n: int) -> list[str]:
    rng = random.Random(11)
    out = []
    for _ in range(n):
        body = "91330100" + "".join(rng.choice(GB32100_ALPHABET) for _ in range(9))
        out.append(body + gb32100_check_char(body))
    return out


def _load(db, settings, steward, tmp_path, identifier: str, columns: dict[str, list[str]]) -> dict:
    """A dataset of the credit office, shared unconditionally, with one version of `columns`; its grading."""
    path = tmp_path / f"{identifier}.csv"
    names = list(columns)
    rows = zip(*columns.values(), strict=True)
    path.write_text(",".join(names) + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=identifier,
                title_zh="失信主体名单",
                department="CREDIT",
                theme="credit",
                share_type="unconditional",
            ),
        )
        ingest_source(s, settings, ds, path, user_id=steward.user_id)
    with db.session() as s:
        return classification(s, settings, get_dataset(s, identifier))


@pytest.fixture
def steward(make_user):
    return make_user("credit.steward", dept="CREDIT", roles=("steward",))


def _mixed(n_ids: int) -> dict[str, list[str]]:
    ids, codes = _resident_ids(n_ids), _credit_codes(300 - n_ids)
    subjects = codes + ids
    return {
        "主体名称": [f"主体{i}" for i in range(300)],
        ID_COLUMN: subjects,
        "主体类型": ["法人和非法人组织"] * len(codes) + ["自然人"] * len(ids),
    }


def test_a_few_valid_ids_among_credit_codes_grade_the_column_as_id_numbers(
    db, settings, steward, make_user, tmp_path
):
    analyst = make_user("rs.analyst", dept="RS", roles=("analyst",))
    ids = _resident_ids(20)  # 20 of 300 values: 6.7 %, far below any detector's share threshold
    assert all(ric.is_valid(x) for x in ids) and settings.classify.min_sensitive_values < 20
    info = _load(db, settings, steward, tmp_path, "hz-credit-dishonest", _mixed(20))
    col = {c["field"]: c for c in info["columns"]}[ID_COLUMN]
    assert col["category"] == "resident_id" and col["level"] == "L4"
    assert col["evidence"]["needs_review"] is True and col["evidence"]["graded_on_values"]["valid"] == 20
    assert info["level"] == "L4" and info["needs_review"] is True
    assert any(f["type"] == "values_found" and f["name"] == ID_COLUMN for f in info["flags"])
    alerts = [a for a in info["alerts"] if a["kind"] == "sensitive_values_found"]
    assert len(alerts) == 1 and alerts[0]["field"] == ID_COLUMN and alerts[0]["detail"]["valid"] == 20
    assert not any(x in json.dumps(info, ensure_ascii=False) for x in ids)  # evidence is masked
    # Every analyst of another department reads the column masked (L4: keyed hash).
    read = service.run_sql(db, settings, analyst, f'SELECT "{ID_COLUMN}" FROM "hz-credit-dishonest"')
    got = pa.Table.from_batches(list(read.batches()), schema=read.schema).column(ID_COLUMN).to_pylist()
    assert len(got) == 300 and not set(got) & set(ids) and all(len(v) == 64 for v in got)


def test_the_threshold_is_an_absolute_count_and_a_setting(db, settings, steward, tmp_path):
    settings.classify.min_sensitive_values = 25
    info = _load(db, settings, steward, tmp_path, "below", _mixed(20))
    col = {c["field"]: c for c in info["columns"]}[ID_COLUMN]
    # Below the count the ID numbers make no finding: the column is what most of it is (credit codes).
    assert col["category"] == "uscc" and col["level"] == "L2" and "graded_on_values" not in col["evidence"]
    assert not [a for a in info["alerts"] if a["kind"] == "sensitive_values_found"]


def test_ids_too_rare_for_the_sample_are_counted_over_the_whole_column(db, settings, steward, tmp_path):
    """The rule is an absolute count: 60 ID numbers among 200,000 credit codes are about three in the
    10,000-row sample that grading reads, below the count — the whole column must be counted."""
    n, n_ids = 200_000, 60
    ids = _resident_ids(n_ids)
    codes = _credit_codes(1000)
    step = n // n_ids
    column = [ids[i // step] if i % step == 0 and i // step < n_ids else codes[i % 1000] for i in range(n)]
    info = _load(
        db,
        settings,
        steward,
        tmp_path,
        "big-dishonest",
        {"序号": [str(i) for i in range(n)], ID_COLUMN: column},
    )
    col = {c["field"]: c for c in info["columns"]}[ID_COLUMN]
    assert col["evidence"]["scanned_values"] < n  # graded on a sample
    assert col["category"] == "resident_id" and col["level"] == "L4"
    assert col["evidence"]["graded_on_values"]["valid"] == n_ids
    assert any(a["kind"] == "sensitive_values_found" for a in info["alerts"])


def _random_text() -> list[str]:
    rng = random.Random(5)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        str(rng.randrange(10**6)) if i % 2 else "".join(rng.choice(letters) for _ in range(8))
        for i in range(200)
    ]


def test_a_column_that_cannot_be_judged_is_l3_until_reviewed(db, settings, steward, make_user, tmp_path):
    second_admin = make_user("bdb.admin", dept="BDB", roles=("admin",))
    info = _load(db, settings, steward, tmp_path, "notes", {"备注": _random_text(), "序号": ["1"] * 200})
    col = {c["field"]: c for c in info["columns"]}["备注"]
    assert col["category"] == "unknown" and col["level"] == "L3" and info["level"] == "L3"
    # A steward who has looked may set it lower.
    with db.transaction() as s:
        ds = get_dataset(s, "notes")
        asked = review_column(
            s, settings, steward, ds, "备注", action="override", reason="随机备注", category="none"
        )
        reviewed(s, settings, asked, second_admin)  # below what grading derived: a second person approves
    with db.session() as s:
        info = classification(s, settings, get_dataset(s, "notes"))
    assert {c["field"]: c for c in info["columns"]}["备注"]["level"] == "L1"


@pytest.mark.parametrize(
    "extra,level",
    [
        ({"undetermined_level": "L2"}, "L2"),  # the cautious default is configurable
        ({}, "L4"),  # a rules file without it: categories no rule names (L4 here) bound it
    ],
)
def test_unknown_never_maps_below_the_rules_cautious_level(db, settings, steward, tmp_path, extra, level):
    from importlib import resources

    rules = yaml.safe_load(
        resources.files("shuzhi.classify").joinpath("rules/default.yaml").read_text(encoding="utf-8")
    )
    rules.pop("undetermined_level")
    rules["unknown_category_level"] = "L4"
    rules["categories"]["unknown"]["level"] = "L1"  # a deployment's file that says unknown is public
    rules.update(extra)
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    settings.classify.rules_file = tmp_path / "rules.yaml"
    info = _load(db, settings, steward, tmp_path, "notes", {"备注": _random_text(), "序号": ["1"] * 200})
    assert {c["field"]: c for c in info["columns"]}["备注"]["level"] == level


def test_the_demo_citys_dishonest_list_is_graded_as_id_numbers(db, settings, steward, tmp_path):
    from shuzhi.demo import generate

    manifest = generate(tmp_path / "city", scale=0.2)
    spec = next(d for d in manifest.datasets if d.identifier == "hz-credit-dishonest")
    with db.transaction() as s:
        ds = create_dataset(
            s,
            steward,
            DatasetIn(
                identifier=spec.identifier,
                title_zh=spec.title_zh,
                department="CREDIT",
                theme="credit",
                share_type=spec.share_type,
            ),
        )
        ingest_source(s, settings, ds, spec.path, user_id=steward.user_id)
    with db.session() as s:
        info = classification(s, settings, get_dataset(s, spec.identifier))
    col = {c["field"]: c for c in info["columns"]}[ID_COLUMN]
    assert col["category"] == "resident_id" and col["level"] == "L4" and col["evidence"]["needs_review"]
    assert info["level"] == "L4" and info["needs_review"]
    assert any(a["kind"] == "sensitive_values_found" and a["field"] == ID_COLUMN for a in info["alerts"])
