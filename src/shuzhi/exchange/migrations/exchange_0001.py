"""Sharing exchange: requests, request transitions, grants and daily grant usage.

Revision ID: exchange_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "exchange_0001"
down_revision = None
branch_labels = ("exchange",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)


def _fk(column: str, table: str, ondelete: str, owner: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}")
    )


def upgrade() -> None:
    op.create_table(
        "exchange_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("requester_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("submitted_at", TS, nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        _fk("dataset_id", "datasets", "CASCADE", "exchange_requests"),
        _fk("requester_id", "users", "RESTRICT", "exchange_requests"),
        _fk("department_id", "departments", "RESTRICT", "exchange_requests"),
        _fk("decided_by_id", "users", "SET NULL", "exchange_requests"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_requests")),
    )
    for column in ("dataset_id", "requester_id", "department_id", "state"):
        op.create_index(op.f(f"ix_exchange_requests_{column}"), "exchange_requests", [column])

    op.create_table(
        "exchange_request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", TS, nullable=False),
        _fk("request_id", "exchange_requests", "CASCADE", "exchange_request_events"),
        _fk("user_id", "users", "SET NULL", "exchange_request_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_request_events")),
    )
    op.create_index(op.f("ix_exchange_request_events_request_id"), "exchange_request_events", ["request_id"])

    op.create_table(
        "exchange_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("masks", sa.JSON(), nullable=False),
        sa.Column("row_filter", sa.Text(), nullable=True),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("rows_per_day", sa.BigInteger(), nullable=True),
        sa.Column("calls_per_day", sa.Integer(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        _fk("request_id", "exchange_requests", "SET NULL", "exchange_grants"),
        _fk("dataset_id", "datasets", "CASCADE", "exchange_grants"),
        _fk("department_id", "departments", "RESTRICT", "exchange_grants"),
        _fk("created_by_id", "users", "SET NULL", "exchange_grants"),
        _fk("revoked_by_id", "users", "SET NULL", "exchange_grants"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_grants")),
    )
    for column in ("request_id", "dataset_id", "department_id"):
        op.create_index(op.f(f"ix_exchange_grants_{column}"), "exchange_grants", [column])

    op.create_table(
        "exchange_grant_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        _fk("grant_id", "exchange_grants", "CASCADE", "exchange_grant_usage"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_grant_usage")),
        sa.UniqueConstraint("grant_id", "day", name=op.f("uq_exchange_grant_usage_grant_id")),
    )
    op.create_index(op.f("ix_exchange_grant_usage_grant_id"), "exchange_grant_usage", ["grant_id"])


def downgrade() -> None:
    for table in ("exchange_grant_usage", "exchange_grants", "exchange_request_events", "exchange_requests"):
        op.drop_table(table)
