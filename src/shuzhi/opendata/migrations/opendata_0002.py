"""opendata: portal users, their login sessions, and their applications for conditional open data.

Revision ID: opendata_0002
Revises: opendata_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_0002"
down_revision = "opendata_0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
USERS, SESSIONS, APPLICATIONS = "opendata_portal_users", "opendata_portal_sessions", "opendata_applications"


def _fk(owner: str, column: str, table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        USERS,
        sa.Column("id", ID, nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{USERS}")),
        sa.UniqueConstraint("email", name=op.f(f"uq_{USERS}_email")),
    )
    op.create_table(
        SESSIONS,
        sa.Column("id", ID, nullable=False),
        sa.Column("portal_user_id", ID, _fk(SESSIONS, "portal_user_id", USERS, "CASCADE"), nullable=False),
        sa.Column("session_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("ended_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{SESSIONS}")),
        sa.UniqueConstraint("session_hash", name=op.f(f"uq_{SESSIONS}_session_hash")),
    )
    op.create_index(op.f(f"ix_{SESSIONS}_portal_user_id"), SESSIONS, ["portal_user_id"])
    op.create_table(
        APPLICATIONS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(APPLICATIONS, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column(
            "portal_user_id", ID, _fk(APPLICATIONS, "portal_user_id", USERS, "CASCADE"), nullable=False
        ),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("requested_start", sa.Date(), nullable=False),
        sa.Column("requested_end", sa.Date(), nullable=False),
        sa.Column("terms_version", sa.String(32), nullable=False),
        sa.Column("terms_sha256", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("submitted_at", TS, nullable=False),
        sa.Column("granted_start", sa.Date(), nullable=True),
        sa.Column("granted_end", sa.Date(), nullable=True),
        sa.Column(
            "decided_by_id", ID, _fk(APPLICATIONS, "decided_by_id", "users", "SET NULL"), nullable=True
        ),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=True),
        sa.Column(
            "revoked_by_id", ID, _fk(APPLICATIONS, "revoked_by_id", "users", "SET NULL"), nullable=True
        ),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{APPLICATIONS}")),
    )
    for column in ("dataset_id", "portal_user_id", "state"):
        op.create_index(op.f(f"ix_{APPLICATIONS}_{column}"), APPLICATIONS, [column])


def downgrade() -> None:
    for column in ("state", "portal_user_id", "dataset_id"):
        op.drop_index(op.f(f"ix_{APPLICATIONS}_{column}"), table_name=APPLICATIONS)
    op.drop_table(APPLICATIONS)
    op.drop_index(op.f(f"ix_{SESSIONS}_portal_user_id"), table_name=SESSIONS)
    op.drop_table(SESSIONS)
    op.drop_table(USERS)
