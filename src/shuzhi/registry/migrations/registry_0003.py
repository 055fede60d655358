"""registry: the trained linkage model of a run, so an incremental build scores new records with it.

Revision ID: registry_0003
Revises: registry_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "registry_0003"
down_revision = "registry_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("registry_runs", sa.Column("model", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("registry_runs") as batch:
        batch.drop_column("model")
