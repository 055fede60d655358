"""Database handle: engine, sessions and schema migrations for one metadata store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from shuzhi.errors import Busy
from shuzhi.i18n import M_

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
DEFAULT_BUSY_TIMEOUT_S = 5.0


# Execution option naming the kind of transaction a session's connections begin.
_KIND = "shuzhi_transaction"
_BUSY_SQLITE = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED (and their extended codes, by their low byte)
_BUSY_PG = {"55P03"}  # lock_not_available (lock_timeout)


def _prepare_sqlite(engine: Engine, busy_timeout_s: float) -> None:
    # pysqlite's own transaction handling defers BEGIN and never takes the write lock up front;
    # two writers then deadlock on upgrade. Writes issue BEGIN IMMEDIATE themselves so they queue on
    # busy_timeout instead. Reads issue a deferred BEGIN: in WAL mode a reader works on its snapshot
    # and never waits for a writer. `query_only` makes a stray write in a read an error, not a
    # lock upgrade that could fail on a stale snapshot.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_s * 1000)}")
        cur.close()
        record.info["query_only"] = False

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        read = conn.get_execution_options().get(_KIND) == "read"
        info = conn.connection.info
        if info.get("query_only") != read:
            conn.exec_driver_sql(f"PRAGMA query_only={int(read)}")
            info["query_only"] = read
        conn.exec_driver_sql("BEGIN DEFERRED" if read else "BEGIN IMMEDIATE")


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means the store was too busy (a lock not had in time), not broken."""
    orig = getattr(exc, "orig", exc)
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _BUSY_SQLITE
    return getattr(orig, "sqlstate", None) in _BUSY_PG


class Database:
    """One metadata store. Create it from a URL; nothing connects until first use.

    Work happens in `read()` or `write()` transactions. A read never takes the write lock (on
    SQLite a deferred transaction on a WAL snapshot; on PostgreSQL a READ ONLY one) and refuses to
    write; a write takes SQLite's one write lock up front and waits for it at most
    `busy_timeout_s`, then fails with `Busy` (503) instead of hanging.
    """

    def __init__(self, url: str, *, echo: bool = False, busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S):
        self.url = make_url(url)
        self.busy_timeout_s = busy_timeout_s
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            db = self.url.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_s}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _prepare_sqlite(self.engine, busy_timeout_s)
        read_options: dict = {_KIND: "read"}
        if self.dialect == "postgresql":
            # The driver begins the transaction READ ONLY itself: no extra statement per read.
            read_options["postgresql_readonly"] = True
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._readers = sessionmaker(self.engine.execution_options(**read_options), expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def session(self) -> Session:
        """A bare session; its transaction, once begun, is a write one. Prefer `read()`/`write()`."""
        return self._sessions()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read transaction: never waits for a writer and cannot write (on SQLite, one snapshot)."""
        with _busy_as_503(self), self._readers() as s, s.begin():
            yield s

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: its work commits together on success and rolls back on any error."""
        with _busy_as_503(self), self._sessions() as s, s.begin():
            yield s

    transaction = write
    """The older name of `write()`."""

    # -- migrations ---------------------------------------------------------
    def alembic_config(self):
        cfg = _script_config()
        cfg.attributes["engine"] = self.engine
        return cfg

    def current_heads(self) -> frozenset[str]:
        """Revisions the store says it is at (empty when it was never migrated)."""
        # A bare DB-API read: no BEGIN IMMEDIATE, so the check never queues behind a writer on SQLite.
        conn = self.engine.raw_connection()
        try:
            cur = conn.cursor()
            cur.execute("SELECT version_num FROM alembic_version")
            return frozenset(r[0] for r in cur.fetchall())
        except self.engine.dialect.loaded_dbapi.Error:  # no alembic_version table yet
            return frozenset()
        finally:
            conn.close()

    def needs_upgrade(self) -> bool:
        """Whether `upgrade()` has work to do: the store's revisions differ from the code's heads.

        One small query instead of Alembic's whole upgrade machinery, so commands stay quick on a
        store that is already current.
        """
        return self.current_heads() != script_heads()

    def upgrade(self) -> None:
        """Apply every pending migration of every domain, then let each refresh what it ships
        (`store_upgraded`: controlled vocabularies, for one)."""
        from alembic import command

        from shuzhi.hooks import plugin_manager

        if self.needs_upgrade():  # Alembic's machinery costs a fraction of a second even with nothing to do
            command.upgrade(self.alembic_config(), "heads")
        with self.write() as s:
            plugin_manager().hook.store_upgraded(session=s)

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _busy_as_503(db: Database) -> Iterator[None]:
    try:
        yield
    except (DBAPIError, PoolTimeout) as e:
        if isinstance(e, DBAPIError) and not is_busy(e):
            raise
        raise Busy(
            M_("the database is busy: retry shortly"),
            hint=M_(
                "no lock within %(seconds)s s (db_busy_timeout_s)", seconds=format(db.busy_timeout_s, "g")
            ),
        ) from e


def version_locations() -> list[Path]:
    """Directories of revision files: the store's own, then each domain's (`migration_locations`)."""
    from shuzhi.hooks import collect

    return [MIGRATIONS_DIR / "versions", *(Path(p) for p in collect("migration_locations"))]


def _script_config():
    import os

    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(str(p) for p in version_locations()))
    return cfg


@cache
def script_heads() -> frozenset[str]:
    """The rows `alembic_version` holds once every migration of this code is applied (read once per process).

    Those are the script heads that no other revision depends on: a domain branch that depends on
    the core revision takes the core's row over when it is applied. Our migration files name their
    revisions as literals, so reading them as text spares importing Alembic (~0.15 s); any file that
    does not fit falls back to Alembic's own script directory.
    """
    return _literal_heads() or _alembic_heads()


@cache
def script_revisions() -> frozenset[str]:
    """Every revision this code's migrations define: a store at any other one was migrated elsewhere."""
    revs = _literal_revisions()
    if revs is not None:
        return frozenset(revs)
    from alembic.script import ScriptDirectory

    return frozenset(r.revision for r in ScriptDirectory.from_config(_script_config()).walk_revisions())


def _literal_heads() -> frozenset[str] | None:
    revs = _literal_revisions()
    if revs is None:
        return None
    referenced = {r for down, deps in revs.values() for r in (*down, *deps)}
    if not revs or not referenced <= revs.keys():  # a branch label or a missing file: let Alembic resolve it
        return None
    return frozenset(revs.keys() - referenced)


def _literal_revisions() -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]] | None:
    """Revision -> (down revisions, dependencies), read from the migration files as text."""
    import ast

    revs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    for path in sorted(p for location in version_locations() for p in location.glob("*.py")):
        found = {}
        for node in ast.parse(path.read_text("utf-8")).body:
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
            ):
                name = node.targets[0].id
                if name in ("revision", "down_revision", "depends_on"):
                    try:
                        found[name] = ast.literal_eval(node.value)
                    except ValueError:
                        return None
        if not isinstance(found.get("revision"), str):
            return None
        revs[found["revision"]] = (_as_tuple(found.get("down_revision")), _as_tuple(found.get("depends_on")))
    return revs


def _as_tuple(value) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _alembic_heads() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_script_config())
    implied: set[str] = set()
    for rev in script.walk_revisions():
        for ref in _as_tuple(rev.dependencies):
            implied.update(r.revision for r in script.get_revisions(ref))
    return frozenset(script.get_heads()) - implied
