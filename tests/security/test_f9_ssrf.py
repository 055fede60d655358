"""Finding 9: a steward made the server fetch its own loopback API and stored the answer as a
version. Sources reach only public addresses unless `ingest.allowed_source_hosts` names the host;
every redirect hop is checked the same way."""

from __future__ import annotations

import http.server
import threading
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlalchemy import func, select

from shuzhi.catalog.models import DatasetVersion
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.cli.common import system_principal
from shuzhi.errors import Forbidden
from shuzhi.ingest.network import AddressPolicy

REF = "hz-tax-credit-rating"
CSV = b"nsrsbh,grade\n91330100A,A\n91330100B,B\n"


class _Handler(http.server.BaseHTTPRequestHandler):
    """`/data.csv` is a file; `/go?to=URL` redirects there; `/loop` redirects to itself."""

    def do_GET(self):  # noqa: N802 - the stdlib's name
        parsed = urlparse(self.path)
        if parsed.path == "/data.csv":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(CSV)))
            self.end_headers()
            self.wfile.write(CSV)
        elif parsed.path in ("/go", "/loop"):
            self.send_response(302)
            self.send_header("Location", parse_qs(parsed.query)["to"][0] if parsed.path == "/go" else "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def www():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def tax(db, make_user) -> str:
    make_user("tax.steward", dept="SW", roles=("steward",))
    with db.transaction() as s:
        create_dataset(
            s,
            system_principal(),
            DatasetIn(identifier=REF, title_zh="纳税信用评级", department="SW", theme="finance"),
        )
    return REF


def _post(client, headers, source, **more):
    return client.post(f"/api/v1/datasets/{REF}/versions", headers=headers, json={"source": source, **more})


def _versions(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(DatasetVersion))


def test_the_servers_own_loopback_api_is_not_a_source(sqlite_settings, sqlite_db, live_server):
    """The issue's exact attack, against a running server: fetch its own /api/v1/ledger/sth."""
    from shuzhi.ledger import sth
    from shuzhi.orgs import service as orgs

    with sqlite_db.transaction() as s:
        orgs.create_department(s, code="SW", name_zh="税务局")
        user = orgs.create_user(
            s, username="tax.steward", password="x" * 16, department_code="SW", roles=["steward"]
        )
        _, token = orgs.create_token(s, user)
        create_dataset(
            s,
            system_principal(),
            DatasetIn(identifier=REF, title_zh="纳税信用评级", department="SW", theme="finance"),
        )
        # Signed here rather than left to the server's tree-head job, which a busy machine runs late.
        sth.issue_tree_head(s, sqlite_settings)
    target = f"{live_server}/api/v1/ledger/sth"
    assert httpx.get(target).status_code == 200  # it is there to be stolen
    r = httpx.post(
        f"{live_server}/api/v1/datasets/{REF}/versions",
        headers={"Authorization": f"Bearer {token}"},
        json={"source": target},
        timeout=30,
    )
    assert r.status_code == 403, r.text
    err = r.json()
    assert (
        err["error"] == "forbidden" and "loopback" in err["message"] and "allowed_source_hosts" in err["hint"]
    )
    assert target in err["where"]
    assert _versions(sqlite_db) == 0


def test_loopback_refused_by_default_allowed_when_named(db, settings, tax, client, token_for, www):
    h = token_for("tax.steward")
    url = f"http://127.0.0.1:{www}/data.csv"
    r = _post(client, h, url)
    assert r.status_code == 403 and "127.0.0.1" in r.json()["message"], r.text
    assert _versions(db) == 0
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    r = _post(client, h, url)
    assert r.status_code == 201 and r.json()["rows"] == 2, r.text


@pytest.mark.parametrize(
    "host",
    [
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[::1]",
        "0.0.0.0",
        "localhost",
        "LOCALHOST.",
        "2130706433",  # 127.0.0.1 as one decimal integer
        "0x7f000001",
        "017700000001",
        "127.1",
        "127.0.0.2",
    ],
)
def test_every_spelling_of_loopback_is_refused(db, settings, tax, client, token_for, www, host):
    r = _post(client, token_for("tax.steward"), f"http://{host}:{www}/data.csv")
    if host == "LOCALHOST.":  # some resolvers do not know the rooted name: then nothing is fetched either
        assert r.status_code in (403, 502) and r.json()["error"] in ("forbidden", "source_unavailable"), (
            r.text
        )
    else:
        assert r.status_code == 403 and "allowed_source_hosts" in r.json()["hint"], r.text
    assert _versions(db) == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/data.csv",  # loopback, not the allowed address
        "http://169.254.169.254/latest/meta-data/",  # a cloud's instance metadata
        "http://10.0.0.1/",
        "http://[fd00::1]/",
        "http://[::ffff:169.254.169.254]/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/",
    ],
)
def test_a_redirect_from_an_allowed_host_to_a_forbidden_one(
    db, settings, tax, client, token_for, www, target
):
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    start = f"http://127.0.0.1:{www}/go?to={target.format(port=www)}"
    r = _post(client, token_for("tax.steward"), start)
    assert r.status_code == 403, r.text
    assert start in r.json()["where"] and "→" in r.json()["where"]
    assert _versions(db) == 0


def test_redirects_are_followed_within_a_limit(db, settings, tax, client, token_for, www):
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    h = token_for("tax.steward")
    r = _post(client, h, f"http://127.0.0.1:{www}/go?to=/data.csv", format="csv")
    assert r.status_code == 201 and r.json()["rows"] == 2, r.text
    r = _post(client, h, f"http://127.0.0.1:{www}/loop")
    assert r.status_code == 502 and "redirects" in r.json()["message"], r.text


def test_database_hosts_are_checked_the_same_way(db, settings, tax, client, token_for):
    settings.ingest.sql_connect_timeout_s = 2
    h = token_for("tax.steward")
    for host in ("127.0.0.1", "localhost", "[::1]", "10.1.2.3", "169.254.169.254", "2130706433"):
        r = client.post(
            f"/api/v1/datasets/{REF}/versions",
            headers=h,
            json={"source": f"postgresql+psycopg://reader:pw@{host}:1/front", "table": "t"},
        )
        assert r.status_code == 403 and "allowed_source_hosts" in r.json()["hint"], (host, r.text)
        assert "pw" not in r.text
    # Allowed: the connection is attempted (and here finds nothing listening).
    settings.ingest.allowed_source_hosts = ["127.0.0.0/8"]
    r = client.post(
        f"/api/v1/datasets/{REF}/versions",
        headers=h,
        json={"source": "postgresql+psycopg://reader:pw@127.0.0.1:1/front", "table": "t"},
    )
    assert r.status_code == 502 and r.json()["error"] == "source_unavailable", r.text
    assert _versions(db) == 0


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fc00::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
    ],
)
def test_the_address_policy_refuses_non_public_addresses(addr):
    with pytest.raises(Forbidden):
        AddressPolicy().resolve(addr, 80, where="x")


def test_the_address_policy_allows_public_and_named():
    assert AddressPolicy().resolve("1.1.1.1", 443, where="x") == ["1.1.1.1"]
    assert AddressPolicy().resolve("2606:4700:4700::1111", 443, where="x") == ["2606:4700:4700::1111"]
    policy = AddressPolicy.of(["10.0.0.0/8", "localhost", "fd00::/8"])
    assert policy.resolve("10.20.30.40", 5432, where="x") == ["10.20.30.40"]
    assert len(policy.resolve("::ffff:10.0.0.1", 5432, where="x")) == 1
    assert "127.0.0.1" in policy.resolve("localhost", 80, where="x")
    with pytest.raises(Forbidden):
        policy.resolve("192.168.0.1", 80, where="x")


@pytest.mark.parametrize(
    "address",
    ["2002:0a00:0001::", "2002:7f00:0001::1", "::ffff:10.1.2.3", "2001:0:4136:e378:8000:63bf:f5ff:fffe"],
)
def test_ipv6_forms_that_carry_a_private_ipv4_address_are_refused(address):
    import ipaddress

    from shuzhi.ingest.network import _kind

    assert _kind(ipaddress.ip_address(address)) is not None
