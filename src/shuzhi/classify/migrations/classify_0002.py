"""classify: 64-bit ids on PostgreSQL (ids past 2^31 answered 500).

Revision ID: classify_0002
Revises: classify_0001
"""

from alembic import op

from shuzhi.store.widen import downgrade_ids, upgrade_ids

revision = "classify_0002"
down_revision = "classify_0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "classify_overrides": ["id", "dataset_id", "reviewer_id"],
    "classify_alerts": ["id", "dataset_id", "version_id"],
    "classify_column_decisions": ["id", "dataset_id", "version_id"],
    "classify_dataset_grades": ["id", "dataset_id", "version_id"],
}


def upgrade() -> None:
    upgrade_ids(op, COLUMNS)


def downgrade() -> None:
    downgrade_ids(op, COLUMNS)
