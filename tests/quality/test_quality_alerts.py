"""Anomaly warnings on version metrics, the quality alert inbox and the supervision of data providers."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.quality.conftest import add_dataset, add_version
from typer.testing import CliRunner

from shuzhi.catalog.models import Dataset, DatasetVersion
from shuzhi.catalog.service import get_dataset
from shuzhi.cli import app as cli_app
from shuzhi.errors import Conflict, Forbidden, InvalidInput
from shuzhi.ledger.models import LedgerEntry
from shuzhi.notify.models import Notification
from shuzhi.quality import alerts, anomalies, service, supervision, watch
from shuzhi.quality.alert_models import Alert, VersionMetrics
from shuzhi.store.base import utcnow

LIMITS = anomalies.Limits()
N = 100


def _table(rows: int = N, null_names: int = 0, scale: float = 1.0) -> pa.Table:
    return pa.table(
        {
            "code": [f"C{i:04d}" for i in range(rows)],
            "name": [None if i < null_names else f"名{i}" for i in range(rows)],
            "amount": [float(i % 10) * scale + 1.5 for i in range(rows)],
        }
    )


# -- the comparisons, pure ------------------------------------------------------------------------


def test_against_the_previous_version_a_drop_of_rows_or_a_rise_of_nulls_is_an_anomaly():
    hit = anomalies.judge("rows", None, 60, [100], LIMITS)
    assert hit.method == "ratio" and hit.change == pytest.approx(-0.4) and hit.previous == 100
    assert anomalies.judge("rows", None, 90, [100], LIMITS) is None
    assert anomalies.judge("null_share", "name", 0.3, [0.0], LIMITS).change == pytest.approx(0.3)
    assert anomalies.judge("null_share", "name", 0.0, [0.3], LIMITS) is None  # fewer nulls: no warning
    assert anomalies.judge("mean", "amount", 10.0, [5.0], LIMITS).change == pytest.approx(1.0)
    assert anomalies.judge("distinct", "code", 60, [100], LIMITS) is None  # within 50%
    assert anomalies.judge("rows", None, 60, [], LIMITS) is None  # a first version has no history


def test_with_enough_history_the_z_score_decides_and_small_changes_never_alert():
    steady = [1000, 1010, 990, 1005]
    hit = anomalies.judge("rows", None, 900, steady, LIMITS)
    assert hit.method == "zscore" and hit.z < -3 and hit.baseline == pytest.approx(1001.25)
    # z is far beyond 3 but the change is under 5% of the mean: noise, not an alert
    assert anomalies.judge("rows", None, 1030, steady, LIMITS) is None
    # a noisy history makes a 35% move ordinary, though the previous version alone would flag it
    assert anomalies.judge("rows", None, 650, [400, 1200, 500, 1000], LIMITS) is None
    # no spread at all: judged against the previous version instead
    assert anomalies.judge("rows", None, 60, [100, 100, 100, 100], LIMITS).method == "ratio"


# -- on ingest ------------------------------------------------------------------------------------


def _csv(tmp_path, table, name="t.csv"):
    import pyarrow.csv as pacsv

    path = tmp_path / name
    pacsv.write_csv(table, path)
    return path


def _ingest(w, path):
    from shuzhi.ingest import ingest_source

    with w.db.transaction() as s:
        return ingest_source(s, w.settings, get_dataset(s, "ledger_book"), path, user_id=None)


def _alerts(w, **kw):
    with w.db.read() as s:
        return [(a.kind, a.version_number, a.figures) for a in alerts.list_alerts(s, w.admin, **kw)]


def _events(w, name):
    with w.db.read() as s:
        return [json.loads(e.entry) for e in s.scalars(select(LedgerEntry).where(LedgerEntry.event == name))]


def test_a_version_with_40_percent_fewer_rows_or_a_column_30_percent_null_raises_an_alert_without_rules(
    world, tmp_path
):
    w = world
    add_dataset(w.db, w.steward, "ledger_book", _table())
    _ingest(w, _csv(tmp_path, _table()))
    _ingest(w, _csv(tmp_path, _table(scale=1.02)))  # a new version, its metrics barely moved
    assert _alerts(w) == []
    _ingest(w, _csv(tmp_path, _table(rows=60)))
    [(kind, version, figures)] = _alerts(w)
    assert (kind, version) == ("metric_anomaly", 3)
    rows = [a for a in figures["anomalies"] if a["metric"] == "rows"]
    assert rows == [
        {
            "metric": "rows",
            "column": None,
            "value": 60.0,
            "previous": 100.0,
            "baseline": 100.0,
            "change": -0.4,
            "method": "ratio",
            "z": None,
            "threshold": 0.3,
        }
    ]
    _ingest(w, _csv(tmp_path, _table(rows=60, null_names=18)))
    found = _alerts(w)
    assert [(k, v) for k, v, _ in found] == [("metric_anomaly", 4), ("metric_anomaly", 3)]
    nulls = [a for a in found[0][2]["anomalies"] if a["metric"] == "null_share"]
    assert [(a["column"], a["value"], a["previous"]) for a in nulls] == [("name", 0.3, 0.0)]
    with w.db.read() as s:
        assert s.scalar(select(VersionMetrics.rows).where(VersionMetrics.version_number == 4)) == 60
        told = s.scalars(select(Notification).where(Notification.kind == "quality_alert")).all()
        assert {n.user_id for n in told} == {w.steward.user_id}  # the GA steward only, once per alert
        assert len(told) == 2 and all(n.link.startswith("/quality/alerts#alert-") for n in told)
    raised = _events(w, "quality.alert_raised")
    assert [e["detail"]["kind"] for e in raised] == ["metric_anomaly", "metric_anomaly"]


def test_a_number_column_holding_nan_and_infinities_is_measured_by_its_finite_values(world, tmp_path):
    """JSON has no NaN (PostgreSQL refuses the token): a mean is of the finite values, or none."""
    w = world
    table = _table()
    amounts = table.column("amount").to_pylist()
    amounts[:3] = [float("nan"), float("inf"), float("-inf")]
    add_dataset(w.db, w.steward, "ledger_book", table)
    _ingest(w, _csv(tmp_path, table.set_column(2, "amount", pa.array(amounts))))
    _ingest(w, _csv(tmp_path, table.set_column(2, "amount", pa.array([float("nan")] * N))))
    with w.db.read() as s:
        got = s.execute(
            select(VersionMetrics.version_number, VersionMetrics.columns).order_by("version_number")
        )
        means = [(n, columns["amount"]["mean"]) for n, columns in got]
    assert means == [(1, pytest.approx(sum(amounts[3:]) / (N - 3))), (2, None)]


def test_measuring_a_version_that_fails_leaves_the_load_intact(world, monkeypatch, caplog):
    """The metrics are written in a savepoint: on PostgreSQL a refused insert would otherwise abort the
    loading transaction, and the version with it."""
    w = world
    odd = {"rows": 5, "columns": {"income": {"type": "DOUBLE", "null_share": 0.0, "distinct": 5}}}
    odd["columns"]["income"]["mean"] = object()  # no JSON: the insert fails on either store
    monkeypatch.setattr(watch.metrics, "measure", lambda path, profile: odd)
    with w.db.transaction() as s:
        v = s.scalar(select(DatasetVersion).where(DatasetVersion.number == 1))
        v.drift = {"added": ["email"], "removed": [], "retyped": []}
        assert watch.on_version(s, w.settings, v, None) is None
        v.source = "after the failure"  # the transaction still takes writes
    assert "metrics of people version 1 failed" in caplog.text
    with w.db.read() as s:
        assert (
            s.scalar(select(DatasetVersion.source).where(DatasetVersion.number == 1)) == "after the failure"
        )
        assert s.scalar(select(VersionMetrics.id)) is None
    assert [k for k, _v, _f in _alerts(w, kind="schema_drift")] == ["schema_drift"]


def test_a_run_failing_a_blocking_rule_and_a_schema_change_raise_alerts(world):
    w = world
    with w.db.transaction() as s:
        service.save_rules(s, w.steward, "people", [{"kind": "not_blank", "field": "name", "blocking": True}])
    run_id = service.run(w.db, w.settings, w.steward, "people", 1)
    assert [(k, v) for k, v, _ in _alerts(w)] == [("blocking_failed", 1)]
    service.run(w.db, w.settings, w.steward, "people", 1)  # the same condition, still open: once
    assert len(_alerts(w)) == 1 and _alerts(w)[0][2]["run_id"] == run_id
    with w.db.transaction() as s:
        v = s.scalar(select(DatasetVersion).where(DatasetVersion.number == 1))
        v.drift = {"added": ["email"], "removed": [], "retyped": []}
        watch.on_version(s, w.settings, v, None)
    assert _alerts(w, kind="schema_drift")[0][2]["added"] == ["email"]


# -- the inbox ------------------------------------------------------------------------------------


@pytest.fixture
def inbox(world, make_user):
    w = world
    w.auditor = make_user("auditor1", "SC", ("auditor",))
    with w.db.transaction() as s:
        ds = get_dataset(s, "people")
        first = alerts.raise_alert(
            s,
            kind="late_update",
            key="late_update:test",
            department_id=ds.department_id,
            dataset_id=ds.id,
            severity="warning",
            figures={"dataset": "people", "due": "2026-01-01", "days_late": 3},
        )
        again = alerts.raise_alert(
            s,
            kind="late_update",
            key="late_update:test",
            department_id=ds.department_id,
            dataset_id=ds.id,
            severity="warning",
            figures={},
        )
        assert first is not None and again is None
        w.alert_id = first.id
    return w


def test_alerts_move_new_acknowledged_resolved_each_step_in_the_ledger(inbox):
    w = inbox
    with w.db.transaction() as s:
        a = alerts.acknowledge(s, w.steward, w.alert_id, "查看中")
        assert (a.state, a.acknowledged_by_id, a.acknowledged_note) == (
            "acknowledged",
            w.steward.user_id,
            "查看中",
        )
    with w.db.transaction() as s, pytest.raises(Conflict):
        alerts.acknowledge(s, w.steward, w.alert_id)
    with w.db.transaction() as s, pytest.raises(InvalidInput) as e:
        alerts.resolve(s, w.steward, w.alert_id, "  ")
    assert e.value.where == "note"
    with w.db.transaction() as s:
        a = alerts.resolve(s, w.admin, w.alert_id, "已补报")
        assert (a.state, a.open_key, a.resolved_by_id) == ("resolved", None, w.admin.user_id)
    with w.db.transaction() as s, pytest.raises(Conflict):
        alerts.resolve(s, w.steward, w.alert_id, "again")
    states = [e["detail"].get("note") for e in _events(w, "quality.alert_acknowledged")]
    assert states == ["查看中"] and _events(w, "quality.alert_resolved")[0]["detail"]["note"] == "已补报"
    # resolved: the same condition, if it comes back, is a new alert
    with w.db.transaction() as s:
        ds = get_dataset(s, "people")
        back = alerts.raise_alert(
            s,
            kind="late_update",
            key="late_update:test",
            department_id=ds.department_id,
            severity="warning",
            figures={},
        )
        assert back is not None and back.id != w.alert_id


def test_who_sees_and_who_acts_on_alerts(inbox):
    w = inbox
    with w.db.read() as s:
        assert [a.id for a in alerts.list_alerts(s, w.steward)] == [w.alert_id]
        assert alerts.list_alerts(s, w.other_steward) == []  # SC's steward sees SC's alerts only
        assert [a.id for a in alerts.list_alerts(s, w.auditor)] == [w.alert_id]
        ga = get_dataset(s, "people").department_id
        for who in (w.analyst, w.outsider):
            with pytest.raises(Forbidden):
                alerts.list_alerts(s, who)
        with pytest.raises(Forbidden):
            alerts.list_alerts(s, w.other_steward, department_id=ga)
        with pytest.raises(Forbidden):
            alerts.get_alert(s, w.other_steward, w.alert_id)
    for who in (w.other_steward, w.auditor, w.analyst):
        with w.db.transaction() as s, pytest.raises(Forbidden):
            alerts.acknowledge(s, who, w.alert_id)
        with w.db.transaction() as s, pytest.raises(Forbidden):
            alerts.resolve(s, who, w.alert_id, "x")
    with w.db.read() as s:
        assert s.get(Alert, w.alert_id).state == "new"
    assert _events(w, "quality.alert_acknowledged") == []


# -- supervision ----------------------------------------------------------------------------------


@pytest.fixture
def supervised(world):
    """GA: a daily dataset 5 days without a new version, a version whose fields changed, a version
    failing a blocking rule; a share request SC asked of GA, answered after its deadline."""
    from shuzhi.exchange import share_requests

    w = world
    long_ago = utcnow() - dt.timedelta(days=5)
    add_dataset(w.db, w.steward, "daily_feed", _table(), update_frequency="daily", share_type="conditional")
    add_version(w.db, w.settings, "daily_feed", _table(), at=long_ago)
    add_version(w.db, w.settings, "people", pa.table({"x": [1]}))
    with w.db.transaction() as s:
        v = s.scalar(
            select(DatasetVersion)
            .join(Dataset)
            .where(Dataset.identifier == "people", DatasetVersion.number == 2)
        )
        v.drift = {"added": ["x"], "removed": ["name"], "retyped": []}
        service.save_rules(s, w.steward, "people", [{"kind": "not_blank", "field": "name", "blocking": True}])
    service.run(w.db, w.settings, w.steward, "people", 1)
    with w.db.transaction() as s:
        req = share_requests.create_request(
            s,
            w.settings,
            w.outsider,
            share_requests.RequestIn(dataset="daily_feed", fields=["code"], purpose="核查"),
            submit=True,
        )
        req.deadline = utcnow().date() - dt.timedelta(days=2)
        share_requests.reject_request(s, w.steward, req, "不符合条件")
    return w


def test_supervision_figures_and_the_scorecard_say_what_each_score_is_made_of(supervised):
    w = supervised
    with w.db.read() as s:
        card = {d["department"]: d for d in supervision.scorecard(s, w.settings, w.admin)}
    ga = card["GA"]
    f = ga["figures"]
    assert [x["dataset"] for x in f["late"]] == ["daily_feed"] and f["late"][0]["days_late"] >= 4
    assert f["periodic"] == 1 and ga["components"]["timeliness"] == 0.0
    assert [(x["dataset"], x["version"], x["removed"]) for x in f["drift"]] == [("people", 2, ["name"])]
    assert f["versions"] == 3 and ga["components"]["stability"] == pytest.approx(66.67)
    assert f["blocked"] == [{"dataset": "people", "version": 1}] and ga["components"]["conformity"] == 0.0
    assert (f["share_answered"], f["share_answered_late"], f["share_overdue_open"]) == (1, 1, 0)
    assert ga["components"]["responsiveness"] == 0.0
    present = [v for v in ga["components"].values() if v is not None]
    assert ga["score"] == pytest.approx(round(sum(present) / len(present), 2)) and ga["rank"] == 1
    assert "SC" not in card  # no datasets: not a provider
    with w.db.read() as s, pytest.raises(Forbidden):
        supervision.scorecard(s, w.settings, w.analyst)


def test_the_sweep_raises_each_crossed_threshold_once(supervised):
    w = supervised
    with w.db.transaction() as s:
        counts = supervision.sweep(s, w.settings)
    assert counts == {"late_update": 1, "share_overdue": 1, "low_score": 1}
    with w.db.transaction() as s:
        assert supervision.sweep(s, w.settings) == {"late_update": 0, "share_overdue": 0, "low_score": 0}
    kinds = sorted(k for k, _, _ in _alerts(w, state="new"))
    assert kinds == ["blocking_failed", "late_update", "low_score", "share_overdue"]
    with w.db.transaction() as s, pytest.raises(Forbidden):
        supervision.run_sweep(s, w.settings, w.steward)


# -- API and command line -------------------------------------------------------------------------


def test_the_api_lists_acknowledges_resolves_and_refuses(inbox, client, token_for):
    w = inbox
    h = {u: token_for(u) for u in ("ga_steward", "sc_steward", "ga_analyst", "auditor1", "admin1")}
    r = client.get("/api/v1/quality/alerts?state=new", headers=h["ga_steward"])
    assert r.status_code == 200 and [a["id"] for a in r.json()["alerts"]] == [w.alert_id]
    assert r.json()["alerts"][0]["dataset"] == "people" and r.json()["alerts"][0]["department"] == "GA"
    assert client.get("/api/v1/quality/alerts?department=SC", headers=h["auditor1"]).json()["alerts"] == []
    assert client.get("/api/v1/quality/alerts?department=GA", headers=h["sc_steward"]).status_code == 403
    assert client.get("/api/v1/quality/alerts", headers=h["ga_analyst"]).status_code == 403
    assert client.get("/api/v1/quality/alerts?state=bogus", headers=h["admin1"]).status_code == 422
    assert client.get("/api/v1/quality/alerts").status_code == 401
    ack = f"/api/v1/quality/alerts/{w.alert_id}/acknowledge"
    for who in ("sc_steward", "auditor1"):
        assert client.post(ack, headers=h[who]).status_code == 403, who
    r = client.post(ack, json={"note": "在查"}, headers=h["ga_steward"])
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    res = f"/api/v1/quality/alerts/{w.alert_id}/resolve"
    assert client.post(res, json={}, headers=h["ga_steward"]).status_code == 422
    r = client.post(res, json={"note": "已处理"}, headers=h["ga_steward"])
    assert r.status_code == 200 and r.json()["state"] == "resolved" and r.json()["resolved_note"] == "已处理"
    assert client.post(res, json={"note": "x"}, headers=h["ga_steward"]).status_code == 409
    assert client.get("/api/v1/quality/scorecard", headers=h["auditor1"]).status_code == 200
    assert client.get("/api/v1/quality/scorecard", headers=h["ga_analyst"]).status_code == 403
    assert client.post("/api/v1/quality/supervision/sweep", headers=h["ga_steward"]).status_code == 403
    r = client.post("/api/v1/quality/supervision/sweep", headers=h["admin1"])
    assert r.status_code == 200 and set(r.json()["raised"]) == {"late_update", "share_overdue", "low_score"}


def test_the_commands_list_acknowledge_resolve_score_and_sweep(inbox, cli_env):
    w = inbox
    runner = CliRunner()
    out = runner.invoke(cli_app, ["quality", "alerts", "--state", "new", "--json", "--as", "ga_steward"])
    assert out.exit_code == 0, out.output
    assert [a["id"] for a in json.loads(out.output)] == [w.alert_id]
    denied = runner.invoke(cli_app, ["quality", "ack", str(w.alert_id), "--as", "sc_steward"])
    assert denied.exit_code == 2
    assert runner.invoke(cli_app, ["quality", "ack", str(w.alert_id), "--as", "ga_steward"]).exit_code == 0
    assert (
        runner.invoke(cli_app, ["quality", "resolve", str(w.alert_id), "--as", "ga_steward"]).exit_code == 2
    )
    done = runner.invoke(
        cli_app, ["quality", "resolve", str(w.alert_id), "--note", "已补报", "--as", "ga_steward"]
    )
    assert done.exit_code == 0, done.output
    with w.db.read() as s:
        assert s.get(Alert, w.alert_id).state == "resolved"
    card = runner.invoke(cli_app, ["quality", "scorecard", "--json"])
    assert card.exit_code == 0 and json.loads(card.output)[0]["department"] == "GA"
    table = runner.invoke(cli_app, ["quality", "scorecard"])
    assert table.exit_code == 0 and "GA" in table.output
    swept = runner.invoke(cli_app, ["quality", "sweep"])
    assert swept.exit_code == 0, swept.output
    assert runner.invoke(cli_app, ["quality", "sweep", "--as", "ga_steward"]).exit_code == 2


def test_a_distinct_count_that_only_follows_the_rows_is_not_reported():
    def version(rows, distinct, null_share=0.0):
        return {
            "rows": rows,
            "columns": {"k": {"null_share": null_share, "distinct": distinct, "mean": None}},
        }

    halved = anomalies.compare(version(50, 50), [version(100, 100)], LIMITS)
    assert [a.metric for a in halved] == ["rows"]
    # the rows stayed, the keys collapsed: that is news
    collapsed = anomalies.compare(version(100, 20), [version(100, 100)], LIMITS)
    assert [(a.metric, a.column) for a in collapsed] == [("distinct", "k")]


def test_the_pages_refuse_others_and_forms_without_their_token(inbox, client):
    from tests.conftest import csrf_of, login

    w = inbox
    login(client, "ga_analyst", next="/catalog")
    assert client.get("/quality/alerts").status_code == 403
    assert client.get("/quality/scorecard").status_code == 403
    login(client, "sc_steward", next="/catalog")
    page = client.get("/quality/alerts")
    assert page.status_code == 200 and f'id="alert-{w.alert_id}"' not in page.text
    refused = client.post(
        f"/quality/alerts/{w.alert_id}/resolve", data={"note": "x", "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 403
    login(client, "ga_steward", next="/catalog")
    page = client.get("/quality/alerts")
    assert f'id="alert-{w.alert_id}"' in page.text and 'name="csrf_token"' in page.text
    assert client.post(f"/quality/alerts/{w.alert_id}/acknowledge", data={"note": "x"}).status_code == 403
    done = client.post(
        f"/quality/alerts/{w.alert_id}/acknowledge",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with w.db.read() as s:
        assert s.get(Alert, w.alert_id).state == "acknowledged"


def test_a_sweep_that_loses_the_race_to_raise_an_alert_keeps_its_other_work(inbox, monkeypatch):
    """Two sweeps side by side both find no open alert for a condition; the second to insert meets the
    first's row (the open key is unique): it raises nothing and its transaction goes on."""
    w = inbox
    real_scalar = Session.scalar

    def missed_check(self, statement, *a, **kw):  # the check ran before the other sweep committed
        return None if "open_key" in str(statement) else real_scalar(self, statement, *a, **kw)

    with w.db.transaction() as s:
        ds = get_dataset(s, "people")
        monkeypatch.setattr(Session, "scalar", missed_check)
        lost = alerts.raise_alert(
            s,
            kind="late_update",
            key="late_update:test",
            department_id=ds.department_id,
            severity="warning",
            figures={},
        )
        monkeypatch.undo()
        assert lost is None
        other = alerts.raise_alert(
            s,
            kind="late_update",
            key="late_update:other",
            department_id=ds.department_id,
            severity="warning",
            figures={},
        )
    with w.db.read() as s:
        assert s.get(Alert, other.id) is not None  # the sweep's other alert committed
    assert len(_events(w, "quality.alert_raised")) == 2  # the fixture's and the other: none for the lost race
