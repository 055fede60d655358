"""Attacks on the statistics API: odd ε and δ, other departments' budgets, nothing spent on a refusal."""

from __future__ import annotations

import json

from tests.opendata.test_dp_release import SPEC, place  # noqa: F401 - the dataset and its people


def test_odd_numbers_and_other_departments_are_refused(place, client, token_for):  # noqa: F811
    steward, other, admin = token_for("ga_steward"), token_for("sc_steward"), token_for("admin1")
    json_headers = {"Content-Type": "application/json"}

    def post(spec_text: str, headers) -> object:
        body = '{"dataset": "population", "spec": ' + spec_text + "}"
        return client.post("/api/v1/opendata/statistics", content=body, headers={**headers, **json_headers})

    figures = json.dumps(SPEC["figures"])
    for eps in ("NaN", "Infinity", "-Infinity", "-0.0", "0", '"0.3"', "true", "1e309", "[0.3]", "null"):
        r = post(f'{{"epsilon": {eps}, "figures": {figures}}}', steward)
        assert r.status_code == 422, (eps, r.text)
    for delta in ("NaN", "Infinity", "-1e-9", '"0"', "1"):
        spec = f'{{"epsilon": 0.3, "delta": {delta}, "mechanism": "gaussian", "figures": {figures}}}'
        assert post(spec, steward).status_code == 422, delta
    assert post(json.dumps(SPEC), other).status_code == 403
    for eps in ("NaN", "Infinity", "-1", '"lots"'):
        r = client.put(
            "/api/v1/opendata/statistics/budgets/population",
            content=f'{{"epsilon": {eps}}}',
            headers={**admin, **json_headers},
        )
        assert r.status_code == 422, (eps, r.text)
    assert client.put(
        "/api/v1/opendata/statistics/budgets/population", json={"epsilon": 5}, headers=other
    ).status_code in (403, 422)
    ledger = client.get("/api/v1/opendata/statistics/budgets/population", headers=steward).json()
    assert ledger["epsilon_spent"] == 0 and not [e for e in ledger["entries"] if e["kind"] == "spend"]
    assert (
        client.get("/api/v1/opendata/statistics", params={"dataset": "population"}, headers=other).status_code
        == 403
    )
