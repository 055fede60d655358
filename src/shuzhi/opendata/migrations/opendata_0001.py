"""opendata: releases of dataset versions, de-identified, checked and approved by a second person.

Revision ID: opendata_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0001"
down_revision = None
branch_labels = ("opendata",)
depends_on = "0001_core"

TABLE = "opendata_releases"
TS = sa.DateTime(timezone=True)


def _fk(column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], ondelete=ondelete, name=op.f(f"fk_{TABLE}_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("reused_from_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("byte_size", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("public_fields", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("prepared_by_id", sa.Integer(), nullable=True),
        sa.Column("prepared_at", TS, nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("published_at", TS, nullable=True),
        sa.Column("withdrawn_by_id", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", TS, nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        _fk("dataset_id", "datasets", "CASCADE"),
        _fk("version_id", "dataset_versions", "CASCADE"),
        _fk("reused_from_id", TABLE, "SET NULL"),
        _fk("prepared_by_id", "users", "SET NULL"),
        _fk("decided_by_id", "users", "SET NULL"),
        _fk("withdrawn_by_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    for column in ("dataset_id", "version_id", "state"):
        op.create_index(op.f(f"ix_{TABLE}_{column}"), TABLE, [column])


def downgrade() -> None:
    for column in ("state", "version_id", "dataset_id"):
        op.drop_index(op.f(f"ix_{TABLE}_{column}"), table_name=TABLE)
    op.drop_table(TABLE)
