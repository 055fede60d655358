"""quality_alerts: the metrics of each version and the quality alert inbox.

Revision ID: quality_alerts_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "quality_alerts_0001"
down_revision = None
branch_labels = ("quality_alerts",)
depends_on = "quality_0001"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
METRICS, ALERTS = "quality_version_metrics", "quality_alerts"


def _fk(owner: str, column: str, table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        METRICS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(METRICS, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column(
            "version_id", ID, _fk(METRICS, "version_id", "dataset_versions", "CASCADE"), nullable=False
        ),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("run_id", ID, _fk(METRICS, "run_id", "quality_runs", "SET NULL"), nullable=True),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("anomalies", sa.JSON(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{METRICS}")),
        sa.UniqueConstraint("version_id", name=op.f(f"uq_{METRICS}_version_id")),
    )
    op.create_index(op.f(f"ix_{METRICS}_dataset_id"), METRICS, ["dataset_id"])
    op.create_table(
        ALERTS,
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("open_key", sa.String(200), nullable=True),
        sa.Column(
            "department_id", ID, _fk(ALERTS, "department_id", "departments", "CASCADE"), nullable=False
        ),
        sa.Column("dataset_id", ID, _fk(ALERTS, "dataset_id", "datasets", "CASCADE"), nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("acknowledged_at", TS, nullable=True),
        sa.Column(
            "acknowledged_by_id", ID, _fk(ALERTS, "acknowledged_by_id", "users", "SET NULL"), nullable=True
        ),
        sa.Column("acknowledged_note", sa.Text(), nullable=True),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("resolved_by_id", ID, _fk(ALERTS, "resolved_by_id", "users", "SET NULL"), nullable=True),
        sa.Column("resolved_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{ALERTS}")),
        sa.UniqueConstraint("open_key", name=op.f(f"uq_{ALERTS}_open_key")),
    )
    for column in ("kind", "key", "department_id", "dataset_id", "state"):
        op.create_index(op.f(f"ix_{ALERTS}_{column}"), ALERTS, [column])


def downgrade() -> None:
    for column in ("kind", "key", "department_id", "dataset_id", "state"):
        op.drop_index(op.f(f"ix_{ALERTS}_{column}"), table_name=ALERTS)
    op.drop_table(ALERTS)
    op.drop_index(op.f(f"ix_{METRICS}_dataset_id"), table_name=METRICS)
    op.drop_table(METRICS)
