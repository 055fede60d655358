"""Database handle: engine, sessions and schema migrations for one metadata store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _prepare_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and never takes the write lock up
    # front; two writers then deadlock on upgrade. We issue BEGIN IMMEDIATE ourselves so
    # writers queue on busy_timeout instead (WAL keeps readers unblocked).
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """One metadata store. Create it from a URL; nothing connects until first use."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = make_url(url)
        kwargs: dict = {"echo": echo, "future": True}
        if self.is_sqlite:
            db = self.url.database
            if db and db != ":memory:":
                Path(db).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 60}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(self.url, **kwargs)
        if self.is_sqlite:
            _prepare_sqlite(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together on success and rolls back on any error."""
        with self._sessions() as s, s.begin():
            yield s

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
        """Apply every pending migration of every domain, then seed controlled vocabularies."""
        from alembic import command

        command.upgrade(self.alembic_config(), "heads")
        from shuzhi.catalog.vocab import seed_vocabularies

        with self.transaction() as s:
            seed_vocabularies(s)

    def dispose(self) -> None:
        self.engine.dispose()


def _script_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
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
    for path in sorted((MIGRATIONS_DIR / "versions").glob("*.py")):
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
