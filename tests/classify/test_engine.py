"""Column decisions: detectors, hard negatives, known failures of other tools, bad input, pluggability."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.classify.conftest import CHILD_ID, IDS, make_id

from shuzhi.classify.detectors import Detector, builtin_detectors, declared_detector, load_detector_config
from shuzhi.classify.engine import NONE, UNKNOWN, Scanner, column_from_values, mask
from shuzhi.classify.hints import NameHints


@pytest.fixture(scope="module")
def scanner() -> Scanner:
    return Scanner(builtin_detectors())


def decide(scanner, name, values, **kw):
    return scanner.scan(pa.table({name: pa.array(values)}), **kw)[0]


def test_resident_ids_with_evidence(scanner):
    r = decide(scanner, "sfzh", IDS * 10 + [CHILD_ID])
    assert r.category == "resident_id" and r.confidence > 0.9
    ev = r.evidence
    assert ev["valid"] == 61 and ev["share_valid"] == 1.0 and ev["name_hint"] == "sfzh"
    assert ev["minors"] == 1
    assert all("*" in e and e not in IDS for e in ev["examples"])


def test_order_numbers_failing_the_checksum_are_not_ids(scanner):
    rng = random.Random(1)
    orders = [str(rng.randrange(10**17, 10**18)) for _ in range(300)]
    r = decide(scanner, "身份证号", orders)  # even under a misleading name
    assert r.category == NONE
    assert r.evidence["name_suggests"] == "resident_id"


def test_eleven_digit_numbers_that_are_not_phones(scanner):
    rng = random.Random(2)
    r = decide(scanner, "c1", [str(rng.randrange(2 * 10**10, 10**11)) for _ in range(300)])
    assert r.category == NONE


def test_facility_names_in_a_name_column_are_not_people(scanner):
    places = [
        "王府井",
        "张家口",
        "朝阳公园",
        "李村",
        "马家堡",
        "周庄",
        "高碑店",
        "黄山",
        "陈家祠",
        "赵州桥",
    ] * 10
    assert decide(scanner, "name", places, context="公共设施名录").category == NONE
    assert decide(scanner, "设施名称", places).category == NONE


def test_one_repeated_word_is_not_a_person_name(scanner):
    assert decide(scanner, "姓名", ["张伟"] * 200).category == NONE
    assert decide(scanner, "c9", ["高兴"] * 200).category == NONE


def test_academic_year_code_is_not_a_card_code(scanner):
    years = [str(2000 + i % 25) for i in range(300)]
    r = decide(scanner, "ACADEMIC_YEAR_CODE", years)
    assert r.category == NONE


def test_pinyin_initial_hints(scanner):
    names = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆", "赵磊", "黄丽", "周杰", "吴昊"] * 3
    assert decide(scanner, "xm", names).evidence["name_hint"] == "xm"
    assert decide(scanner, "lxdh", ["13812345678", "15912345678", "18612345678"] * 10).category == "mobile"
    addrs = ["北京市东城区东直门南大街3号", "上海市浦东新区世纪大道100号", "广州市天河区体育西路191号"] * 10
    assert decide(scanner, "jzdz", addrs).category == "address"


def test_birth_dates_need_a_birth_hint(scanner):
    dates = [f"19{60 + i % 40}-0{1 + i % 9}-1{i % 10}" for i in range(200)]
    assert decide(scanner, "csrq", dates).category == "birth_date"
    assert decide(scanner, "登记日期", dates).category == NONE


@pytest.mark.parametrize(
    "values,reason",
    [
        ([None] * 50, "null"),
        ([b"\xff\xfe\x00\x01"] * 50, "binary"),
        (["x" * 5000] * 50, "long"),
        (["ï¿½ä¸­æ–‡"] * 50, "UTF-8"),
    ],
)
def test_bad_input_is_unknown_with_a_reason(scanner, values, reason):
    r = decide(scanner, "c", values)
    assert r.category == UNKNOWN and reason in r.evidence["reason"]


def test_mixed_types_are_unknown(scanner):
    arr, why = column_from_values([1, "abc", 2.5, None, b"\x00"] * 20)
    assert why and "mixed" in why
    r = scanner.scan(pa.table({"c": arr}))[0]
    assert r.category == UNKNOWN and "mixed" in r.evidence["reason"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(st.none(), st.text(max_size=50), st.binary(max_size=20).map(lambda b: b.decode("latin-1"))),
        min_size=1,
        max_size=40,
    )
)
def test_any_text_gets_a_decision(scanner, values):
    r = decide(scanner, "c", pa.array(values, pa.string()))
    assert r.category and 0.0 <= r.confidence <= 1.0


def test_declared_detector_from_yaml(tmp_path):
    path = tmp_path / "detectors.yaml"
    path.write_text(
        """
detectors:
  - name: patient_no
    category: patient_no
    pattern: 'ZY[0-9]{8}'
    hints: [住院号, zyh]
    requires_hint: true
  - name: ric_by_stdnum
    category: resident_id
    pattern: '[0-9]{17}[0-9X]'
    validator: 'stdnum:cn.ric'
    requires_hint: true
hints:
  add: {person_name: [经办人]}
""",
        encoding="utf-8",
    )
    cfg = load_detector_config(path)
    hints = NameHints()
    for cat, words in cfg.hints_add.items():
        hints.extend(cat, words)
    scanner = Scanner([*builtin_detectors(), *cfg.detectors], hints)
    r = decide(scanner, "zyh", [f"ZY{n:08d}" for n in range(100)])
    assert r.category == "patient_no" and r.detector == "patient_no"
    assert decide(scanner, "经办人", ["王秀英", "李伟", "张敏", "刘洋", "陈静"] * 4).category == "person_name"
    # a library validator that raises (stdnum KeyError on an unknown county) is a non-match, not a crash
    bad = make_id("119900", "19900307")
    assert decide(scanner, "zjhm", [bad] * 20).category == NONE


def test_plugin_detectors_through_pluggy(monkeypatch):
    from shuzhi.classify import detectors as det_mod
    from shuzhi.hooks import hookimpl, plugin_manager

    class Plugin:
        @hookimpl
        def classify_detectors(self, settings):
            return [Detector("permit_zj", "provincial_permit", r"浙证[0-9]{6}", hints=("许可证",))]

    pm = plugin_manager()
    plugin = Plugin()
    pm.register(plugin)
    try:
        found = det_mod.plugin_detectors(settings=None)
        assert [d.name for d in found] == ["permit_zj"]
    finally:
        pm.unregister(plugin)


def test_declared_detector_rejects_unknown_validator():
    from shuzhi.errors import InvalidInput

    with pytest.raises(InvalidInput):
        declared_detector({"name": "x", "category": "y", "pattern": "a", "validator": "nope"})


def test_sample_is_deterministic_and_full_scan_counts_everything():
    values = IDS * 3000  # 18,000 rows
    table = pa.table({"sfzh": values})
    a = Scanner(builtin_detectors(), sample_rows=1000).scan(table)[0]
    b = Scanner(builtin_detectors(), sample_rows=1000).scan(table)[0]
    assert a.evidence == b.evidence and a.evidence["scanned_values"] == 1000
    full = Scanner(builtin_detectors(), sample_rows=1000, full=True).scan(table)[0]
    assert full.evidence["valid"] == 18000 and full.evidence["full_scan"]


def test_mask_never_shows_the_value():
    assert mask("110101199003074477") == "110************477"
    assert mask("王秀英") == "王**"
    assert mask("ab@example.com") == "a***@example.com"


def test_full_scan_skips_columns_the_sample_rules_out_and_says_so():
    table = pa.table({"sfzh": IDS * 3000, "amount": [f"{i * 1.5:.2f}" for i in range(18000)]})
    ids, amount = Scanner(builtin_detectors(), sample_rows=1000, full=True).scan(table)
    assert ids.evidence["full_scan"] and "full_scan_skipped" not in ids.evidence
    assert amount.category == NONE and not amount.evidence["full_scan"]
    assert amount.evidence["full_scan_skipped"]


def test_full_scan_counts_ids_keyed_with_separators_and_children_in_them():
    spaced = [f"{v[:6]} {v[6:14]} {v[14:]}" for v in IDS] + [
        f"{CHILD_ID[:6]}-{CHILD_ID[6:14]}-{CHILD_ID[14:]}"
    ]
    table = pa.table({"申请人证件号": spaced * 2000})
    r = Scanner(builtin_detectors(), sample_rows=500, full=True).scan(table)[0]
    assert r.category == "resident_id" and r.evidence["valid"] == 14000
    assert r.evidence["minors"] == 2000


@pytest.mark.parametrize("key", ["check", "group_key", "group_check", "birth", "source", "colour"])
def test_declared_detector_refuses_code_only_and_unknown_keys_by_name(key):
    from shuzhi.errors import InvalidInput

    with pytest.raises(InvalidInput) as exc:
        declared_detector({"name": "plate", "category": "c", "pattern": "a", key: "1=1"})
    assert key in str(exc.value) and "plate" in str(exc.value)


def test_declared_detector_takes_its_tuning():
    d = declared_detector({"name": "x", "category": "y", "pattern": "a", "min_share": 0.5, "priority": 7})
    assert (d.min_share, d.priority, d.source) == (0.5, 7, "declared")


def test_a_declared_check_digit_detector_is_evidence_in_small_numbers():
    d = declared_detector(
        {
            "name": "permit",
            "category": "resident_id",
            "pattern": "a",
            "validator": "stdnum:cn.ric",
            "check_digit": True,
        }
    )
    assert d.check_digit and d.source == "declared"
