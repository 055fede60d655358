"""The upload endpoint and the `shuzhi ingest` command, on the happy paths and the permission checks."""

from __future__ import annotations

import http.server
import json
import threading
from functools import partial

import pytest
from typer.testing import CliRunner

from .conftest import version_count

CSV = "企业名称,注册资本\n甲公司,100\n乙公司,200\n"


def _post(client, ref, headers, name="企业.csv", body=CSV.encode("gbk"), **data):
    return client.post(
        f"/api/v1/datasets/{ref}/versions", headers=headers, files={"file": (name, body)}, data=data
    )


def test_upload_creates_a_version_then_reports_unchanged(db, dataset, client, token_for):
    headers = token_for("scjg.steward")
    r = _post(client, dataset, headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["version"], body["rows"], body["encoding"], body["source"]) == (1, 2, "gb18030", "企业.csv")
    r = _post(client, dataset, headers, name="again.csv", body=CSV.encode())
    assert r.status_code == 200 and r.json()["unchanged"] and r.json()["same_as"] == 1
    assert version_count(db) == 1


def test_upload_with_format_field(db, dataset, client, token_for):
    r = _post(client, dataset, token_for("scjg.steward"), name="export.dat", format="csv")
    assert r.status_code == 201, r.text


def test_only_the_owner_steward_or_an_admin(db, dataset, client, token_for, make_user):
    make_user("rs.steward", dept="RS", roles=("steward",))
    make_user("scjg.analyst", dept="SCJG", roles=("analyst",))
    make_user("root", dept="BDB", roles=("admin",))
    assert _post(client, dataset, {}).status_code == 401
    assert _post(client, dataset, token_for("rs.steward")).status_code == 403
    assert _post(client, dataset, token_for("scjg.analyst")).status_code == 403
    assert _post(client, "NO-SUCH", token_for("root")).status_code == 404
    assert version_count(db) == 0
    assert _post(client, dataset, token_for("root")).status_code == 201


def test_api_refuses_server_paths(db, dataset, client, token_for, tmp_path):
    for source in ["/etc/passwd", "file:///etc/passwd", f"sqlite:///{tmp_path}/x.db"]:
        r = client.post(
            f"/api/v1/datasets/{dataset}/versions",
            headers=token_for("scjg.steward"),
            json={"source": source, "table": "t"},
        )
        assert r.status_code == 422, source


@pytest.fixture
def http_dir(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_json_body_with_an_http_source(db, settings, dataset, client, token_for, http_dir):
    root, base = http_dir
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]  # the test server is local
    (root / "roads.jsonl").write_text(
        '{"路名": "深南大道", "长度": 25.6}\n{"路名": "北环大道", "长度": 19}\n'
    )
    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        headers=token_for("scjg.steward"),
        json={"source": f"{base}/roads.jsonl"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 2 and r.json()["source_format"] == "jsonl"
    r = client.post(
        f"/api/v1/datasets/{dataset}/versions",
        headers=token_for("scjg.steward"),
        json={"source": f"{base}/missing.csv"},
    )
    assert r.status_code == 502 and "404" in r.json()["message"]


def test_cli_create_then_new_version_then_unchanged(db, settings, steward, write, cli):
    r = cli(
        str(write("企业登记.csv", CSV)),
        "--create",
        "--dept",
        "SCJG",
        "--theme",
        "market",
        "--title",
        "企业登记信息",
    )
    assert r.exit_code == 0, r.output
    assert "registered new dataset" in r.output and "v1" in r.output
    ident = "scjg-qi_ye_deng_ji"
    r = cli(str(write("v2.csv", CSV + "丙公司,300.5\n")), "--dataset", ident, "--json")
    assert r.exit_code == 0, r.output
    report = json.loads(r.output)
    assert report["version"] == 2 and report["drift"]["retyped"][0]["to"] == "DOUBLE"
    r = cli(str(write("v2-again.csv", CSV + "丙公司,300.5\n")), "--dataset", ident)
    assert r.exit_code == 0 and "unchanged" in r.output and "version 2" in r.output
    assert version_count(db) == 2


def test_cli_needs_a_dataset_or_create(db, write, cli):
    assert cli(str(write("a.csv", CSV))).exit_code == 2
    r = cli(str(write("a.csv", CSV)), "--create")
    assert r.exit_code == 2 and "--dept" in r.output


def test_cli_help_has_examples():
    from shuzhi.cli import app

    r = CliRunner().invoke(app, ["ingest", "--help"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "shuzhi ingest" in r.output and "--create" in r.output
