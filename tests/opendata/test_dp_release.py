"""Statistics releases paid from a dataset's privacy budget: stored with their figures, refused when the
budget cannot pay (nothing stored), never overspent by concurrent releases, audited, the budget's
ledger shown to its stewards and admins only; through the service, the API and the command line."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update
from tests.exchange.conftest import add_dataset, population_table

from shuzhi.catalog.models import Dataset
from shuzhi.errors import Forbidden, InvalidInput, NotFound
from shuzhi.ledger.models import LedgerEntry
from shuzhi.opendata import budget, published, stats
from shuzhi.opendata.budget import BudgetExceeded
from shuzhi.opendata.budget_models import PrivacyBudget, StatisticsRelease
from shuzhi.orgs.service import Principal

REGIONS = ["330102", "330106", "330108", "330203", "330212"]
SPEC = {
    "epsilon": 0.3,
    "figures": [
        {"name": "people_by_region", "kind": "count", "by": "region_code", "groups": REGIONS},
        {"name": "mean_income", "kind": "mean", "field": "income", "bounds": [0, 100000]},
    ],
}


@dataclass
class Place:
    db: object
    settings: object
    steward: Principal
    other_steward: Principal
    analyst: Principal
    admin: Principal


@pytest.fixture
def place(db, settings, make_user) -> Place:
    p = Place(
        db=db,
        settings=settings,
        steward=make_user("ga_steward", "GA", ("steward",)),
        other_steward=make_user("sc_steward", "SC", ("steward",)),
        analyst=make_user("ga_analyst", "GA", ("analyst",)),
        admin=make_user("admin1", "GA", ("admin",)),
    )
    add_dataset(db, settings, p.steward, "population", population_table(), "conditional", "GA")
    set_open_type(db, "population", "conditional")
    return p


def set_open_type(db, identifier: str, open_type: str) -> None:
    with db.write() as s:
        s.execute(update(Dataset).where(Dataset.identifier == identifier).values(open_type=open_type))


def release(place: Place, actor=None, spec=SPEC):
    with place.db.write() as s:
        out = stats.release_statistics(s, place.settings, actor or place.steward, "population", None, spec)
        return stats.as_dict(s, out)


def set_total(place: Place, epsilon: float, delta: float = 0.0) -> None:
    with place.db.write() as s:
        budget.set_budget(s, place.settings, place.admin, "population", epsilon, delta, reason="测试")


def count(place: Place, what) -> int:
    with place.db.read() as s:
        return s.scalar(select(func.count()).select_from(what))


def events(place: Place, name: str) -> list[dict]:
    with place.db.read() as s:
        rows = s.scalars(select(LedgerEntry).where(LedgerEntry.event == name).order_by(LedgerEntry.seq))
        return [json.loads(r.entry) for r in rows]


def test_a_release_is_stored_paid_and_audited(place):
    out = release(place)
    assert [f["name"] for f in out["figures"]] == ["people_by_region", "mean_income"]
    cells = out["figures"][0]["cells"]
    assert [c["group"] for c in cells] == [*REGIONS, None]
    assert all(c["accuracy"] > 0 for c in cells)
    assert out["figures"][0]["epsilon"] == pytest.approx(0.15)
    with place.db.read() as s:
        stored = stats.get_release(s, place.steward, out["id"])
        assert stored.figures == out["figures"] and stored.epsilon == pytest.approx(0.3)
        ledger_view = budget.budget_ledger(s, place.settings, place.steward, "population")
    default = place.settings.privacy.default_epsilon
    assert ledger_view["epsilon_left"] == pytest.approx(default - 0.3)
    [entry] = ledger_view["entries"]
    assert (entry["kind"], entry["release_id"], entry["by"]) == ("spend", out["id"], "ga_steward")
    [audited] = events(place, "opendata.stats_released")
    assert audited["detail"]["release_id"] == out["id"]
    assert audited["detail"]["epsilon"] == pytest.approx(0.3)
    assert audited["detail"]["epsilon_left"] == pytest.approx(default - 0.3)


def test_a_release_the_budget_cannot_pay_is_refused_and_nothing_is_kept(place):
    set_total(place, 0.5)
    release(place)
    with pytest.raises(BudgetExceeded) as e:
        release(place)
    assert e.value.status == 409 and e.value.where == "epsilon"
    assert e.value.detail["epsilon_left"] == pytest.approx(0.2)
    assert "0.2" in e.value.say("en") and "0.2" in e.value.say("zh")
    assert count(place, StatisticsRelease) == 1
    assert len(events(place, "opendata.stats_released")) == 1
    with place.db.read() as s:
        assert s.scalar(select(PrivacyBudget.epsilon_spent)) == pytest.approx(0.3)
    release(place, spec=SPEC | {"epsilon": 0.2})  # exactly what is left still passes
    with pytest.raises(BudgetExceeded):
        release(place, spec=SPEC | {"epsilon": 0.01})


def test_only_stewards_of_the_owner_and_admins_release_and_read_the_ledger(place):
    for outsider in (place.other_steward, place.analyst):
        with pytest.raises(Forbidden):
            release(place, actor=outsider)
        with place.db.read() as s, pytest.raises(Forbidden):
            budget.budget_ledger(s, place.settings, outsider, "population")
    release(place, actor=place.admin)
    with place.db.read() as s:
        assert budget.budget_ledger(s, place.settings, place.admin, "population")["entries"]
        assert budget.budget_ledger(s, place.settings, place.steward, "population")["entries"]


def test_statistics_are_public_for_open_datasets_and_never_for_closed_ones(place):
    out = release(place)
    with place.db.read() as s:
        [public] = published.published_statistics(s, "population")
    assert public["id"] == out["id"] and public["figures"] == out["figures"]
    assert all(c["accuracy"] > 0 for f in public["figures"] for c in f["cells"])
    set_open_type(place.db, "population", "none")  # closed after the figures were computed
    with place.db.read() as s:
        assert published.published_statistics(s, "population") == []
    with pytest.raises(Forbidden) as e:
        release(place)
    assert "population" in e.value.say("en")
    assert count(place, StatisticsRelease) == 1  # the refusal kept nothing
    assert len(events(place, "opendata.stats_released")) == 1
    with place.db.read() as s:
        assert s.scalar(select(PrivacyBudget.epsilon_spent)) == pytest.approx(0.3)


def test_only_admins_set_a_budget_and_never_below_what_is_spent(place):
    with place.db.write() as s, pytest.raises(Forbidden):
        budget.set_budget(s, place.settings, place.steward, "population", 9.0, 0.0)
    release(place)
    with place.db.write() as s, pytest.raises(Exception) as e:
        budget.set_budget(s, place.settings, place.admin, "population", 0.1, 0.0)
    assert e.value.status == 409
    with place.db.write() as s, pytest.raises(InvalidInput) as e:
        budget.set_budget(s, place.settings, place.admin, "population", -1, 0.0)
    assert e.value.where == "epsilon"
    set_total(place, 1.0, 1e-6)
    [audited] = events(place, "opendata.budget_set")
    assert audited["detail"]["epsilon_total"] == 1.0


def test_bad_specs_are_refused_before_anything_is_spent(place):
    for bad, where in [
        (SPEC | {"epsilon": 0}, "epsilon"),
        (SPEC | {"epsilon": 1e6}, "epsilon"),
        ({**SPEC, "figures": [{"kind": "sum", "field": "income"}]}, "figures[0].bounds"),
        ({**SPEC, "figures": [{"kind": "sum", "field": "name", "bounds": [0, 1]}]}, "figures[0].field"),
    ]:
        with pytest.raises(InvalidInput) as e:
            release(place, spec=bad)
        assert e.value.where == where
    with pytest.raises(NotFound), place.db.write() as s:
        stats.release_statistics(s, place.settings, place.steward, "population", 7, SPEC)
    assert count(place, StatisticsRelease) == 0


def test_gaussian_releases_spend_delta(place):
    set_total(place, 1.0, 1e-6)
    spec = SPEC | {"mechanism": "gaussian", "delta": 1e-6}
    release(place, spec=spec)
    with pytest.raises(BudgetExceeded) as e:
        release(place, spec=spec)
    assert e.value.where == "delta"


@pytest.mark.parametrize("first_use", [False, True])
def test_concurrent_releases_never_overspend(place, first_use):
    """Eight releases at once of ε 0.3 each against a total of 1.0: three pass, whatever the order;
    also when the budget's row is made by the releases themselves (its first use)."""
    if first_use:
        place.settings.privacy.default_epsilon = 1.0
    else:
        set_total(place, 1.0)
    outcomes: list[str] = []
    start = threading.Barrier(8)

    def one():
        start.wait()
        try:
            release(place)
            outcomes.append("ok")
        except BudgetExceeded:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    with place.db.read() as s:
        spent = s.scalar(select(PrivacyBudget.epsilon_spent))
    assert spent == pytest.approx(0.9) and spent <= 1.0
    assert count(place, StatisticsRelease) == 3
    assert len(events(place, "opendata.stats_released")) == 3


def test_the_api(place, client, token_for):
    steward, other = token_for("ga_steward"), token_for("sc_steward")
    r = client.post(
        "/api/v1/opendata/statistics", json={"dataset": "population", "spec": SPEC}, headers=steward
    )
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    got = client.get(f"/api/v1/opendata/statistics/{rid}", headers=steward).json()
    assert got["figures"] == r.json()["figures"]
    listed = client.get("/api/v1/opendata/statistics", params={"dataset": "population"}, headers=steward)
    assert [x["id"] for x in listed.json()["releases"]] == [rid]
    assert client.get("/api/v1/opendata/statistics/budgets/population", headers=other).status_code == 403
    assert client.get(f"/api/v1/opendata/statistics/{rid}", headers=other).status_code == 403
    admin = token_for("admin1")
    r = client.put("/api/v1/opendata/statistics/budgets/population", json={"epsilon": 0.4}, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["epsilon_left"] == pytest.approx(0.1)
    r = client.post(
        "/api/v1/opendata/statistics", json={"dataset": "population", "spec": SPEC}, headers=steward
    )
    assert r.status_code == 409
    assert r.json()["error"] == "privacy_budget_exceeded"
    assert r.json()["epsilon_left"] == pytest.approx(0.1)
    bad = {"dataset": "population", "spec": SPEC | {"epsilon": -1}}
    r = client.post("/api/v1/opendata/statistics", json=bad, headers=steward)
    assert r.status_code == 422 and r.json()["where"] == "epsilon"


def test_the_command_line(place, cli_env, tmp_path):
    from typer.testing import CliRunner

    from shuzhi.cli import build_app

    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(SPEC), "utf-8")
    app, runner = build_app(), CliRunner()
    r = runner.invoke(
        app, ["opendata", "stats", "release", "population", str(spec_file), "--as", "ga_steward"]
    )
    assert r.exit_code == 0, r.output
    assert "people_by_region" in r.output
    r = runner.invoke(
        app, ["opendata", "stats", "budget", "population", "--set-epsilon", "0.5", "-r", "年度"]
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["opendata", "stats", "budget", "population", "--json", "--as", "ga_steward"])
    out = json.loads(r.output)
    assert out["epsilon_left"] == pytest.approx(0.2) and [e["kind"] for e in out["entries"]] == [
        "spend",
        "set",
    ]
    r = runner.invoke(
        app, ["opendata", "stats", "release", "population", str(spec_file), "--as", "ga_steward"]
    )
    assert r.exit_code == 2 and "0.2" in r.output
    r = runner.invoke(app, ["opendata", "stats", "budget", "population", "--as", "sc_steward"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["opendata", "stats", "show", "1", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["id"] == 1


def test_figures_of_a_version_held_by_a_blocking_quality_rule_are_not_published(place):
    from shuzhi.errors import Conflict
    from shuzhi.quality import service as quality

    with place.db.write() as s:
        rules = [{"kind": "enum", "field": "region_code", "values": ["330102"], "blocking": True}]
        quality.save_rules(s, place.steward, "population", rules)
    run_id = quality.run(place.db, place.settings, place.steward, "population")
    with pytest.raises(Conflict) as e:
        release(place)
    assert f"run {run_id}" in str(e.value) and "enum(region_code)" in str(e.value)
    assert count(place, StatisticsRelease) == 0 and not events(place, "opendata.stats_released")
    with place.db.write() as s:
        quality.override_block(s, place.steward, "population", None, "行政区划为新设区，已核实")
    assert release(place)["figures"]
