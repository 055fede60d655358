"""notify: notifications per recipient, with the state of their e-mail.

Revision ID: notify_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "notify_0001"
down_revision = None
branch_labels = ("notify",)
depends_on = "0001_core"

TABLE = "notify_notifications"
TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "user_id",
            ID,
            sa.ForeignKey("users.id", ondelete="CASCADE", name=op.f(f"fk_{TABLE}_user_id_users")),
            nullable=False,
        ),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("title_zh", sa.String(300), nullable=False),
        sa.Column("title_en", sa.String(300), nullable=False),
        sa.Column("body_zh", sa.Text(), nullable=False),
        sa.Column("body_en", sa.Text(), nullable=False),
        sa.Column("link", sa.String(500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("read_at", TS, nullable=True),
        sa.Column("mail_state", sa.String(16), nullable=False),
        sa.Column("mail_attempts", sa.Integer(), nullable=False),
        sa.Column("mail_error", sa.Text(), nullable=True),
        sa.Column("mailed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("key", "user_id", name=op.f(f"uq_{TABLE}_key")),
    )
    op.create_index("ix_notify_notifications_user_unread", TABLE, ["user_id", "read_at"])
    op.create_index(op.f(f"ix_{TABLE}_mail_state"), TABLE, ["mail_state"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{TABLE}_mail_state"), table_name=TABLE)
    op.drop_index("ix_notify_notifications_user_unread", table_name=TABLE)
    op.drop_table(TABLE)
