"""classify: requests to lower a grade below what grading derived, awaiting a second person.

Revision ID: classify_0003
Revises: classify_0002
"""

import sqlalchemy as sa
from alembic import op

revision = "classify_0003"
down_revision = "classify_0002"
branch_labels = None
depends_on = None

TABLE = "classify_lowering_requests"
TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(name: str, target: str, ondelete: str, nullable: bool) -> sa.Column:
    fk_name = op.f(f"fk_{TABLE}_{name}_{target.split('.')[0]}")
    return sa.Column(name, ID, sa.ForeignKey(target, ondelete=ondelete, name=fk_name), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", ID, nullable=False),
        _fk("dataset_id", "datasets.id", "CASCADE", False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("field_name", sa.String(200), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("level", sa.String(16), nullable=True),
        sa.Column("data_class", sa.String(16), nullable=True),
        sa.Column("derived_level", sa.String(16), nullable=False),
        sa.Column("current_level", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        _fk("requested_by_id", "users.id", "SET NULL", True),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        _fk("decided_by_id", "users.id", "SET NULL", True),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
    )
    op.create_index(op.f(f"ix_{TABLE}_dataset_id"), TABLE, ["dataset_id"])
    op.create_index(op.f(f"ix_{TABLE}_state"), TABLE, ["state"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{TABLE}_state"), table_name=TABLE)
    op.drop_index(op.f(f"ix_{TABLE}_dataset_id"), table_name=TABLE)
    op.drop_table(TABLE)
