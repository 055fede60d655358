"""core: a dataset version found damaged (its file not the bytes ingested)

Revision ID: 0002_version_damage
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_version_damage"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("damaged_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("damage", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("damage")
        batch_op.drop_column("damaged_at")
