"""orgs: failed-login counts and lockouts per username and per client address.

Revision ID: orgs_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "orgs_0001"
down_revision = None
branch_labels = ("orgs",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("locked_until", TS, nullable=True),
        sa.Column("lockouts", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("kind", "key", name=op.f("uq_login_throttles_kind")),
    )


def downgrade() -> None:
    op.drop_table("login_throttles")
