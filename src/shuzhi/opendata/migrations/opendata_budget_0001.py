"""opendata_budget: privacy budgets per dataset, their ledger, and differentially private statistics releases.

Revision ID: opendata_budget_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_budget_0001"
down_revision = None
branch_labels = ("opendata_budget",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BUDGETS, RELEASES, ENTRIES = "opendata_privacy_budgets", "opendata_stats_releases", "opendata_budget_entries"


def _fk(owner: str, column: str, table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        BUDGETS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(BUDGETS, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("epsilon_total", sa.Float(), nullable=False),
        sa.Column("delta_total", sa.Float(), nullable=False),
        sa.Column("epsilon_spent", sa.Float(), nullable=False),
        sa.Column("delta_spent", sa.Float(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{BUDGETS}")),
        sa.UniqueConstraint("dataset_id", name=op.f(f"uq_{BUDGETS}_dataset_id")),
    )
    op.create_table(
        RELEASES,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(RELEASES, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by_id", ID, _fk(RELEASES, "created_by_id", "users", "SET NULL"), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{RELEASES}")),
    )
    op.create_index(op.f(f"ix_{RELEASES}_dataset_id"), RELEASES, ["dataset_id"])
    op.create_table(
        ENTRIES,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(ENTRIES, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("release_id", ID, _fk(ENTRIES, "release_id", RELEASES, "CASCADE"), nullable=True),
        sa.Column("epsilon", sa.Float(), nullable=False),
        sa.Column("delta", sa.Float(), nullable=False),
        sa.Column("epsilon_left", sa.Float(), nullable=False),
        sa.Column("delta_left", sa.Float(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("user_id", ID, _fk(ENTRIES, "user_id", "users", "SET NULL"), nullable=True),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{ENTRIES}")),
    )
    op.create_index(op.f(f"ix_{ENTRIES}_dataset_id"), ENTRIES, ["dataset_id"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{ENTRIES}_dataset_id"), table_name=ENTRIES)
    op.drop_table(ENTRIES)
    op.drop_index(op.f(f"ix_{RELEASES}_dataset_id"), table_name=RELEASES)
    op.drop_table(RELEASES)
    op.drop_table(BUDGETS)
