"""Re-grading a version, grade reviews outgrown by new columns, minors, deployment configuration, plugins."""

from __future__ import annotations

from tests.classify.conftest import CHILD_ID, IDS, csv_of, reviewed
from tests.classify.test_service import NAMES, base
from typer.testing import CliRunner

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.grading import classify_version
from shuzhi.classify.readmodel import classification
from shuzhi.classify.review import review_grade
from shuzhi.classify.rules import load_rules
from shuzhi.classify.scanning import build_scanner

runner = CliRunner()


def test_cli_classify_twice_replaces_the_versions_grading(tmp_path, monkeypatch):
    from shuzhi.cli import app

    monkeypatch.setenv("SHUZHI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SHUZHI_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jz.csv").write_text(base(), encoding="utf-8")
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert runner.invoke(app, ["dept", "add", "WJW", "市卫健委"]).exit_code == 0
    r = runner.invoke(
        app,
        ["ingest", "jz.csv", "--create", "--dept", "WJW", "--theme", "health", "--dataset", "WJW-JZ-009"],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["classify", "WJW-JZ-009", "--full"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["grade", "show", "WJW-JZ-009"])
    assert r.exit_code == 0, r.output
    assert "L4" in r.output and "sfzh" in r.output


def test_api_run_twice(client, db, dataset, load, steward):
    from shuzhi.orgs import service as orgs

    load(dataset, base())
    with db.transaction() as s:
        token = orgs.create_token(s, orgs.get_user(s, "wjw.steward"), name="t")[1]
    h = {"Authorization": f"Bearer {token}"}
    for _ in range(2):
        r = client.post(f"/api/v1/datasets/{dataset}/classification/run?full=true", headers=h)
        assert r.status_code == 200, r.text
        assert r.json()["level"] == "L4"
        assert len(r.json()["columns"]) == 3


def test_grade_override_lapses_when_new_sensitive_column_raises_grade(
    db, settings, dataset, load, steward, second_admin
):
    load(dataset, csv_of({"beizhu": ["复诊"] * 30}))
    with db.transaction() as s:
        g = reviewed(
            s,
            settings,
            review_grade(
                s,
                settings,
                steward,
                get_dataset(s, dataset),
                action="override",
                level="L1",
                reason="公开数据",
            ),
            second_admin,
        )
        assert g.level == "L1"
    info = load(dataset, csv_of({"beizhu": ["复诊"] * 30, "sfzh": IDS * 5}))
    assert info["level"] == "L4" and info["status"] == "derived"
    lapsed = [a for a in info["alerts"] if a["kind"] == "override_lapsed"]
    assert lapsed and lapsed[0]["field"] is None
    assert not [o for o in info["overrides"] if o["field"] is None]
    with db.session() as s:
        assert get_dataset(s, dataset).security_grade == "L4"


def test_grade_override_survives_a_version_without_new_sensitive_columns(
    db, settings, dataset, load, steward, second_admin
):
    load(dataset, base())
    with db.transaction() as s:
        reviewed(
            s,
            settings,
            review_grade(
                s,
                settings,
                steward,
                get_dataset(s, dataset),
                action="override",
                level="L3",
                reason="已脱敏评估",
            ),
            second_admin,
        )
    info = load(dataset, base(n=6))
    assert (info["level"], info["status"]) == ("L3", "overridden")


def _rules_file(tmp_path, **levels) -> str:
    import yaml

    data = yaml.safe_load(_default_rules_text())
    for cat, lv in levels.items():
        data["categories"][cat]["level"] = lv
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def _default_rules_text() -> str:
    from importlib import resources

    return resources.files("shuzhi.classify").joinpath("rules/default.yaml").read_text(encoding="utf-8")


def test_child_id_gets_the_minor_level(db, settings, dataset, load):
    info = load(dataset, csv_of({"sfzh": [*IDS[:5], CHILD_ID] * 5, "beizhu": ["复诊"] * 30}))
    sfzh = {c["field"]: c for c in info["columns"]}["sfzh"]
    assert sfzh["evidence"]["minors"] == 5
    assert info["level"] == load_rules(settings).level_of("minor")


def test_child_id_names_the_minor_rule_when_it_ranks_highest(db, settings, dataset, load, tmp_path):
    # With the shipped rules resident_id is already at the minor level, so the ID column decides; a
    # deployment that grades IDs lower still grades children up, and the grade says why.
    settings.classify.rules_file = _rules_file(tmp_path, resident_id="L3")
    info = load(dataset, csv_of({"sfzh": [*IDS[:5], CHILD_ID] * 5, "beizhu": ["复诊"] * 30}))
    assert info["level"] == "L4"
    assert (info["rule"]["category"], info["rule"]["name"]) == ("minor", "sfzh")
    adults = load(dataset, csv_of({"sfzh": IDS * 5, "beizhu": ["复诊"] * 30}))
    assert adults["level"] == "L3"


def test_minors_from_a_birth_date_column(dataset, load):
    births = ["1990-03-07", "1985-12-31", "1977-12-12", "1965-02-15", "2021-06-01", "2019-09-09"]
    info = load(dataset, csv_of({"csrq": births * 5, "beizhu": ["复诊"] * 30}))
    csrq = {c["field"]: c for c in info["columns"]}["csrq"]
    assert csrq["category"] == "birth_date" and csrq["evidence"]["minors"] == 10
    assert info["level"] == "L4" and info["rule"]["category"] == "minor"
    adults = load(dataset, csv_of({"csrq": births[:4] * 5, "beizhu": ["复诊"] * 20}))
    assert adults["level"] == "L3"


def test_deployment_configuration_through_settings(db, settings, dataset, load, tmp_path):
    import yaml

    rules = yaml.safe_load(_default_rules_text())
    rules["levels"] = [{"code": "公开"}, {"code": "内部"}, {"code": "敏感"}, {"code": "核心敏感"}]
    rename = {"L1": "公开", "L2": "内部", "L3": "敏感", "L4": "核心敏感"}
    rules["default_level"], rules["unknown_category_level"] = "内部", "敏感"
    rules["undetermined_level"] = "敏感"
    for spec in [*rules["categories"].values(), *rules["combinations"]]:
        spec["level"] = rename[spec["level"]]
    rules["categories"]["patient_no"] = {"level": "核心敏感", "kind": "direct_identifier", "zh": "病案号"}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    detectors = {
        "detectors": [
            {
                "name": "patient_no",
                "category": "patient_no",
                "pattern": r"BA\d{8}",
                "hints": ["病案号", "bah"],
            }
        ],
        # Here "xm" abbreviates 项目 (project), not 姓名.
        "hints": {"negative": {"person_name": ["xm"]}},
    }
    (tmp_path / "det.yaml").write_text(yaml.safe_dump(detectors, allow_unicode=True), encoding="utf-8")
    settings.classify.rules_file = tmp_path / "rules.yaml"
    settings.classify.detectors_file = tmp_path / "det.yaml"
    settings.classify.important_data_min_persons = 3

    info = load(
        dataset,
        csv_of({"bah": [f"BA{20250000 + i}" for i in range(30)], "xm": NAMES * 5, "beizhu": ["复诊"] * 30}),
    )
    cols = {c["field"]: c for c in info["columns"]}
    assert cols["bah"]["category"] == "patient_no" and cols["bah"]["level"] == "核心敏感"
    assert cols["xm"]["category"] != "person_name"  # shipped hints alone make it a name column
    assert info["level"] == "核心敏感" and [lv["code"] for lv in info["levels"]][0] == "公开"
    assert info["data_class"] == "重要" and info["needs_review"]
    assert info["flags"][0]["min_persons"] == 3


def test_plugin_detector_decides_a_column(settings):
    import pyarrow as pa

    from shuzhi.classify.detectors import Detector
    from shuzhi.hooks import hookimpl, plugin_manager

    class HospitalPlugin:
        @hookimpl
        def classify_detectors(self, settings):
            return [Detector("zyh", "inpatient_no", r"ZY\d{7}", hints=("住院号",), source="plugin")]

    pm = plugin_manager()
    plugin = HospitalPlugin()
    pm.register(plugin)
    try:
        scanner = build_scanner(settings)
        table = pa.table({"zyh": [f"ZY{1000000 + i}" for i in range(50)]})
        (result,) = scanner.scan(table)
    finally:
        pm.unregister(plugin)
    assert (result.category, result.detector) == ("inpatient_no", "zyh")
    (after,) = build_scanner(settings).scan(table)
    assert after.category != "inpatient_no"


def test_grading_a_version_again_repeats_no_open_alert(db, settings, dataset, load):
    load(dataset, csv_of({"beizhu": ["复诊"] * 30}))
    first = load(dataset, csv_of({"beizhu": ["复诊"] * 30, "sfzh": IDS * 5}))
    kinds = sorted((a["kind"], a["field"] or "") for a in first["alerts"])
    assert ("sensitive_column_added", "sfzh") in kinds
    with db.transaction() as s:
        ds = get_dataset(s, dataset)
        classify_version(s, settings, ds.versions[-1], full=True)
    with db.session() as s:
        again = classification(s, settings, get_dataset(s, dataset))
    assert sorted((a["kind"], a["field"] or "") for a in again["alerts"]) == kinds
