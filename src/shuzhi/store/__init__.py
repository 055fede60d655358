"""Metadata store: SQLAlchemy base, database handle, migrations."""

from shuzhi.store.base import Base, utcnow
from shuzhi.store.db import Database

__all__ = ["Base", "Database", "utcnow"]
