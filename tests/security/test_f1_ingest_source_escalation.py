"""Finding 1 (ingest part): a steward read the metadata store through a whitespace-prefixed SQLite
source and planted a trigger through a `query`; sources are now parsed once, strictly, database
sources are server drivers only (API), opened read-only, and a query is one SELECT."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from shuzhi.catalog.models import DatasetVersion
from shuzhi.catalog.schemas import DatasetIn
from shuzhi.catalog.service import create_dataset
from shuzhi.cli.common import system_principal
from shuzhi.ingest import databases
from shuzhi.ingest.formats import classify_source
from shuzhi.ingest.network import AddressPolicy
from shuzhi.ledger.models import LedgerEntry

from ..conftest import PG_SKIP, PG_URL

REF = "hz-tax-credit-rating"
TRIGGER = (
    "CREATE TRIGGER esc AFTER INSERT ON api_tokens BEGIN INSERT OR IGNORE INTO user_roles(user_id, role) "
    "VALUES (NEW.user_id, 'admin'); END"
)


@pytest.fixture
def tax(db, make_user) -> str:
    """The department steward of the issue and their dataset; returns the dataset identifier."""
    make_user("tax.steward", dept="SW", roles=("steward",))
    with db.transaction() as s:
        create_dataset(
            s,
            system_principal(),
            DatasetIn(identifier=REF, title_zh="纳税信用评级", department="SW", theme="finance"),
        )
    return REF


def _post(client, headers, **body):
    return client.post(f"/api/v1/datasets/{REF}/versions", headers=headers, json=body)


def _nothing_stored(db, settings) -> None:
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DatasetVersion)) == 0
        assert s.scalar(select(func.count()).where(LedgerEntry.event == "version.ingested")) == 0
    assert [p for p in settings.versions_dir.rglob("*") if p.is_file()] == []


def _store_file(settings) -> str:
    url = make_url(settings.db_url)
    # On PostgreSQL the store is not a file; the default file name is what the attack named.
    return url.database if url.get_backend_name() == "sqlite" else str(settings.data_dir / "shuzhi.db")


def _spellings(path: str) -> list[str]:
    return [
        f" sqlite:///{path}",  # the exact attack: a leading space
        f"\tsqlite:///{path}",
        f"\nsqlite:///{path}",
        f"sqlite:///{path}\n",
        f"sqlite:///{path} ",
        f"sqlite:///{path}",
        f"SQLITE:///{path}",
        f"SQLite:///{path}",
        f"sqlite+pysqlite:///{path}",
        f"Sqlite+PySqlite:///{path}",
        f"sqlite+aiosqlite:///{path}",
        f"duckdb:///{path}",
        "duckdb:///:memory:",
        f"file://{path}",
        f"FILE://{path}",
        path,
        f" {path}",
        "oracle://scott:tiger@127.0.0.1/orcl",
        "mssql+pyodbc://sa@127.0.0.1/db",
        "postgres://postgres@127.0.0.1/test",
        "postgresql+psycopg:///test",  # no host: libpq would use the local Unix socket
        "postgresql+psycopg://postgres@example.org/test?host=/var/run/postgresql",
        "postgresql+psycopg://postgres@example.org/test?hostaddr=127.0.0.1",
        "postgresql+psycopg://postgres@example.org/test?service=meta",
    ]


@pytest.mark.parametrize("spelling", range(len(_spellings("x"))))
def test_api_refuses_every_spelling_of_a_server_file_or_unlisted_driver(
    db, settings, tax, client, token_for, spelling
):
    source = _spellings(_store_file(settings))[spelling]
    r = _post(client, token_for("tax.steward"), source=source, table="users")
    assert r.status_code == 422, (source, r.text)
    err = r.json()
    assert err["error"] == "invalid_input" and "(" in err["message"] and err["hint"]
    assert "argon2" not in r.text.lower()
    _nothing_stored(db, settings)


def test_api_refuses_the_trigger_query_on_a_sqlite_source(db, settings, tax, client, token_for):
    source = f" sqlite:///{_store_file(settings)}"
    r = _post(client, token_for("tax.steward"), source=source, query=TRIGGER)
    assert r.status_code == 422, r.text
    _nothing_stored(db, settings)
    if db.dialect == "sqlite":
        con = sqlite3.connect(_store_file(settings))
        assert con.execute("SELECT count(*) FROM sqlite_master WHERE name = 'esc'").fetchone() == (0,)
        con.close()


def test_one_function_classifies_for_every_face():
    # The API's policy: only http(s) and database servers of the listed drivers.
    assert classify_source("https://data.example.gov.cn/a.csv", local=False).kind == "http"
    ref = classify_source("postgresql+psycopg://reader:pw@10.0.0.5/front", local=False)
    assert ref.kind == "sql" and ref.driver.backend == "postgresql" and "pw" not in ref.text
    # An operator may name a local file or SQLite database, but exactly as typed.
    assert classify_source("sqlite:////srv/front.db", local=True).driver.backend == "sqlite"
    assert classify_source("/srv/in.csv", local=True).kind == "path"
    for bad in (" /srv/in.csv", "sqlite:////srv/front.db\n", "\tsqlite:////srv/front.db"):
        with pytest.raises(Exception, match="whitespace"):
            classify_source(bad, local=True)


# -- the operator's CLI ------------------------------------------------------------------


def _front(tmp_path) -> str:
    path = tmp_path / "front.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE api_tokens (user_id int)")
    con.execute("CREATE TABLE user_roles (user_id int, role text)")
    con.execute("CREATE TABLE tax (nsrsbh text, grade text)")
    con.executemany("INSERT INTO tax VALUES (?, ?)", [("91330100A", "A"), ("91330100B", "B")])
    con.commit()
    con.close()
    return str(path)


@pytest.fixture
def cli(cli_env, monkeypatch):
    from typer.testing import CliRunner

    from shuzhi.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    return lambda *args: CliRunner().invoke(app, ["ingest", *args])


def test_cli_operator_reads_a_sqlite_file_read_only_and_one_select_only(db, settings, tax, cli, tmp_path):
    path = _front(tmp_path)
    before = (tmp_path / "front.db").read_bytes()
    r = cli(f"sqlite:///{path}", "--query", TRIGGER, "--dataset", REF)
    assert r.exit_code == 2 and "one statement" in r.output, r.output
    r = cli(f"sqlite:///{path}", "--query", "SELECT 1 AS a; DELETE FROM tax", "--dataset", REF)
    assert r.exit_code == 2 and "one statement" in r.output, r.output
    r = cli(
        f"sqlite:///{path}",
        "--query",
        "WITH x AS (DELETE FROM tax RETURNING *) SELECT * FROM x",
        "--dataset",
        REF,
    )
    assert r.exit_code == 2 and "DELETE" in r.output, r.output
    r = cli(f" sqlite:///{path}", "--table", "tax", "--dataset", REF)
    assert r.exit_code == 2 and "whitespace" in r.output, r.output
    _nothing_stored(db, settings)
    assert (tmp_path / "front.db").read_bytes() == before
    r = cli(f"sqlite:///{path}", "--query", "SELECT nsrsbh, grade FROM tax ORDER BY 1", "--dataset", REF)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "front.db").read_bytes() == before


def test_sqlite_connection_refuses_writes_whatever_the_query(tmp_path):
    path = _front(tmp_path)
    url, driver = databases.parse_url(f"sqlite:///{path}", local=True)
    engine = databases.open_engine(
        url, driver, policy=AddressPolicy(), timeout_s=5, store_url=None, where="front.db"
    )
    with engine.connect() as conn, pytest.raises(Exception, match="readonly|read-only|attempt to write"):
        conn.exec_driver_sql("INSERT INTO user_roles VALUES (1, 'admin')")
    engine.dispose()


def test_cli_refuses_the_metadata_store_itself(db, settings, tax, cli):
    if db.dialect != "sqlite":
        pytest.skip("the metadata store is a SQLite file only on the SQLite backend")
    r = cli(f"sqlite:///{_store_file(settings)}", "--table", "users", "--dataset", REF)
    assert r.exit_code != 0 and "metadata database" in " ".join(r.output.split()), r.output
    _nothing_stored(db, settings)


# -- a real PostgreSQL source --------------------------------------------------------------


@pytest.fixture
def pg_front():
    """A throwaway database on the local PostgreSQL server holding a front table; yields its URL."""
    if not PG_URL:
        pytest.skip(PG_SKIP)
    name = f"szf1_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    eng = create_engine(url)
    with eng.begin() as c:
        c.execute(text("CREATE SCHEMA front"))
        c.execute(text("CREATE TABLE front.tax (nsrsbh text, grade text)"))
        c.execute(text("INSERT INTO front.tax VALUES ('91330100A', 'A'), ('91330100B', 'B')"))
        c.execute(text("CREATE SEQUENCE front.seq"))
        c.execute(text("CREATE TABLE front.log (n int)"))
    yield url, eng
    eng.dispose()
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def _pg_state(eng) -> tuple:
    with eng.connect() as c:
        return (
            c.execute(text("SELECT count(*) FROM front.tax")).scalar(),
            c.execute(text("SELECT count(*) FROM front.log")).scalar(),
            c.execute(text("SELECT is_called FROM front.seq")).scalar(),
            c.execute(text("SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")).scalar(),
            c.execute(text("SELECT count(*) FROM pg_proc WHERE proname = 'esc'")).scalar(),
        )


PG_REFUSED = [
    ("trigger", TRIGGER, "one statement"),
    (
        "trigger-pg",
        "CREATE TRIGGER esc AFTER INSERT ON front.log FOR EACH ROW EXECUTE FUNCTION esc()",
        "only a SELECT",
    ),
    ("function", "CREATE FUNCTION esc() RETURNS int LANGUAGE sql AS 'SELECT 1'", "only a SELECT"),
    ("two-statements", "SELECT 1 AS a; DROP TABLE front.tax", "one statement"),
    ("quote-smuggle", "SELECT 'a\\'; DELETE FROM front.tax; --' AS a", "one statement"),
    ("writable-cte", "WITH x AS (DELETE FROM front.tax RETURNING *) SELECT * FROM x", "DELETE"),
    ("insert-cte", "WITH x AS (INSERT INTO front.log VALUES (1) RETURNING n) SELECT * FROM x", "INSERT"),
    ("select-into", "SELECT * INTO front.copy FROM front.tax", "INTO"),
    ("for-update", "SELECT * FROM front.tax FOR UPDATE", "LOCK"),
    ("insert", "INSERT INTO front.log VALUES (1)", "only a SELECT"),
    ("set", "SET default_transaction_read_only = off", "only a SELECT"),
    # A tree deeper than the parser's stack: refused, not a 500 (finding 7's class, on this channel).
    ("deep", "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " AS a", "nested too deeply"),
    # Passes the parser (a SELECT calling a function) and fails in the read-only transaction.
    ("nextval", "SELECT nextval('front.seq') AS n", "query failed"),
]


@pytest.mark.parametrize("case", PG_REFUSED, ids=[c[0] for c in PG_REFUSED])
def test_pg_source_refuses_every_write(db, settings, tax, client, token_for, pg_front, case):
    url, eng = pg_front
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]  # the test server is local
    before = _pg_state(eng)
    _, query, words = case
    r = _post(client, token_for("tax.steward"), source=url, query=query)
    assert r.status_code == 422, r.text
    assert words in r.json()["message"], r.text
    assert _pg_state(eng) == before == (2, 0, False, 0, 0)
    _nothing_stored(db, settings)


def test_pg_source_session_is_read_only_even_past_the_parser(pg_front):
    url, eng = pg_front
    parsed, driver = databases.parse_url(url, local=False)
    engine = databases.open_engine(
        parsed, driver, policy=AddressPolicy.of(["127.0.0.1"]), timeout_s=5, store_url=None, where="front"
    )
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SHOW transaction_read_only").scalar() == "on"
        with pytest.raises(Exception, match="read-only transaction"):
            conn.exec_driver_sql("INSERT INTO front.log VALUES (1)")
    engine.dispose()
    assert _pg_state(eng) == (2, 0, False, 0, 0)


def test_a_good_pg_source_still_ingests(db, settings, tax, client, token_for, pg_front):
    url, eng = pg_front
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    h = token_for("tax.steward")
    r = _post(client, h, source=url, table="front.tax")
    assert r.status_code == 201, r.text
    assert r.json()["rows"] == 2 and "postgresql+psycopg" in r.json()["source"]
    q = "WITH t AS (SELECT * FROM front.tax) SELECT grade, count(*) AS n FROM t GROUP BY grade ORDER BY 1"
    r = _post(client, h, source=url, query=q)
    assert r.status_code == 201 and r.json()["rows"] == 2, r.text
    r = _post(
        client, h, source=url, query="SELECT 'a%b' AS p, 'x:y' AS c, 1::int AS i UNION SELECT 'c', 'd', 2"
    )
    assert r.status_code == 201 and r.json()["rows"] == 2, r.text
    assert _pg_state(eng) == (2, 0, False, 0, 0)


def test_pg_metadata_store_is_never_a_source(db, settings, tax, client, token_for):
    if db.dialect != "postgresql":
        pytest.skip("the metadata store is a PostgreSQL database only on the PostgreSQL backend")
    settings.ingest.allowed_source_hosts = ["127.0.0.1"]
    store = make_url(settings.db_url).set(query={}).render_as_string(hide_password=False)
    r = _post(client, token_for("tax.steward"), source=store, table="users")
    assert r.status_code == 403 and "metadata database" in r.json()["message"], r.text
    _nothing_stored(db, settings)
