"""Migration step that widens 32-bit id columns to 64 bits on PostgreSQL (SQLite's are 64-bit already)."""

from __future__ import annotations

import sqlalchemy as sa


def _alter(op, columns: dict[str, list[str]], to: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return  # SQLite's INTEGER is 64-bit, and an INTEGER PRIMARY KEY must stay so to alias the rowid
    for table, names in columns.items():
        for name in names:
            op.execute(sa.text(f'ALTER TABLE "{table}" ALTER COLUMN "{name}" TYPE {to}'))
            # A serial id draws from a sequence of its own type: widened with it, or it stops at 2^31.
            seq = conn.scalar(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table, "c": name})
            if seq:
                op.execute(sa.text(f"ALTER SEQUENCE {seq} AS {to}"))


def upgrade_ids(op, columns: dict[str, list[str]]) -> None:
    _alter(op, columns, "BIGINT")


def downgrade_ids(op, columns: dict[str, list[str]]) -> None:
    _alter(op, columns, "INTEGER")
