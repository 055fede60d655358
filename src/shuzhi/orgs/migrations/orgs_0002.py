"""orgs: 64-bit ids on PostgreSQL (ids past 2^31 answered 500).

Revision ID: orgs_0002
Revises: orgs_0001
"""

from alembic import op

from shuzhi.store.widen import downgrade_ids, upgrade_ids

revision = "orgs_0002"
down_revision = "orgs_0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "login_throttles": ["id"],
}


def upgrade() -> None:
    upgrade_ids(op, COLUMNS)


def downgrade() -> None:
    downgrade_ids(op, COLUMNS)
