"""Grading of ingested versions: rules, overrides across versions, alerts, ledger, permissions, API, page."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.classify.conftest import IDS, csv_of, reviewed

from shuzhi.catalog.service import get_dataset
from shuzhi.classify.review import review_column, review_grade
from shuzhi.classify.rules import grade_dataset, load_rules, parse_rules
from shuzhi.errors import Forbidden, InvalidInput
from shuzhi.ledger.models import LedgerEntry

NAMES = ["王秀英", "李伟", "张敏", "刘洋", "陈静", "杨帆"]
DIAG = ["高血压", "2型糖尿病", "肺炎", "冠心病", "抑郁症", "胃炎"]


def base(n=5, **extra):
    cols = {
        "sfzh": IDS * n,
        "xm": NAMES * n,
        "beizhu": ["无异常", "复诊", "常规", "随访", "正常", "良好"] * n,
    }
    cols.update(extra)
    return csv_of(cols)


def test_combination_and_volume_rules():
    rules = load_rules()
    g = grade_dataset(rules, {"a": "person_name", "b": "ethnicity"})
    assert g.level == "L4" and g.rule["type"] == "combination"
    g = grade_dataset(rules, {"a": "mobile"}, persons=5, min_persons_default=3)
    assert g.data_class == "重要" and g.needs_review
    custom = parse_rules(
        {
            "levels": [{"code": "公开"}, {"code": "受限"}],
            "categories": {"mobile": {"level": "受限", "kind": "direct_identifier"}},
        }
    )
    assert grade_dataset(custom, {"a": "mobile"}).level == "受限"
    with pytest.raises(InvalidInput):
        parse_rules({"levels": [{"code": "L1"}], "categories": {"x": {"level": "L9"}}})


def test_version_is_graded_and_written_to_catalog_and_ledger(db, settings, dataset, load):
    info = load(dataset, base())
    cols = {c["field"]: c for c in info["columns"]}
    assert cols["sfzh"]["category"] == "resident_id" and cols["xm"]["category"] == "person_name"
    assert info["level"] == "L4" and info["rule"]["name"] == "sfzh"
    with db.session() as s:
        ds = get_dataset(s, dataset)
        assert (ds.security_grade, ds.data_class) == ("L4", "一般")
        events = [e.event for e in s.scalars(select(LedgerEntry).where(LedgerEntry.dataset_id == ds.id))]
        assert "grade.assigned" in events


def test_override_survives_new_version_and_lapses_when_column_changes(
    db, settings, dataset, load, steward, second_admin
):
    load(dataset, base())
    with db.transaction() as s:
        asked = review_column(
            s,
            settings,
            steward,
            get_dataset(s, dataset),
            "xm",
            action="override",
            category="none",
            reason="测试姓名为虚构 names are fictitious",
        )
        reviewed(s, settings, asked, second_admin)
    info = load(dataset, base(n=6))
    assert {c["field"]: c["status"] for c in info["columns"]}["xm"] == "overridden"
    info = load(
        dataset, csv_of({"sfzh": IDS * 5, "xm": [str(i) for i in range(30)], "beizhu": ["复诊"] * 30})
    )
    xm = {c["field"]: c for c in info["columns"]}["xm"]
    assert xm["status"] == "suggested"
    assert any(a["kind"] == "override_lapsed" for a in info["alerts"])
    with db.session() as s:
        events = [e.event for e in s.scalars(select(LedgerEntry))]
        assert "grade.overridden" in events


def test_new_sensitive_column_raises_alert_and_regrades(db, settings, dataset, load):
    first = load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30}))
    assert first["level"] == "L3"
    second = load(dataset, csv_of({"xm": NAMES * 5, "beizhu": ["复诊"] * 30, "zdmc": DIAG * 5}))
    assert second["level"] == "L4"
    kinds = {a["kind"] for a in second["alerts"]}
    assert {"sensitive_column_added", "grade_raised"} <= kinds


def test_suggestions_are_rescored_on_new_data(dataset, load):
    first = load(dataset, csv_of({"c1": [f"备注{i}" for i in range(30)]}))
    assert first["columns"][0]["category"] == "none"
    phones = [f"1381234{i:04d}" for i in range(30)]
    second = load(dataset, csv_of({"c1": phones}))
    assert second["columns"][0]["category"] == "mobile"


def test_only_owner_steward_or_admin_may_review(db, settings, dataset, load, make_user, second_admin):
    load(dataset, base())
    other = make_user("ga.steward", dept="GA", roles=("steward",))
    analyst = make_user("wjw.analyst", dept="WJW", roles=("analyst",))
    admin = make_user("root", dept="GA", roles=("admin",))
    with db.transaction() as s:
        ds = get_dataset(s, dataset)
        for who in (other, analyst):
            with pytest.raises(Forbidden):
                review_column(s, settings, who, ds, "xm", action="confirm", reason="ok")
            with pytest.raises(Forbidden):
                review_grade(s, settings, who, ds, action="override", level="L1", reason="x")
        with pytest.raises(InvalidInput):
            review_grade(s, settings, admin, ds, action="override", level="L1", reason=" ")
        g = reviewed(
            s,
            settings,
            review_grade(
                s,
                settings,
                admin,
                ds,
                action="override",
                level="L3",
                data_class="重要",
                reason="经评估 assessed",
            ),
            second_admin,
        )
        assert (g.level, g.status, ds.security_grade) == ("L3", "overridden", "L3")
        # A new data class alone keeps the level in force.
        g = review_grade(s, settings, admin, ds, action="override", data_class="一般", reason="复评")
        assert (g.level, g.data_class, g.status) == ("L3", "一般", "overridden")


def test_api_and_page(client, db, settings, dataset, load, steward, make_user):
    from shuzhi.orgs import service as orgs

    load(dataset, base())
    outsider = make_user("x.analyst", dept="GA", roles=("analyst",))
    with db.transaction() as s:
        token = orgs.create_token(s, orgs.get_user(s, "wjw.steward"), name="t")[1]
        otoken = orgs.create_token(s, orgs.get_user(s, outsider.username), name="t")[1]
    h = {"Authorization": f"Bearer {token}"}
    r = client.get(f"/api/v1/datasets/{dataset}/classification", headers=h)
    assert r.status_code == 200 and r.json()["level"] == "L4"
    r = client.post(
        f"/api/v1/datasets/{dataset}/classification/columns/beizhu",
        headers=h,
        json={"action": "override", "category": "medical", "reason": "含病情描述"},
    )
    assert r.status_code == 200
    assert {c["field"]: c["category"] for c in r.json()["columns"]}["beizhu"] == "medical"
    r = client.post(
        f"/api/v1/datasets/{dataset}/classification/grade",
        headers={"Authorization": f"Bearer {otoken}"},
        json={"action": "confirm", "reason": "x"},
    )
    assert r.status_code == 403
    assert client.get(f"/api/v1/datasets/{dataset}/classification").status_code == 401


def test_page_section_has_review_forms_with_csrf(app, db, dataset, load, steward, make_user):
    from types import SimpleNamespace

    from starlette.requests import Request

    from shuzhi.web.pages.classify import section_html

    load(dataset, base())
    analyst = make_user("wjw.analyst2", dept="WJW", roles=("analyst",))

    def render(who):
        req = Request(
            {"type": "http", "app": app, "method": "GET", "path": "/", "headers": [], "query_string": b""}
        )
        req.state.login = SimpleNamespace(csrf_token="tok123")
        with db.session() as s:
            return section_html(req, s, who, get_dataset(s, dataset))

    html = render(steward)
    assert 'id="classification"' in html and 'value="tok123"' in html and "110***" in html and "sfzh" in html
    assert "/classification/columns/xm" in html
    assert "/classification/columns/xm" not in render(analyst)  # no review buttons for non-stewards
