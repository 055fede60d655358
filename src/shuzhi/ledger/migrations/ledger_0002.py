"""ledger: 64-bit ids on PostgreSQL (ids past 2^31 answered 500).

Revision ID: ledger_0002
Revises: ledger_0001
"""

from alembic import op

from shuzhi.store.widen import downgrade_ids, upgrade_ids

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "ledger_entries": ["user_id", "department_id", "dataset_id"],
    "ledger_tree_heads": ["id"],
}


def upgrade() -> None:
    upgrade_ids(op, COLUMNS)


def downgrade() -> None:
    downgrade_ids(op, COLUMNS)
