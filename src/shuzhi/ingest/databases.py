"""Database sources: which drivers a source may name, how each is opened read-only at a checked address, and the one SELECT a query may be."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from shuzhi.errors import Forbidden, InvalidInput, SourceUnavailable
from shuzhi.i18n import M_
from shuzhi.ingest.network import AddressPolicy


@dataclass(frozen=True)
class Driver:
    backend: str
    name: str
    module: str
    """The DB-API module that must be installed."""
    dialect: str
    """sqlglot's name for the SQL the database speaks."""
    server: bool
    """A database server reached over the network; False for a file on this machine."""
    port: int = 0

    @property
    def url_name(self) -> str:
        return f"{self.backend}+{self.name}"


_PG = dict(backend="postgresql", dialect="postgres", server=True, port=5432)
_MY = dict(dialect="mysql", server=True, port=3306)
DRIVERS: dict[tuple[str, str], Driver] = {
    ("postgresql", "psycopg"): Driver(name="psycopg", module="psycopg", **_PG),
    ("postgresql", "psycopg2"): Driver(name="psycopg2", module="psycopg2", **_PG),
    ("mysql", "pymysql"): Driver(backend="mysql", name="pymysql", module="pymysql", **_MY),
    ("mysql", "mysqldb"): Driver(backend="mysql", name="mysqldb", module="MySQLdb", **_MY),
    ("mariadb", "pymysql"): Driver(backend="mariadb", name="pymysql", module="pymysql", **_MY),
    ("mariadb", "mysqldb"): Driver(backend="mariadb", name="mysqldb", module="MySQLdb", **_MY),
    ("sqlite", "pysqlite"): Driver(
        backend="sqlite", name="pysqlite", module="sqlite3", dialect="sqlite", server=False
    ),
}
"""Every database a source may be. Servers for anyone who may load data; SQLite files only for an
operator on the server itself (the CLI), never through the API."""
BACKENDS = frozenset(d.backend for d in DRIVERS.values())
_DEFAULT_DRIVER = {"postgresql": "psycopg2", "mysql": "mysqldb", "mariadb": "mysqldb", "sqlite": "pysqlite"}
"""What SQLAlchemy picks when a URL names no driver."""

_QUERY_KEYS = {"sslmode", "application_name", "client_encoding", "charset", "target_session_attrs"}
"""URL parameters a source may carry. Others could redirect the connection past the address check
(libpq's ``host``/``hostaddr``/``service``, a Unix socket) or change the session."""
_LOCAL_QUERY_KEYS = {"sslrootcert", "sslcert", "sslkey", "sslcrl"}
"""Parameters naming files on the server: only an operator's source may carry them."""


def allowed_drivers(*, local: bool) -> str:
    return ", ".join(
        d.url_name for d in DRIVERS.values() if (d.server or local) and importlib.util.find_spec(d.module)
    )


def parse_url(text: str, *, local: bool):
    """The SQLAlchemy URL of a database source, with its driver, or a refusal saying why.

    `local` is True for an operator on the server (the CLI), who may also name a SQLite file.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(text)
        url.port  # noqa: B018 - a port that is not a number fails here, as the user's input
    except (ArgumentError, ValueError) as exc:
        raise InvalidInput(M_("cannot parse the database URL: %(exc)s", exc=exc), where="source") from exc
    backend, _, name = url.drivername.lower().partition("+")
    shown = url.render_as_string(hide_password=True)
    driver = DRIVERS.get((backend, name or _DEFAULT_DRIVER.get(backend, "")))
    if driver is None or not (driver.server or local):
        file_based = driver is not None and not driver.server
        raise InvalidInput(
            M_("a file-based database cannot be a source here")
            if file_based
            else M_("database driver %(driver)s not allowed", driver=url.drivername),
            where=shown,
            hint=M_("allowed: %(allowed_drivers)s", allowed_drivers=allowed_drivers(local=local)),
        )
    if importlib.util.find_spec(driver.module) is None:
        raise InvalidInput(
            M_("database driver %(url_name)s is not installed", url_name=driver.url_name),
            where=shown,
            hint=M_("allowed: %(allowed_drivers)s", allowed_drivers=allowed_drivers(local=local)),
        )
    keys = set(url.query)
    allowed = (_QUERY_KEYS | (_LOCAL_QUERY_KEYS if local else set())) if driver.server else set()
    if keys - allowed:
        raise InvalidInput(
            M_("URL parameters not allowed: %(value)s", value=sorted(keys - allowed)),
            where=shown,
            hint=M_("parameters allowed: %(value)s", value=", ".join(sorted(allowed)) or "—"),
        )
    if driver.server and not url.host:
        raise InvalidInput(
            M_("a database source must name its host"),
            where=shown,
            hint=M_("e.g. postgresql+psycopg://reader@10.0.0.5/front"),
        )
    if not driver.server and (url.host or not url.database or url.database == ":memory:"):
        raise InvalidInput(
            M_("a SQLite source must be a database file on this machine"),
            where=shown,
            hint=M_("e.g. sqlite:////srv/front/front.db"),
        )
    return url.set(drivername=driver.url_name), driver


def _same_server_database(url, addrs: list[str], port: int, store_url: str | None) -> bool:
    """Whether a source names the database that holds the platform's own metadata."""
    import socket

    from sqlalchemy.engine import make_url

    if not store_url:
        return False
    store = make_url(store_url)
    if store.get_backend_name() != url.get_backend_name() or not store.host:
        return False
    if (store.database or "") != (url.database or "") or (store.port or port) != port:
        return False
    try:
        theirs = {str(i[4][0]).split("%")[0] for i in socket.getaddrinfo(store.host, port)}
    except OSError:
        theirs = {store.host}
    return bool(theirs & set(addrs))


def _same_file(path: Path, store_url: str | None) -> bool:
    from sqlalchemy.engine import make_url

    if not store_url:
        return False
    store = make_url(store_url)
    if store.get_backend_name() != "sqlite" or not store.database:
        return False
    try:
        return path.samefile(store.database)
    except OSError:
        return False


def _metadata_store_refused(where: str) -> Forbidden:
    return Forbidden(
        M_("the platform's own metadata database cannot be a source"),
        where=where,
        hint=M_("name a department's own database"),
    )


def open_engine(
    url, driver: Driver, *, policy: AddressPolicy, timeout_s: int, store_url: str | None, where: str
):
    """An engine whose every connection is read-only, made to an address the policy checked."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if not driver.server:
        return _sqlite_engine(Path(url.database), timeout_s, store_url, where)
    port = url.port or driver.port
    addrs = policy.resolve(url.host, port, where=where)
    if _same_server_database(url, addrs, port, store_url):
        raise _metadata_store_refused(where)
    args: dict = {"connect_timeout": timeout_s}
    if driver.backend == "postgresql":
        # libpq connects to hostaddr and still verifies TLS against host: no second lookup.
        args["hostaddr"] = addrs[0]
        setup = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
    else:
        url = url.set(host=addrs[0])
        setup = "SET SESSION TRANSACTION READ ONLY"
    engine = create_engine(url, connect_args=args, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def read_only(dbapi_conn, _record):
        # Every transaction of the session is read-only; a query cannot undo it, since
        # transaction_read_only can only be lifted before a transaction's first query.
        cur = dbapi_conn.cursor()
        try:
            cur.execute(setup)
        finally:
            cur.close()
        dbapi_conn.commit()

    return engine


def _sqlite_engine(path: Path, timeout_s: int, store_url: str | None, where: str):
    import sqlite3
    from urllib.parse import quote

    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    if not path.is_file():
        raise SourceUnavailable(M_("database file not found"), where=where, hint=M_("check the path"))
    if _same_file(path, store_url):
        raise _metadata_store_refused(where)
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"

    def connect():
        con = sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)
        con.execute("PRAGMA query_only = ON")
        return con

    return create_engine("sqlite+pysqlite://", creator=connect, poolclass=NullPool)


# -- the query -------------------------------------------------------------------------


def _forbidden_nodes():
    """The engine guard's statement nodes, and what else a source database may run or lock."""
    from sqlglot import exp

    from shuzhi.engine.statements import STATEMENT_NODES

    names = [
        *("Lock", "LockingStatement", "Analyze", "Merge", "Grant", "Revoke", "Cache", "Uncache"),
        *("Refresh", "Kill", "Show", "Comment", "Summarize", "Put", "Get", "Execute", "Declare"),
        "Returning",
    ]
    return (*STATEMENT_NODES, *(getattr(exp, n) for n in names if hasattr(exp, n)))


def check_query(query: str, dialect: str, *, where: str) -> str:
    """The one SELECT a query source may be, as the SQL to run; refuses anything else.

    The statement run is generated from the parsed tree, not the text given, so what the
    database executes is exactly what was checked (a quirk of quoting or comments that the
    database reads differently cannot smuggle in a second statement).
    """
    hint = M_("give one SELECT (WITH and UNION allowed)")
    try:
        return _checked_select(query, dialect, where=where, hint=hint)
    except RecursionError:  # parsing, walking or writing a tree nested thousands deep
        raise InvalidInput(M_("the query is nested too deeply"), where=where, hint=hint) from None


def _checked_select(query: str, dialect: str, *, where: str, hint: str) -> str:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    try:
        statements = [s for s in sqlglot.parse(query, read=dialect) if s is not None]
    except SqlglotError as exc:
        raise InvalidInput(
            M_("cannot parse the query: %(value)s", value=str(exc).splitlines()[0]), where=where, hint=hint
        ) from exc
    statements = [s for s in statements if not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        raise InvalidInput(
            M_("the query must be one statement, got %(count)s", count=len(statements)),
            where=where,
            hint=hint,
        )
    root = statements[0]
    while isinstance(root, exp.Subquery | exp.Paren):
        root = root.this
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise InvalidInput(
            M_("only a SELECT query is accepted, not %(upper)s", upper=root.key.upper()),
            where=where,
            hint=hint,
        )
    forbidden = _forbidden_nodes()
    for node in root.walk():
        if isinstance(node, forbidden):
            raise InvalidInput(
                M_("not allowed in a query source: %(upper)s", upper=node.key.upper()),
                where=where,
                hint=hint,
            )
    return root.sql(dialect=dialect)
