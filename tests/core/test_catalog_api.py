"""Catalog REST API: authentication, ownership, validation, CRUD and Chinese search with facets."""

import pytest

DATASET = {
    "identifier": "SCJG-QY-001",
    "title_zh": "企业营业执照登记信息",
    "title_en": "Business licence registrations",
    "description": "全市企业营业执照登记、变更、注销信息",
    "department": "SCJG",
    "theme": "market",
    "keywords": ["企业", "登记"],
    "update_frequency": "daily",
    "share_type": "conditional",
    "open_type": "conditional",
    "fields": [
        {
            "name": "tyshxydm",
            "type": "VARCHAR",
            "description": "统一社会信用代码",
            "standard_element": "GB 32100",
        },
        {"name": "qymc", "type": "VARCHAR", "description": "企业名称"},
    ],
}


@pytest.fixture
def people(make_user):
    return {
        "steward": make_user("scjg.steward", dept="SCJG", roles=("steward",)),
        "other_steward": make_user("rs.steward", dept="RS", roles=("steward",)),
        "analyst": make_user("rs.analyst", dept="RS", roles=("analyst",)),
        "admin": make_user("root", dept="BDB", roles=("admin",)),
    }


def test_everything_needs_authentication(client):
    for method, path in [
        ("get", "/api/v1/datasets"),
        ("get", "/api/v1/datasets/x"),
        ("post", "/api/v1/datasets"),
        ("get", "/api/v1/departments"),
        ("get", "/api/v1/vocabularies"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, path
        assert r.json()["error"] == "unauthenticated"


def test_crud_by_owner_steward(client, people, token_for):
    h = token_for("scjg.steward")
    r = client.post("/api/v1/datasets", json=DATASET, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["department"] == "SCJG" and [f["name"] for f in body["fields"]] == ["tyshxydm", "qymc"]
    assert body["security_grade"] is None and body["latest_version"] is None
    r = client.patch("/api/v1/datasets/SCJG-QY-001", json={"description": "更新后的说明"}, headers=h)
    assert r.status_code == 200 and r.json()["description"] == "更新后的说明"
    assert client.get("/api/v1/datasets/SCJG-QY-001", headers=token_for("rs.analyst")).status_code == 200
    assert client.delete("/api/v1/datasets/SCJG-QY-001", headers=h).status_code == 204
    assert client.get("/api/v1/datasets/SCJG-QY-001", headers=h).status_code == 404


def test_only_owner_department_steward_or_admin_may_write(client, people, token_for):
    assert client.post("/api/v1/datasets", json=DATASET, headers=token_for("rs.steward")).status_code == 403
    assert client.post("/api/v1/datasets", json=DATASET, headers=token_for("rs.analyst")).status_code == 403
    assert client.post("/api/v1/datasets", json=DATASET, headers=token_for("root")).status_code == 201
    for user in ("rs.steward", "rs.analyst"):
        h = token_for(user)
        assert (
            client.patch("/api/v1/datasets/SCJG-QY-001", json={"description": "x"}, headers=h).status_code
            == 403
        )
        assert client.delete("/api/v1/datasets/SCJG-QY-001", headers=h).status_code == 403
    assert (
        client.get("/api/v1/datasets/SCJG-QY-001", headers=token_for("root")).json()["description"]
        == DATASET["description"]
    )


def test_validation_errors_name_each_field(client, people, token_for):
    bad = dict(DATASET, theme="space", share_type="never", identifier="!!", fields=[{"name": ""}])
    r = client.post("/api/v1/datasets", json=bad, headers=token_for("scjg.steward"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["fields"]}
    assert {"theme", "share_type", "identifier"} <= fields and any(f.startswith("fields.0") for f in fields)
    r = client.post(
        "/api/v1/datasets", json=dict(DATASET, share_type="none"), headers=token_for("scjg.steward")
    )
    assert r.status_code == 422 and "share_basis" in r.text
    r = client.post(
        "/api/v1/datasets",
        json=dict(DATASET, share_type="none", share_basis="《个人信息保护法》第十三条"),
        headers=token_for("scjg.steward"),
    )
    assert r.status_code == 201


def test_duplicate_identifier_conflicts(client, people, token_for):
    h = token_for("scjg.steward")
    assert client.post("/api/v1/datasets", json=DATASET, headers=h).status_code == 201
    r = client.post("/api/v1/datasets", json=DATASET, headers=h)
    assert r.status_code == 409 and r.json()["where"] == "identifier"


def _register(client, h, identifier, title, dept, **kw):
    body = dict(
        DATASET,
        identifier=identifier,
        title_zh=title,
        department=dept,
        keywords=kw.pop("keywords", []),
        fields=kw.pop("fields", []),
        **kw,
    )
    r = client.post("/api/v1/datasets", json=body, headers=h)
    assert r.status_code == 201, r.text


def test_chinese_search_and_facets(client, people, token_for):
    admin = token_for("root")
    _register(client, admin, "D1", "企业营业执照登记信息", "SCJG", description="登记机关核发的执照")
    _register(
        client,
        admin,
        "D2",
        "社会保险参保信息",
        "RS",
        theme="employment",
        share_type="unconditional",
        description="参保人员及缴费",
    )
    _register(
        client,
        admin,
        "D3",
        "城乡居民医疗保险缴费记录",
        "RS",
        theme="health",
        description="居民缴费",
        fields=[{"name": "jfje", "description": "缴费金额"}],
    )
    _register(client, admin, "D4", "道路运输车辆信息", "BDB", theme="transport", description="营运车辆")
    h = token_for("rs.analyst")

    def ids(q, **params):
        r = client.get("/api/v1/datasets", params={"q": q, **params}, headers=h)
        assert r.status_code == 200, r.text
        return sorted(d["identifier"] for d in r.json()["results"]), r.json()

    assert ids("营业执照")[0] == ["D1"]
    assert ids("社保")[0] == ["D2"]  # through the synonym group 社保/社会保险
    assert ids("医保")[0] == ["D3"]  # 医保/医疗保险
    assert ids("缴费金额")[0] == ["D3"]  # a field description
    assert ids("缴费")[0] == ["D2", "D3"]
    assert ids("卫星")[0] == []
    found, body = ids("", department=["RS"])
    assert found == ["D2", "D3"]
    assert body["facets"]["theme"] == {"employment": 1, "health": 1}
    assert body["facets"]["share_type"] == {"unconditional": 1, "conditional": 1}
    found, body = ids("", share_type=["conditional"], theme=["market", "transport"])
    assert found == ["D1", "D4"] and body["total"] == 2
    assert body["facets"]["department"] == {"SCJG": 1, "BDB": 1}


def test_search_index_follows_updates_and_deletes(client, people, token_for):
    h = token_for("root")
    _register(client, h, "D1", "企业营业执照登记信息", "SCJG", description="")
    client.patch("/api/v1/datasets/D1", json={"title_zh": "不动产登记信息"}, headers=h)

    def found(q):
        return [
            d["identifier"]
            for d in client.get("/api/v1/datasets", params={"q": q}, headers=h).json()["results"]
        ]

    assert found("营业执照") == [] and found("房产") == ["D1"]
    client.delete("/api/v1/datasets/D1", headers=h)
    assert found("不动产") == []


def test_fields_added_by_ingest_are_searchable(client, people, token_for, db, settings, tmp_path):
    from shuzhi.catalog.service import get_dataset
    from shuzhi.ingest.service import ingest_source

    h = token_for("root")
    _register(client, h, "D1", "企业名录", "SCJG", description="")
    src = tmp_path / "firms.csv"
    src.write_text("qymc,注册资本\n甲公司,100\n", encoding="utf-8")
    with db.transaction() as s:
        ingest_source(s, settings, get_dataset(s, "D1"), src, user_id=None)
    found = [
        d["identifier"]
        for d in client.get("/api/v1/datasets", params={"q": "注册资本"}, headers=h).json()["results"]
    ]
    assert found == ["D1"]


def test_search_runs_in_the_database_full_text_index(client, people, token_for, db):
    """The query goes to FTS5 MATCH / tsquery @@, not a scan of every dataset in Python."""
    from sqlalchemy import event

    h = token_for("root")
    _register(client, h, "D1", "企业营业执照登记信息", "SCJG")
    seen: list[str] = []

    def capture(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        assert client.get("/api/v1/datasets", params={"q": "营业执照"}, headers=h).json()["total"] == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    fulltext = "MATCH" if db.dialect == "sqlite" else "@@"
    assert any(fulltext in s for s in seen)


def test_every_attribute_round_trips(client, people, token_for):
    body = dict(
        DATASET,
        licence="CC-BY-4.0",
        contact_name="张三",
        contact_email="data@scjg.gov.example",
        contact_phone="0571-12345678",
        temporal_start="2020-01-01",
        temporal_end="2025-12-31",
        spatial="330100",
        open_basis="依申请开放",
        share_basis=None,
    )
    h = token_for("scjg.steward")
    assert client.post("/api/v1/datasets", json=body, headers=h).status_code == 201
    got = client.get("/api/v1/datasets/SCJG-QY-001", headers=h).json()
    for key in (
        "title_en",
        "licence",
        "contact_name",
        "contact_email",
        "contact_phone",
        "temporal_start",
        "temporal_end",
        "spatial",
        "open_basis",
        "update_frequency",
        "open_type",
        "keywords",
    ):
        assert got[key] == body[key], key
    assert got["fields"][0]["standard_element"] == "GB 32100"


def test_patch_to_not_shared_needs_a_basis(client, people, token_for):
    h = token_for("scjg.steward")
    client.post("/api/v1/datasets", json=DATASET, headers=h)
    r = client.patch("/api/v1/datasets/SCJG-QY-001", json={"share_type": "none"}, headers=h)
    assert r.status_code == 422 and r.json()["where"] == "share_basis"
    r = client.patch(
        "/api/v1/datasets/SCJG-QY-001",
        json={"share_type": "none", "share_basis": "《数据安全法》"},
        headers=h,
    )
    assert r.status_code == 200


def test_vocabularies_are_bilingual_data(client, people, token_for, db):
    from shuzhi.catalog.models import VocabTerm

    vocab = client.get("/api/v1/vocabularies", headers=token_for("rs.analyst")).json()
    assert {t["code"]: (t["zh"], t["en"]) for t in vocab["share_type"]}["none"] == ("不予共享", "Not shared")
    with db.session() as s:
        row = s.query(VocabTerm).filter_by(vocab="open_type", code="conditional").one()
        assert (row.label_zh, row.label_en) == ("有条件开放", "Open on conditions")


def test_openapi_documents_the_api(client):
    spec = client.get("/api/v1/openapi.json").json()
    assert {"/api/v1/datasets", "/api/v1/datasets/{ref}", "/api/v1/datasets/{ref}/versions"} <= set(
        spec["paths"]
    )


def test_facets_for_open_type_grade_and_format(client, people, token_for, db, settings, tmp_path):
    from shuzhi.catalog.service import get_dataset
    from shuzhi.ingest.service import ingest_source

    h = token_for("root")
    _register(client, h, "D1", "居民名单", "SCJG", open_type="none")
    _register(client, h, "D2", "企业名单", "SCJG", open_type="unconditional")
    src = tmp_path / "people.csv"
    src.write_text("sfzh,xm\n110101199501101005,张三\n110101199502111013,李四\n", encoding="utf-8")
    with db.transaction() as s:
        ingest_source(s, settings, get_dataset(s, "D1"), src, user_id=None)
    body = client.get("/api/v1/datasets", params={"q": ""}, headers=h).json()
    facets = body["facets"]
    assert facets["open_type"] == {"none": 1, "unconditional": 1}
    assert facets["format"] == {"csv": 1, "": 1}
    grade = client.get("/api/v1/datasets/D1", headers=h).json()["security_grade"]
    assert grade and facets["security_grade"] == {grade: 1, "": 1}
    only = client.get("/api/v1/datasets", params={"format": "csv"}, headers=h).json()
    assert [d["identifier"] for d in only["results"]] == ["D1"]
