"""opendata_usage: download and view counts per dataset, and the hourly windows of audited previews.

Revision ID: opendata_usage_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "opendata_usage_0001"
down_revision = None
branch_labels = ("opendata_usage",)
depends_on = "opendata_0001"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
COUNTS, WINDOWS = "opendata_usage_counts", "opendata_preview_windows"


def upgrade() -> None:
    op.create_table(
        COUNTS,
        sa.Column(
            "dataset_id",
            ID,
            sa.ForeignKey("datasets.id", ondelete="CASCADE", name=op.f(f"fk_{COUNTS}_dataset_id_datasets")),
            nullable=False,
        ),
        sa.Column("downloads", sa.BigInteger(), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("dataset_id", name=op.f(f"pk_{COUNTS}")),
    )
    op.create_table(
        WINDOWS,
        sa.Column("id", ID, nullable=False),
        sa.Column(
            "release_id",
            ID,
            sa.ForeignKey(
                "opendata_releases.id",
                ondelete="CASCADE",
                name=op.f(f"fk_{WINDOWS}_release_id_opendata_releases"),
            ),
            nullable=False,
        ),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("window_start", TS, nullable=False),
        sa.Column("previews", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{WINDOWS}")),
        sa.UniqueConstraint(
            "release_id", "client", "via", "window_start", name=op.f(f"uq_{WINDOWS}_release_id")
        ),
    )
    op.create_index(op.f(f"ix_{WINDOWS}_window_start"), WINDOWS, ["window_start"])


def downgrade() -> None:
    op.drop_table(WINDOWS)
    op.drop_table(COUNTS)
