"""quality: rule set revisions, runs, per-rule results, overrides of blocks.

Revision ID: quality_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "quality_0001"
down_revision = None
branch_labels = ("quality",)
depends_on = "0001_core"

TS = sa.DateTime(timezone=True)
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SETS, RUNS, RESULTS = "quality_rule_sets", "quality_runs", "quality_rule_results"
OVERRIDES = "quality_block_overrides"


def _fk(owner: str, column: str, table: str, ondelete: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{table}.id", ondelete=ondelete, name=op.f(f"fk_{owner}_{column}_{table}"))


def upgrade() -> None:
    op.create_table(
        SETS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(SETS, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by_id", ID, _fk(SETS, "created_by_id", "users", "SET NULL"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{SETS}")),
        sa.UniqueConstraint("dataset_id", "revision", name=op.f(f"uq_{SETS}_dataset_id")),
    )
    op.create_index(op.f(f"ix_{SETS}_dataset_id"), SETS, ["dataset_id"])
    op.create_table(
        RUNS,
        sa.Column("id", ID, nullable=False),
        sa.Column("dataset_id", ID, _fk(RUNS, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column("version_id", ID, _fk(RUNS, "version_id", "dataset_versions", "CASCADE"), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("rule_set_id", ID, _fk(RUNS, "rule_set_id", SETS, "CASCADE"), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("dimensions", sa.JSON(), nullable=False),
        sa.Column("blocked", sa.Boolean(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("finished_at", TS, nullable=False),
        sa.Column("created_by_id", ID, _fk(RUNS, "created_by_id", "users", "SET NULL"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{RUNS}")),
    )
    op.create_index(op.f(f"ix_{RUNS}_dataset_id"), RUNS, ["dataset_id"])
    op.create_index(op.f(f"ix_{RUNS}_version_id"), RUNS, ["version_id"])
    op.create_table(
        RESULTS,
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, _fk(RESULTS, "run_id", RUNS, "CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("dimension", sa.String(16), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.Column("rows_checked", sa.BigInteger(), nullable=False),
        sa.Column("rows_failed", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("sample", sa.JSON(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{RESULTS}")),
        sa.UniqueConstraint("run_id", "position", name=op.f(f"uq_{RESULTS}_run_id")),
    )
    op.create_index(op.f(f"ix_{RESULTS}_run_id"), RESULTS, ["run_id"])
    op.create_table(
        OVERRIDES,
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, _fk(OVERRIDES, "run_id", RUNS, "CASCADE"), nullable=False),
        sa.Column("dataset_id", ID, _fk(OVERRIDES, "dataset_id", "datasets", "CASCADE"), nullable=False),
        sa.Column(
            "version_id", ID, _fk(OVERRIDES, "version_id", "dataset_versions", "CASCADE"), nullable=False
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by_id", ID, _fk(OVERRIDES, "created_by_id", "users", "SET NULL"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{OVERRIDES}")),
        sa.UniqueConstraint("run_id", name=op.f(f"uq_{OVERRIDES}_run_id")),
    )
    op.create_index(op.f(f"ix_{OVERRIDES}_dataset_id"), OVERRIDES, ["dataset_id"])
    op.create_index(op.f(f"ix_{OVERRIDES}_version_id"), OVERRIDES, ["version_id"])


def downgrade() -> None:
    op.drop_index(op.f(f"ix_{OVERRIDES}_version_id"), table_name=OVERRIDES)
    op.drop_index(op.f(f"ix_{OVERRIDES}_dataset_id"), table_name=OVERRIDES)
    op.drop_table(OVERRIDES)
    op.drop_index(op.f(f"ix_{RESULTS}_run_id"), table_name=RESULTS)
    op.drop_table(RESULTS)
    op.drop_index(op.f(f"ix_{RUNS}_version_id"), table_name=RUNS)
    op.drop_index(op.f(f"ix_{RUNS}_dataset_id"), table_name=RUNS)
    op.drop_table(RUNS)
    op.drop_index(op.f(f"ix_{SETS}_dataset_id"), table_name=SETS)
    op.drop_table(SETS)
