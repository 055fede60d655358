"""The quality section of a dataset page: scores, trend, rule results, failing rows for the owning
department and admins only (audited), holds and their override, running the rules, the empty state."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select
from tests.conftest import csrf_of, login
from tests.quality.conftest import PEOPLE, add_version

from shuzhi.ledger.models import LedgerEntry
from shuzhi.quality import service

HTML = {"Accept": "text/html"}
RULES = {
    "rules": [
        {"kind": "not_blank", "field": "name", "blocking": True},
        {"kind": "resident_id", "field": "id_number"},
        {"kind": "unique", "fields": ["id_number"]},
        {"kind": "enum", "field": "sex", "values": ["男", "女"]},
    ],
    "sample_size": 3,
}


def _entries(db, name: str) -> list[dict]:
    with db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == name).order_by(LedgerEntry.seq))
        return [json.loads(e.entry) for e in rows]


def _section(html: str) -> str:
    return re.search(r'<section class="card" id="quality">.*?</section>', html, re.S).group(0)


def _check(world):
    """Rules on `people`, run on v1 (two blank names) and on v2 (one): both blocked, v2 held."""
    with world.db.write() as s:
        service.save_rules(s, world.steward, "people", RULES)
    service.run(world.db, world.settings, world.steward, "people", 1)
    fixed = PEOPLE.set_column(1, "name", [["王明", "赵强", None, "李华", "张芳"]])
    add_version(world.db, world.settings, "people", fixed)
    service.run(world.db, world.settings, world.steward, "people", 2)
    return world


@pytest.fixture
def checked(world):
    return _check(world)


def test_empty_state_then_scores_trend_and_results_shown_to_anyone_signed_in(client, world):
    login(client, "ga_steward")
    page = _section(client.get("/datasets/people").text)
    assert 'id="quality-empty"' in page and "shuzhi quality rules set people rules.yaml" in page
    assert "quality-run-form" not in page and "quality-scores" not in page
    login(client, "sc_analyst")
    page = _section(client.get("/datasets/people?lang=en").text)
    assert 'id="quality-empty"' in page and "added by the stewards of the owning department" in page
    assert "shuzhi quality rules set" not in page

    checked = _check(world)
    page = _section(client.get("/datasets/people?lang=zh").text)
    assert 'id="quality-empty"' not in page
    with checked.db.read() as s:
        runs = service.history(s, service.get_dataset(s, "people"))
    newest = runs[-1]
    assert [r.version_number for r in runs] == [1, 2] and runs[0].score < newest.score
    assert "完整性" in page and "有效性" in page and "总分" in page
    assert f"{newest.score:.1f}" in page and f"{runs[0].score:.1f}" in page
    # the chart: inline SVG with a title, a description naming each version's score, a table fallback
    svg = re.search(r"<svg viewBox=.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and "<title" in svg and f"v1: {runs[0].score:.1f}" in svg
    assert '<g data-series="overall">' in svg and '<g data-series="completeness">' in svg
    assert '<g data-series="accuracy">' not in svg  # no accuracy rule: no line, never a 0
    assert 'id="quality-history"' in page and "http" not in svg.replace("http://www.w3.org/2000/svg", "")
    # failing rules first, blocking first among them; counts for everyone
    order = re.findall(r'<tr data-rule="([^"]+)" class="(q-failing|q-passing)"', page)
    assert order[0] == ("not_blank(name)", "q-failing")
    assert [c for _, c in order] == sorted((c for _, c in order), key=lambda c: c != "q-failing")
    assert "阻断" in page
    # holds: v2 held (the form is a steward's), v1 blocked too
    assert re.search(r'data-version="2" data-status="held"', page) and "/override" not in page


def test_failing_rows_only_for_the_owning_department_and_admins_each_view_audited(client, checked):
    before = len(_entries(checked.db, "quality.samples_read"))
    login(client, "sc_analyst")  # another department's analyst: counts, a note, no rows, no entry
    page = _section(client.get("/datasets/people?samples=1").text)
    assert 'id="samples-withheld"' in page and 'class="q-sample"' not in page
    assert "只有数据提供部门的成员和管理员" in page
    assert len(_entries(checked.db, "quality.samples_read")) == before
    r = client.get("/api/v1/quality/runs/1?samples=true")
    assert r.status_code == 403

    login(client, "ga_analyst")  # the owning department: offered, shown when asked, audited
    page = _section(client.get("/datasets/people").text)
    assert 'id="show-samples"' in page and 'class="q-sample"' not in page
    assert len(_entries(checked.db, "quality.samples_read")) == before
    page = _section(client.get("/datasets/people?samples=1").text)
    assert 'id="samples-shown"' in page and 'data-sample="not_blank(name)"' in page
    assert "***" in page and "11010519491231002X" not in page  # an L4 field stays hidden
    reads = _entries(checked.db, "quality.samples_read")
    assert len(reads) == before + 1
    with checked.db.read() as s:
        newest = service.history(s, service.get_dataset(s, "people"))[-1].id
    assert reads[-1]["user_id"] == checked.analyst.user_id and reads[-1]["detail"]["run_id"] == newest
    assert "not_blank(name)" in reads[-1]["detail"]["rules"]

    login(client, "admin1")  # an admin of another department
    page = _section(client.get("/datasets/people?samples=1&lang=en").text)
    assert 'class="q-sample"' in page and "recorded in the audit ledger" in page
    assert _entries(checked.db, "quality.samples_read")[-1]["user_id"] == checked.admin.user_id


def _held(db) -> dict | None:
    with db.read() as s:
        v = service.get_version(s, service.get_dataset(s, "people"), 2)
        return service.version_hold(s, v.id)


def test_a_steward_overrides_a_hold_and_runs_the_rules_from_the_page_others_are_refused(client, checked):
    action = "/datasets/people/quality/versions/2/override"
    for who in ("sc_steward", "ga_analyst"):
        login(client, who)
        page = client.get("/datasets/people").text
        assert action not in page
        r = client.post(action, data={"csrf_token": csrf_of(page), "reason": "急用"}, headers=HTML)
        assert r.status_code == 403, who
    login(client, "ga_steward")
    page = client.get("/datasets/people").text
    assert f'action="{action}"' in page
    assert client.post(action, data={"reason": "急用"}, headers=HTML).status_code == 403  # no CSRF token
    r = client.post(action, data={"csrf_token": csrf_of(page), "reason": "  "}, headers=HTML)
    assert r.status_code == 422 and 'data-form="override-2"' in r.text
    assert _held(checked.db) is not None and not _entries(checked.db, "quality.block_overridden")
    r = client.post(
        action,
        data={"csrf_token": csrf_of(page), "reason": "空白姓名为历史记录，已核实"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/datasets/people#quality"
    assert _held(checked.db) is None
    assert _entries(checked.db, "quality.block_overridden")[-1]["user_id"] == checked.steward.user_id
    page = _section(client.get("/datasets/people").text)
    assert 'data-version="2" data-status="overridden"' in page and "空白姓名为历史记录，已核实" in page
    r = client.post(action, data={"csrf_token": csrf_of(page), "reason": "再次"}, headers=HTML)
    assert r.status_code == 409 and 'data-form="override-2"' in r.text  # nothing held any more

    # running the rules again from the page: a new run, a new verdict (held again)
    with checked.db.read() as s:
        before = len(service.runs_of(s, service.get_dataset(s, "people")))
    login(client, "sc_steward")
    page = client.get("/datasets/people").text
    assert "quality-run-form" not in page
    r = client.post("/datasets/people/quality/runs", data={"csrf_token": csrf_of(page)}, headers=HTML)
    assert r.status_code == 403
    login(client, "ga_steward")
    page = client.get("/datasets/people").text
    assert client.post("/datasets/people/quality/runs", headers=HTML).status_code == 403  # no CSRF token
    r = client.post(
        "/datasets/people/quality/runs", data={"csrf_token": csrf_of(page)}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/datasets/people#quality"
    with checked.db.read() as s:
        runs = service.runs_of(s, service.get_dataset(s, "people"))
    assert len(runs) == before + 1 and runs[0].version_number == 2
    page = client.get("/datasets/people").text
    assert "已对版本 2 执行质量检查" in page and 'data-version="2" data-status="held"' in page
