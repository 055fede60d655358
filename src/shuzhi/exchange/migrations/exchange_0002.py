"""exchange: 64-bit ids on PostgreSQL (ids past 2^31 answered 500).

Revision ID: exchange_0002
Revises: exchange_0001
"""

from alembic import op

from shuzhi.store.widen import downgrade_ids, upgrade_ids

revision = "exchange_0002"
down_revision = "exchange_0001"
branch_labels = None
depends_on = None

COLUMNS = {
    "exchange_requests": ["id", "dataset_id", "requester_id", "department_id", "decided_by_id"],
    "exchange_grants": ["id", "request_id", "dataset_id", "department_id", "created_by_id", "revoked_by_id"],
    "exchange_request_events": ["id", "request_id", "user_id"],
    "exchange_grant_usage": ["id", "grant_id"],
}


def upgrade() -> None:
    upgrade_ids(op, COLUMNS)


def downgrade() -> None:
    downgrade_ids(op, COLUMNS)
