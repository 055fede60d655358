"""quality_proposals: rules proposed from a version's statistics and the stewards' decisions.

Revision ID: quality_proposals_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "quality_proposals_0001"
down_revision = None
branch_labels = ("quality_proposals",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PROPOSALS = "quality_rule_proposals"


def _fk(column: str, table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{PROPOSALS}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        PROPOSALS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk("dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("version_id", ID, _fk("version_id", "dataset_versions", "CASCADE"), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("reason", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("accepted_rule", sa.JSON(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by_id", ID, _fk("created_by_id", "users", "SET NULL"), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decided_by_id", ID, _fk("decided_by_id", "users", "SET NULL"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{PROPOSALS}")),
    )
    op.create_index(op.f(f"ix_{PROPOSALS}_dataset_id"), PROPOSALS, ["dataset_id"])
    op.create_index(op.f(f"ix_{PROPOSALS}_version_id"), PROPOSALS, ["version_id"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{PROPOSALS}_version_id"), table_name=PROPOSALS)
    op.drop_index(op.f(f"ix_{PROPOSALS}_dataset_id"), table_name=PROPOSALS)
    op.drop_table(PROPOSALS)
