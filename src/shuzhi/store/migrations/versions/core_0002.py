"""core: 64-bit ids on PostgreSQL (ids past 2^31 answered 500).

Revision ID: core_0002
Revises: 0001_core
"""

from alembic import op

from shuzhi.store.widen import downgrade_ids, upgrade_ids

revision = "core_0002"
down_revision = "0002_version_damage"
branch_labels = None
depends_on = None

COLUMNS = {
    "departments": ["id", "parent_id"],
    "vocab_terms": ["id"],
    "users": ["id", "department_id"],
    "api_tokens": ["id", "user_id"],
    "datasets": ["id", "department_id", "created_by_id"],
    "login_sessions": ["id", "user_id"],
    "user_roles": ["id", "user_id"],
    "dataset_fields": ["id", "dataset_id"],
    "dataset_search_docs": ["dataset_id"],
    "dataset_versions": ["id", "dataset_id", "created_by_id"],
}


def upgrade() -> None:
    upgrade_ids(op, COLUMNS)


def downgrade() -> None:
    downgrade_ids(op, COLUMNS)
