"""Grading: column decisions, dataset grades, steward overrides, alerts.

Revision ID: classify_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "classify_0001"
down_revision = None
branch_labels = ("classify",)
depends_on = "0001_core"


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), nullable=False)


def _fk(table: str, name: str, target: str, ondelete: str, nullable: bool = False) -> sa.Column:
    fk_name = op.f(f"fk_{table}_{name}_{target.split('.')[0]}")
    return sa.Column(
        name, sa.Integer(), sa.ForeignKey(target, ondelete=ondelete, name=fk_name), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "classify_column_decisions",
        _id(),
        _fk("classify_column_decisions", "dataset_id", "datasets.id", "CASCADE"),
        _fk("classify_column_decisions", "version_id", "dataset_versions.id", "CASCADE"),
        sa.Column("field_name", sa.String(200), nullable=False),
        sa.Column("field_type", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("detected_category", sa.String(64), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("detector", sa.String(64), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classify_column_decisions")),
        sa.UniqueConstraint("version_id", "field_name", name=op.f("uq_classify_column_decisions_version_id")),
    )
    op.create_index(
        op.f("ix_classify_column_decisions_dataset_id"), "classify_column_decisions", ["dataset_id"]
    )
    op.create_index(
        op.f("ix_classify_column_decisions_version_id"), "classify_column_decisions", ["version_id"]
    )
    op.create_table(
        "classify_dataset_grades",
        _id(),
        _fk("classify_dataset_grades", "dataset_id", "datasets.id", "CASCADE"),
        _fk("classify_dataset_grades", "version_id", "dataset_versions.id", "CASCADE"),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("data_class", sa.String(16), nullable=False),
        sa.Column("derived_level", sa.String(16), nullable=False),
        sa.Column("derived_data_class", sa.String(16), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classify_dataset_grades")),
        sa.UniqueConstraint("version_id", name=op.f("uq_classify_dataset_grades_version_id")),
    )
    op.create_index(op.f("ix_classify_dataset_grades_dataset_id"), "classify_dataset_grades", ["dataset_id"])
    op.create_table(
        "classify_overrides",
        _id(),
        _fk("classify_overrides", "dataset_id", "datasets.id", "CASCADE"),
        sa.Column("field_name", sa.String(200), nullable=True),
        sa.Column("field_type", sa.String(64), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("data_class", sa.String(16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        _fk("classify_overrides", "reviewer_id", "users.id", "SET NULL", nullable=True),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("lapsed_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classify_overrides")),
    )
    op.create_index(op.f("ix_classify_overrides_dataset_id"), "classify_overrides", ["dataset_id"])
    op.create_table(
        "classify_alerts",
        _id(),
        _fk("classify_alerts", "dataset_id", "datasets.id", "CASCADE"),
        _fk("classify_alerts", "version_id", "dataset_versions.id", "CASCADE", nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("field_name", sa.String(200), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("resolved", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classify_alerts")),
    )
    op.create_index(op.f("ix_classify_alerts_dataset_id"), "classify_alerts", ["dataset_id"])


def downgrade() -> None:
    for table in (
        "classify_alerts",
        "classify_overrides",
        "classify_dataset_grades",
        "classify_column_decisions",
    ):
        op.drop_table(table)
