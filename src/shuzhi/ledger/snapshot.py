"""Long reads of the ledger (verification, exports) on a consistent snapshot that never blocks writers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from shuzhi.store.db import Database


@contextmanager
def read_snapshot(db: Database) -> Iterator[Session]:
    """A read-only session on one consistent snapshot of the store."""
    if db.is_sqlite:
        # A deferred read transaction is one WAL snapshot that writers keep appending past.
        with db.read() as session:
            yield session
        return
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with Session(bind=conn) as session:
            yield session
            session.rollback()
