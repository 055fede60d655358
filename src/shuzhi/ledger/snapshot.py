"""Long reads of the ledger (verification, exports) on a consistent snapshot that never blocks writers."""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from shuzhi.store.db import Database

_readers: weakref.WeakKeyDictionary[Database, Engine] = weakref.WeakKeyDictionary()


def _sqlite_reader(db: Database) -> Engine:
    # The store's engine opens every transaction with BEGIN IMMEDIATE, i.e. takes the write lock.
    # A verification of a million entries must not hold that lock for its whole run: a deferred
    # BEGIN gives a WAL snapshot that writers keep appending past.
    engine = _readers.get(db)
    if engine is None:
        engine = create_engine(db.url, poolclass=NullPool, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA busy_timeout=60000")

        @event.listens_for(engine, "begin")
        def _on_begin(conn):
            conn.exec_driver_sql("BEGIN")

        _readers[db] = engine
    return engine


@contextmanager
def read_snapshot(db: Database) -> Iterator[Session]:
    """A read-only session on one consistent snapshot of the store."""
    if db.is_sqlite:
        engine = _sqlite_reader(db)
        with engine.connect() as conn, Session(bind=conn) as session:
            yield session
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with Session(bind=conn) as session:
            yield session
            session.rollback()
