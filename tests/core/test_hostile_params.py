"""Hostile parameters get a 4xx in the app's error shape on every store, never a 500; the OpenAPI
document declares how callers authenticate and what errors look like."""

from __future__ import annotations

BIG = str(2**63)


def _shape(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"error", "message"} and "detail" not in body, body
    return body


def test_integers_past_64_bits_are_refused_or_not_found(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    # A number too large for any id is looked up as an identifier: no such dataset.
    _shape(client.get(f"/api/v1/datasets/{BIG}", headers=h), 404)
    _shape(client.get("/api/v1/datasets/2147483648", headers=h), 404)
    for url in (
        f"/api/v1/audit/entries?before_seq={BIG}",
        f"/api/v1/audit/entries/{BIG}",
        f"/api/v1/exchange/requests/{BIG}",
        f"/api/v1/exchange/datasets/X/rows?version={BIG}",
        f"/api/v1/exchange/datasets/X/rows?offset={10**26}",
        f"/api/v1/datasets/X/versions/{2**31}",
        f"/api/v1/tokens/{BIG}",
    ):
        method = client.delete if url.startswith("/api/v1/tokens/") else client.get
        body = _shape(method(url, headers=h), 422)
        assert "Conversion Error" not in str(body)


def test_nul_in_path_or_query_is_refused_with_422(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    for url in (
        "/api/v1/datasets/a%00b",
        "/api/v1/datasets?department=%00",
        "/api/v1/audit/entries?event=%00",
        "/api/v1/audit/entries.csv?event=%00",
        "/api/v1/users?department=x%00",
    ):
        assert _shape(client.get(url, headers=h), 422)["error"] == "invalid_input"


def test_nul_in_a_body_string_is_refused(client, make_user, token_for):
    make_user("root", roles=("admin",))
    r = client.post(
        "/api/v1/departments", json={"code": "X\x00", "name_zh": "部门"}, headers=token_for("root")
    )
    _shape(r, 422)


def test_a_deeply_nested_json_source_is_refused(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = {**token_for("root"), "content-type": "application/json"}
    with client as c:
        c.post(
            "/api/v1/datasets",
            json={"identifier": "DS-1", "title_zh": "数据", "department": "GA", "theme": "credit"},
            headers=h,
        )
        r = c.post("/api/v1/datasets/DS-1/versions", content=b"[" * 10_000 + b"]" * 10_000, headers=h)
    assert r.status_code in (400, 422), r.text
    _shape(r, r.status_code)


def test_numbers_are_not_instants(client, make_user, token_for):
    make_user("root", roles=("admin",))
    _shape(client.get("/api/v1/audit/entries?until=0.5", headers=token_for("root")), 422)
    assert client.get("/api/v1/audit/entries?until=2024-05-01", headers=token_for("root")).status_code == 200


def test_framework_errors_take_the_app_shape_and_allow_names_every_method(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    _shape(client.get("/api/v1/no-such-thing", headers=h), 404)
    r = client.put("/api/v1/datasets/X", headers=h)
    _shape(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    r = client.post(
        "/api/v1/departments", content=b"{not json", headers={**h, "content-type": "application/json"}
    )
    assert r.status_code in (400, 422) and "detail" not in r.json()


def test_the_schema_declares_security_errors_and_media_types(client):
    doc = client.get("/api/v1/openapi.json").json()
    assert set(doc["components"]["securitySchemes"]) == {"bearerToken", "sessionCookie"}
    me = doc["paths"]["/api/v1/me"]["get"]
    assert me["security"] and "401" in me["responses"] and "422" in me["responses"]
    assert "security" not in doc["paths"]["/api/v1/ledger/public-key"]["get"]
    assert "text/csv" in doc["paths"]["/api/v1/audit/entries.csv"]["get"]["responses"]["200"]["content"]
    assert "429" in doc["paths"]["/api/v1/tokens"]["post"]["responses"]
    assert not [p for p in doc["paths"] if not p.startswith("/api/v1/")]


def test_a_bad_csv_filter_is_refused_before_the_export_starts(client, make_user, token_for):
    make_user("root", roles=("admin",))
    for query in ("until=0.5", "event=%00", "since=yesterday"):
        _shape(client.get(f"/api/v1/audit/entries.csv?{query}", headers=token_for("root")), 422)


def test_a_window_that_ends_before_it_starts_holds_no_entries(client, make_user, token_for):
    # A cross-field rule the schema cannot state: the window is empty, not an error.
    make_user("root", roles=("admin",))
    h = token_for("root")
    window = "since=2026-12-05T00:00:00Z&until=1594-01-06T05:32:48%2B00:20"
    assert client.get("/api/v1/audit/entries", headers=h).json()["entries"]  # there are some
    listed = client.get(f"/api/v1/audit/entries?{window}", headers=h)
    assert listed.status_code == 200 and listed.json()["entries"] == [], listed.text
    exported = client.get(f"/api/v1/audit/entries.csv?{window}", headers=h)
    assert exported.status_code == 200 and len(exported.text.strip().splitlines()) == 1  # the header


def test_proofs_that_cannot_exist_are_not_found(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    _shape(client.get("/api/v1/audit/entries/0/proof?tree_size=9007199254740990", headers=h), 404)
    _shape(client.get("/api/v1/ledger/consistency?first=1&second=0", headers=h), 404)


def test_the_schema_states_the_patterns_and_types_the_services_check(client, make_user, token_for):
    make_user("root", roles=("admin",))
    h = token_for("root")
    bad_departments = [
        {"code": "", "name_zh": "部门"},
        {"code": "a b", "name_zh": "部门"},
        {"code": "ok\n", "name_zh": "部门"},
        {"code": "OK", "name_zh": "   "},
        {"code": "OK", "name_zh": "部门", "level": "village"},
        {"code": "OK", "name_zh": "部门", "region_code": "١٢٣٤٥٦"},  # Arabic-Indic digits
    ]
    for body in bad_departments:
        _shape(client.post("/api/v1/departments", json=body, headers=h), 422)
    user = {"password": "long-enough-1", "department": "GA", "roles": ["analyst"]}
    for name in ("a", "名字", "x y", "ok\n"):
        _shape(client.post("/api/v1/users", json={**user, "username": name}, headers=h), 422)
    _shape(client.patch("/api/v1/users/root", json={"active": 0}, headers=h), 422)
    _shape(client.post("/api/v1/datasets", json={"temporal_start": 0}, headers=h), 422)
    doc = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert doc["DepartmentIn"]["properties"]["code"]["pattern"]
    assert doc["UserIn"]["properties"]["username"]["pattern"]


def test_setting_the_roles_a_user_has_already_is_harmless(client, make_user, token_for):
    make_user("root", roles=("admin",))
    make_user("ana", roles=("analyst",))
    r = client.patch("/api/v1/users/ana", json={"roles": ["analyst"]}, headers=token_for("root"))
    assert r.status_code == 200 and r.json()["roles"] == ["analyst"], r.text
